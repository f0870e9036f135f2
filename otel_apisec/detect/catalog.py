"""The default detector chain, as a visible list. Importing it registers every rule."""

from __future__ import annotations

from otel_apisec.detect import auth, exposure, injection, pii, posture, secrets, tokens
from otel_apisec.detect.api import ExchangeDetector, FieldDetector

__all__ = ["EXCHANGE_DETECTORS", "FIELD_DETECTORS"]

FIELD_DETECTORS: tuple[FieldDetector, ...] = (
    injection.DETECTOR,
    pii.DETECTOR,
    secrets.DETECTOR,
)

# Order matters: tokens before auth, so auth can rely on token facts being computed the same way.
EXCHANGE_DETECTORS: tuple[ExchangeDetector, ...] = (
    tokens.DETECTOR,
    auth.DETECTOR,
    posture.DETECTOR,
    exposure.DETECTOR,
)
