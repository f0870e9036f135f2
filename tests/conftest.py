"""Suite-wide settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

OPENAPI_TESTDATA = Path(__file__).resolve().parent / "testdata" / "openapi"
NPM_CI_TIMEOUT_S = 300


@pytest.fixture(autouse=True, scope="session")
def _compiled_cache_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """CLI runs (in-process and subprocesses) cache compiled patterns here, not in the user's home."""
    os.environ["OTEL_APISEC_CACHE_DIR"] = str(tmp_path_factory.mktemp("compiled-cache"))


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost/127.0.0.1, usable by a server and, for mTLS, by the client."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def oas_examples() -> Path:
    """The public OpenAPI documents of the npm package @readme/oas-examples (tests/testdata/openapi/README.md),
    installed from package-lock.json with `npm ci` when node_modules is missing or stale."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("`npm` is not on PATH: the estate tests read public OpenAPI documents from the npm package "
                    "@readme/oas-examples (install Node.js and npm, e.g. `apt-get install nodejs npm`); "
                    "they are not skipped on purpose")
    installed = OPENAPI_TESTDATA / "node_modules" / ".package-lock.json"  # npm writes it last
    lock = OPENAPI_TESTDATA / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        started = time.monotonic()
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=OPENAPI_TESTDATA, capture_output=True,
                                text=True, timeout=NPM_CI_TIMEOUT_S, check=False)
        assert result.returncode == 0, f"npm ci failed in {OPENAPI_TESTDATA}:\n{result.stdout}\n{result.stderr}"
        print(f"npm ci took {time.monotonic() - started:.1f} s", file=sys.stderr)
    return OPENAPI_TESTDATA / "node_modules" / "@readme" / "oas-examples"
