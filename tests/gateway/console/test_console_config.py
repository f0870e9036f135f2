"""`service.console` and `--console`: defaults, off, the token rule off loopback, the ring size."""

from __future__ import annotations

import argparse

import pytest

from otel_apisec.gateway.config import ConfigError, ConsoleConfig, console_config, is_loopback


def test_defaults() -> None:
    """Loopback 8890, no token, 10,000 findings."""
    assert console_config(None) == ConsoleConfig("127.0.0.1:8890", None, 10_000)


@pytest.mark.parametrize("off", ["off", False])
def test_off(off: object) -> None:
    """`off` (or YAML's bare off, read as false) disables the listener."""
    assert console_config({"address": off}).address is None


@pytest.mark.parametrize("address", ["0.0.0.0:8890", ":8890", "[::]:8890", "10.0.0.5:8890", "console.example.com:8890"])
def test_off_loopback_needs_a_token(address: str) -> None:
    """Anything but loopback without a bearer token is a config error naming the key."""
    with pytest.raises(ConfigError, match=r"service\.console\.address: .* is not loopback.*bearer_token"):
        console_config({"address": address})
    assert console_config({"address": address, "bearer_token": "t0ken"}).bearer_token == "t0ken"


@pytest.mark.parametrize("address", ["127.0.0.1:0", "127.1.2.3:9", "[::1]:8890", "localhost:8890"])
def test_loopback_needs_no_token(address: str) -> None:
    assert console_config({"address": address}).address == address


@pytest.mark.parametrize(("raw", "key"), [
    ({"address": "nope"}, "address"), ({"max_findings": 0}, "max_findings"), ({"max_findings": True}, "max_findings"),
    ({"max_findings": "10"}, "max_findings"), ({"bearer_token": ""}, "bearer_token"), ({"bearer_token": 5}, "bearer_token"),
    ({"colour": 1}, "colour"), ("127.0.0.1:8890", "console"),
])
def test_bad_values_name_their_key(raw: object, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        console_config(raw)


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("") and not is_loopback("0.0.0.0")


def test_flag_mode_reads_the_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """--console ADDR off loopback takes its token from OTEL_APISEC_CONSOLE_TOKEN, and fails without it."""
    from otel_apisec.cli.gateway import _console

    args = argparse.Namespace(console="0.0.0.0:8890")
    monkeypatch.delenv("OTEL_APISEC_CONSOLE_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="not loopback"):
        console_config(_console(args))
    monkeypatch.setenv("OTEL_APISEC_CONSOLE_TOKEN", "from-env")
    assert console_config(_console(args)).bearer_token == "from-env"
