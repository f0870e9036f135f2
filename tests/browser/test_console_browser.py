"""The console in a real headless Chromium (Debian's `chromium` + `chromium-driver`, driven by
selenium) against a real gateway fed real OTLP: sign in with the token, the pages render the data, a
filter form narrows the rows, and a screenshot is kept (under the test's tmp dir, and as
docs/console.png when OTEL_APISEC_SCREENSHOT=1). Missing Chromium fails the test, on purpose."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.console.test_pages import CARD, EMAIL, JWT, PASSWORD, TOKEN, Site, start_site

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT_ENV = "OTEL_APISEC_SCREENSHOT"


def _tool(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(f"`{names[0]}` is not on PATH: the console browser test needs Debian's chromium and chromium-driver "
                "(`apt-get install -y --no-install-recommends chromium chromium-driver`); it is not skipped on purpose")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from start_site(tmp_path_factory.mktemp("browser"))


@pytest.fixture
def browser() -> Iterator[object]:
    chromium, driver_path = _tool("chromium", "chromium-browser"), _tool("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("the console browser test needs the `selenium` package (pip install selenium, see the dev extra)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1000", "--no-first-run"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def test_console_in_headless_chromium(site: Site, browser: object, tmp_path: Path) -> None:
    """Sign in, read the overview and inventory, filter the inventory by service, keep a screenshot."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver: WebDriver = browser  # type: ignore[assignment]
    driver.get(f"{site.url}/inventory")
    assert driver.current_url.startswith(f"{site.url}/login?next="), driver.current_url
    driver.find_element(By.ID, "token").send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    wait = WebDriverWait(driver, 10)
    wait.until(expected_conditions.url_to_be(f"{site.url}/inventory"))

    def endpoint_rows() -> int:
        return len(driver.find_elements(By.CSS_SELECTOR, "table.inventory tbody tr"))

    everything = endpoint_rows()
    assert everything >= 6 and "/invoices/{id}" in driver.page_source
    Select(driver.find_element(By.NAME, "service")).select_by_value("billing")
    driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    wait.until(expected_conditions.url_contains("/inventory?service=billing"))
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "table.inventory")))
    assert 0 < endpoint_rows() < everything
    assert all(cell.text == "billing" for cell in driver.find_elements(By.CSS_SELECTOR, "table.inventory tbody td:first-child"))

    driver.get(f"{site.url}/findings")
    assert driver.find_elements(By.CSS_SELECTOR, "main table tbody tr"), "the findings page lists findings"
    driver.get(f"{site.url}/governance")
    assert len(driver.find_elements(By.CSS_SELECTOR, "section.service")) == 2

    driver.get(f"{site.url}/")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Overview"
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart polyline"), "a findings time series is drawn"
    assert {"shop", "billing"} <= {a.text for a in driver.find_elements(By.CSS_SELECTOR, "main table a")}
    # The stylesheet loaded under the CSP (the skip link is moved off screen by it).
    assert driver.find_element(By.CSS_SELECTOR, "a.skip").location["x"] < 0
    source = driver.page_source
    for value in (CARD, EMAIL, PASSWORD, JWT, TOKEN):
        assert value not in source
    shot = tmp_path / "console.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get(SCREENSHOT_ENV) == "1":
        target = REPO / "docs" / "console.png"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, target)
