"""Distro selection through `opentelemetry-instrument`: alone, and beside opentelemetry-distro."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from otel_apisec import attributes as A
from otel_apisec.testing.sink import OtlpSink
from tests.e2e_harness import APPS_DIR, run_app

pytestmark = pytest.mark.e2e

# `make` installs opentelemetry-distro here, beside the venv and not in it (see the Makefile).
OTHER_DISTRO = Path(sys.prefix) / "opentelemetry-distro"


def enriched_user_span(extra_env: dict[str, str | None]) -> dict[str, object]:
    with OtlpSink("http/protobuf") as sink:
        with run_app("flask", sink, extra_env) as app:
            assert httpx.get(f"{app.url}/api/users/7").status_code == 200
            (span,) = sink.wait_for_spans(lambda s: s.attributes.get(A.HTTP_ROUTE) == "/api/users/<int:user_id>")
    return span.attributes


def test_ours_alone_needs_neither_variable() -> None:
    attributes = enriched_user_span({"OTEL_PYTHON_DISTRO": None, "OTEL_PYTHON_CONFIGURATOR": None})
    assert attributes[A.PII_DETECTED] is True


def test_beside_opentelemetry_distro_the_variables_pick_ours() -> None:
    assert (OTHER_DISTRO / "opentelemetry" / "distro").is_dir(), "run `make test` (it installs opentelemetry-distro there)"
    pythonpath = os.pathsep.join([str(APPS_DIR), str(OTHER_DISTRO)])
    attributes = enriched_user_span({"PYTHONPATH": pythonpath})
    assert attributes[A.PII_DETECTED] is True
    assert "email" in attributes[A.PII_TYPES]


def test_demo_spans_runs_and_leaks_nothing() -> None:
    """`make demo-spans` works: four enriched spans read back from the console exporter, no raw value in them."""
    from otel_apisec.examples import show_spans

    assert show_spans.main() == 0
