"""The CRS paranoia-level-1 classes: restricted files, code injection, prototype pollution,
Windows cmd and shell evasions, SQL keyword forms. Hostile inputs finish in bounded time."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.injection.command import fold_shell
from otel_apisec.testing import make_exchange

ANALYZER = Analyzer(DetectConfig(hmac_key=b"test", enabled=frozenset({"injection"})))
NEW_KINDS = {"restricted_file", "code_injection", "prototype_pollution"}
BUDGET_SECONDS = 2.0
"""Per 1 MB field, far above the measured cost (tens of milliseconds), far below a backtracking blow-up."""


def _kinds(value: str) -> set[str]:
    exchange = make_exchange("https://api.example.com/x", "POST", json={"v": value})
    analysis = ANALYZER.analyze(exchange)
    assert not analysis.failed
    return {f.kind for f in analysis.findings}


class TestFoldShell:
    def test_quotes_escapes_and_carets_removed(self) -> None:
        """Quoting tricks fold to the word the shell runs."""
        assert fold_shell("c''at") == "cat"
        assert fold_shell("w'h'o'am'i") == "whoami"
        assert fold_shell("c\\at") == "cat"
        assert fold_shell("w^h^o^a^m^i") == "whoami"
        assert fold_shell("c$@at") == "cat"

    def test_braces_and_ifs(self) -> None:
        """Brace lists become words and $IFS a space."""
        assert fold_shell("{cat,/etc/passwd}") == "cat /etc/passwd"
        assert fold_shell("cat${IFS}/etc/passwd") == "cat /etc/passwd"


class TestPathAndParameters:
    @pytest.mark.parametrize("path", ["/.env", "/.git/HEAD", "/.aws/credentials", "/db.sql.gz", "/index.php.bak",
                                      "/wp-config.php", "/web.config", "/.svn/entries", "/site-backup.zip"])
    def test_restricted_in_path(self, path: str) -> None:
        """Restricted files fire in the request path."""
        analysis = ANALYZER.analyze(make_exchange("https://api.example.com" + path))
        assert "restricted_file" in {f.kind for f in analysis.findings}

    @pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/static/app.js.gz", "/api/v1/credentials",
                                      "/users/profile", "/orders/42/history", "/downloads/release-1.2.3.tar.gz"])
    def test_ordinary_paths(self, path: str) -> None:
        """Ordinary API and asset paths do not."""
        analysis = ANALYZER.analyze(make_exchange("https://api.example.com" + path))
        assert "restricted_file" not in {f.kind for f in analysis.findings}


class TestHardBenign:
    @pytest.mark.parametrize("text", [
        "Samsung 27\" Monitor", "Levi's 501 Original Fit Jeans", "Kids' 'Star' T-shirt", "Rock 'n' Roll LP",
        "<p>Loved it &amp; will buy again</p>", "Use <code>npm install</code> first",
        "Add node_modules and .env to your .gitignore", "I restored from backup.sql last night, all good",
        "The web.config file controls IIS settings.", "Caused by: java.lang.ClassNotFoundException: org.example.Foo",
        "at org.springframework.beans.factory.support.AbstractBeanFactory.getBean(AbstractBeanFactory.java:197)",
        "We use java.lang.String in the API", "The class module of the course starts Monday",
        "Set the prototype flag in the constructor form", "const user = Object.assign({}, defaults, input);",
        "Use eval sparingly in JavaScript", "Discount 20% off, 50% for members", "Hello %USERNAME%, welcome",
        "Use python -c to run one-liners", "notes.old are kept", "item~1", "Price: ${price} per unit",
    ])
    def test_no_new_kind_fires(self, text: str) -> None:
        """Product names with quotes, HTML, developer prose and stack traces fire none of the new kinds."""
        assert not _kinds(text) & (NEW_KINDS | {"command_injection"})


class TestHostileInputs:
    @pytest.mark.parametrize("text", [
        ".env/" * 200_000, "/.git" * 200_000, "a~" * 500_000, ".sql" * 250_000, "__proto__" * 110_000,
        "constructor.prototype." * 45_000, "%{" * 500_000, "#{" * 500_000, "_$$ND_FUNC$$_" * 75_000,
        "c''" * 333_333, "c\\" * 500_000, "^a" * 500_000, "{a," * 333_333, "%comspec%" * 110_000,
        "for /f " * 140_000, "eval(" * 200_000, "O:1:\"" * 160_000, "java.lang.Runtime" * 58_000,
        "(select " * 120_000, "python -c " * 100_000, "class.module." * 76_000, "rO0AB" * 200_000,
    ])
    def test_pathological_input_completes(self, text: str) -> None:
        """A 1 MB flood of each new trigger goes through the prefilter and the checks in bounded time."""
        start = time.perf_counter()
        _kinds(text)
        assert time.perf_counter() - start < BUDGET_SECONDS

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.sampled_from([".env", "/", ".git", "~", ".bak", "__proto__", "[", "]", "constructor", ".",
                                     "prototype", "%{", "#", "_memberAccess", "${", "}", "'", '"', "\\", "^", "$IFS",
                                     "{", ",", "cat", "for /f", "%", "comspec", "eval(", "O:8:\"", "select", "(",
                                     "java.lang.Runtime", " ", "-c", "python"]), min_size=1, max_size=4000))
    def test_random_mixes_finish_quickly(self, parts: list[str]) -> None:
        """Any mix of trigger fragments is analysed without error within the budget."""
        text = "".join(parts)
        start = time.perf_counter()
        _kinds(text)
        assert time.perf_counter() - start < BUDGET_SECONDS
