"""Suite-wide settings."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _compiled_cache_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """CLI runs (in-process and subprocesses) cache compiled patterns here, not in the user's home."""
    os.environ["OTEL_APISEC_CACHE_DIR"] = str(tmp_path_factory.mktemp("compiled-cache"))
