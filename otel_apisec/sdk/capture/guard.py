"""Hooks never break the host app: a failure inside otel-apisec is counted, logged once, swallowed."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from otel_apisec import attributes as A
from otel_apisec.sdk.telemetry import ApisecMetrics

__all__ = ["guarded"]

_logger = logging.getLogger("otel_apisec")
_logged: set[str] = set()
F = TypeVar("F", bound=Callable[..., Any])


def guarded(component: str, metrics: ApisecMetrics) -> Callable[[F], F]:
    """Decorator: call the hook; on any exception count it under `component` and return None."""

    def decorate(hook: F) -> F:
        @functools.wraps(hook)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return hook(*args, **kwargs)
            except Exception:  # the host app must never see our failures
                metrics.internal_errors.add(1, {A.COMPONENT: component})
                if component not in _logged:  # once per component: a hot path must not flood logs
                    _logged.add(component)
                    _logger.exception("otel-apisec %s failed; the request goes on unchanged (counted in %s)",
                                      component, A.METRIC_INTERNAL_ERRORS)
                return None

        return run  # type: ignore[return-value]

    return decorate
