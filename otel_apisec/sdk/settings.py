"""`OTEL_APISEC_*` settings: the one table of names, defaults and meanings.

The README's settings table is generated from `SETTINGS` (a test keeps the two in step). A bad
value is a clear `SettingsError` naming the variable, raised when the distro starts, never a
silent fallback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from otel_apisec.detect import DetectConfig
from otel_apisec.detect.api import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIME_BUDGET_MS, DETECTOR_NAMES
from otel_apisec.model import Severity

__all__ = ["DETECTOR_NAMES", "SETTINGS", "ApisecSettings", "SettingsError", "load_settings"]

T = TypeVar("T")

ANALYSIS_MODES = ("background", "inline")


class SettingsError(ValueError):
    """An `OTEL_APISEC_*` variable holds a value we cannot use."""


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _size(text: str) -> int:
    value = text.strip().lower()
    units = {"kib": 1 << 10, "kb": 1000, "mib": 1 << 20, "mb": 1000**2, "k": 1 << 10, "m": 1 << 20}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            number = int(value[: -len(suffix)].strip()) * factor
            break
    else:
        number = int(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _positive_int(text: str) -> int:
    number = int(text.strip())
    if number <= 0:
        raise ValueError("must be a positive integer")
    return number


def _milliseconds(text: str) -> float | None:
    number = float(text.strip())
    if number < 0:
        raise ValueError("must not be negative")
    return number or None


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip().lower() for word in text.split(",") if word.strip())


def _detectors(text: str) -> tuple[str, ...]:
    names = _words(text)
    if names == ("all",):
        return DETECTOR_NAMES
    unknown = sorted(set(names) - set(DETECTOR_NAMES))
    if unknown:
        raise ValueError(f"unknown detector(s) {', '.join(unknown)} (choose from all, {', '.join(DETECTOR_NAMES)})")
    return names


def _mode(text: str) -> str:
    mode = text.strip().lower()
    if mode not in ANALYSIS_MODES:
        raise ValueError(f"choose from {', '.join(ANALYSIS_MODES)}")
    return mode


@dataclass(frozen=True)
class Setting(Generic[T]):
    env: str
    field: str
    default: str
    parse: Callable[[str], T]
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("OTEL_APISEC_ENABLED", "enabled", "true", _bool,
            "Master switch. `false` leaves spans exactly as plain OpenTelemetry makes them."),
    Setting("OTEL_APISEC_MAX_BODY_BYTES", "max_body_bytes", f"{DEFAULT_MAX_BODY_BYTES >> 10}KiB", _size,
            "Bytes kept of each request and response body for analysis (`0` captures no body). "
            "The app and the client always get the whole body."),
    Setting("OTEL_APISEC_CONTENT_TYPES", "content_types",
            "json,text,xml,x-www-form-urlencoded,graphql,multipart/form-data", _words,
            "Media types whose bodies are captured: a body is kept when its media type contains one of these words."),
    Setting("OTEL_APISEC_HMAC_KEY", "hmac_key", "", str,
            "Key for the keyed hashes (`enduser.pseudo.id`, `apisec.token.hash`). Set the same key on every "
            "replica; empty picks a random key per process, so hashes do not correlate across restarts."),
    Setting("OTEL_APISEC_DETECTORS", "detectors", "all", _detectors,
            f"Detectors to run: `all` or a comma list of {', '.join(DETECTOR_NAMES)}."),
    Setting("OTEL_APISEC_TIME_BUDGET_MS", "time_budget_ms", f"{DEFAULT_TIME_BUDGET_MS:g}", _milliseconds,
            "Analysis CPU time per request (of the analysing thread, so GIL waits do not count; a typical 2 KB "
            "exchange takes 0.3-0.5 ms, the worst 1 MB inputs about 30 ms); detectors left when it is spent are "
            "skipped and counted, except auth and tokens, which always run (`0`: no budget)."),
    Setting("OTEL_APISEC_EVENT_MIN_SEVERITY", "event_min_severity", "info", Severity.parse,
            "Findings of at least this severity (`info`, `low`, `medium`, `high`, `critical`) also become "
            "`apisec.finding` span events; all of them are listed in `apisec.findings` and counted in metrics. "
            "Each event costs about 35 µs of OTLP encoding."),
    Setting("OTEL_APISEC_POSTURE_PER_ENDPOINT", "posture_per_endpoint", "true", _bool,
            "Posture (HSTS, nosniff, CSP, rate-limit headers, banners, cookie flags, CORS `*`, plain HTTP) is a fact "
            "of the endpoint: checked on its first response and whenever its response shape changes, reported there "
            "with `apisec.finding.scope=endpoint`. `false` reports it on every response."),
    Setting("OTEL_APISEC_ANALYSIS", "analysis", "background", _mode,
            "`background` analyses on a worker thread after the span ends (the request never waits); "
            "`inline` analyses on the thread that ends the span."),
    Setting("OTEL_APISEC_QUEUE_SIZE", "queue_size", "2048", _positive_int,
            "Ended spans waiting for background analysis. When full, spans are redacted without analysis and counted."),
    Setting("OTEL_APISEC_MAX_OPEN_CAPTURES", "max_open_captures", "4096", _positive_int,
            "Requests captured at once; beyond it the oldest capture is dropped and counted (bounds memory)."),
    Setting("OTEL_APISEC_CACHE_DIR", "cache_dir", "", str,
            "Folder for compiled pattern databases, so startup skips a 1-2 s compile: empty means "
            "`$XDG_CACHE_HOME/otel-apisec` or `~/.cache/otel-apisec`, `off` disables it. "
            "An unusable folder only costs the compile."),
    Setting("OTEL_APISEC_STREAM_WAIT_S", "stream_wait_s", "30", float,
            "How long an ended span waits for its streamed response body to finish before it is analysed anyway."),
)


@dataclass(frozen=True)
class ApisecSettings:
    """Parsed settings; build with `load_settings()` (the defaults live in `SETTINGS` only)."""

    enabled: bool
    max_body_bytes: int
    content_types: tuple[str, ...]
    hmac_key: str
    detectors: tuple[str, ...]
    time_budget_ms: float | None
    event_min_severity: Severity
    posture_per_endpoint: bool
    analysis: str
    queue_size: int
    max_open_captures: int
    cache_dir: str
    stream_wait_s: float

    def detect_config(self) -> DetectConfig:
        return DetectConfig(
            hmac_key=self.hmac_key.encode(),
            enabled=None if set(self.detectors) == set(DETECTOR_NAMES) else frozenset(self.detectors),
            max_body_bytes=max(self.max_body_bytes, 1),
            time_budget_ms=self.time_budget_ms,
            posture_per_endpoint=self.posture_per_endpoint,
        )

    def wants_body(self, content_type: str | None) -> bool:
        media = (content_type or "").split(";", 1)[0].strip().lower()
        return bool(media) and self.max_body_bytes > 0 and any(word in media for word in self.content_types)


def load_settings(
    environ: Mapping[str, str] | None = None, on_error: Callable[[SettingsError], None] | None = None,
) -> ApisecSettings:
    """Settings from `environ` (default `os.environ`); unset variables take the table's default.

    A bad value raises `SettingsError`, or, with `on_error`, is reported to it and replaced by
    the default (the distro does that: a typo must not switch redaction off).
    """
    environ = os.environ if environ is None else environ
    values = {}
    for setting in SETTINGS:
        text = environ.get(setting.env, "").strip() or setting.default
        try:
            values[setting.field] = setting.parse(text)
        except ValueError as exc:
            error = SettingsError(f"{setting.env}={text!r}: {exc}; using the default {setting.default!r}")
            if on_error is None:
                raise error from None
            on_error(error)
            values[setting.field] = setting.parse(setting.default)
    return ApisecSettings(**values)
