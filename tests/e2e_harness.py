"""Run a test app (tests/apps/<framework>_app.py) under `opentelemetry-instrument` with the apisec distro.

    with OtlpSink("grpc") as sink, run_app("django", sink) as app:
        httpx.get(f"{app.url}/api/me")
        ...

The app is a real subprocess serving on a free port, exporting to `sink`. It is stopped with
SIGTERM so the SDK flushes on the way out; its output goes to a temporary file (a pipe nobody
reads would block a chatty server) that `app.logs()` returns and failures quote.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from otel_apisec.testing.servers import free_port
from otel_apisec.testing.sink import OtlpSink

__all__ = ["APPS_DIR", "FRAMEWORKS", "AppProcess", "run_app"]

APPS_DIR = Path(__file__).resolve().parent / "apps"
FRAMEWORKS = ("flask", "django", "fastapi", "starlette")
REPO_ROOT = APPS_DIR.parent.parent
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
_LOG_TAIL_CHARS = 6000


def _instrument_command() -> str:
    # The console script sits next to this interpreter (the venv's bin/ or Scripts/).
    bin_dir = Path(sys.executable).parent
    for name in ("opentelemetry-instrument", "opentelemetry-instrument.exe"):
        if (bin_dir / name).exists():
            return str(bin_dir / name)
    raise FileNotFoundError(f"opentelemetry-instrument not found in {bin_dir}")


@dataclass
class AppProcess:
    framework: str
    url: str
    process: subprocess.Popen[bytes]
    log_file: IO[bytes]

    def logs(self) -> str:
        """The app's stdout and stderr so far (the tail, if long)."""
        self.log_file.flush()
        text = Path(self.log_file.name).read_bytes().decode("utf-8", "replace")
        return text if len(text) <= _LOG_TAIL_CHARS else "...\n" + text[-_LOG_TAIL_CHARS:]

    def describe(self) -> str:
        state = "running" if self.process.poll() is None else f"exited with {self.process.returncode}"
        return f"--- {self.framework} app ({state}) output ---\n{self.logs()}"


def app_env(framework: str, sink: OtlpSink, extra_env: dict[str, str | None] | None = None) -> dict[str, str]:
    """The app's environment: ours, then `extra_env` (a None value removes the variable)."""
    pythonpath = os.pathsep.join(p for p in (str(APPS_DIR), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        **os.environ,
        **sink.env(),
        "OTEL_PYTHON_DISTRO": "apisec",
        "OTEL_PYTHON_CONFIGURATOR": "apisec",
        "OTEL_SERVICE_NAME": f"e2e-{framework}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "OTEL_APISEC_HMAC_KEY": "e2e-test-key",
        "OTEL_LOGS_EXPORTER": "none",
        # The Django instrumentation imports the settings module (django_app) while it loads,
        # before the app script runs, so the apps folder must already be importable.
        "PYTHONPATH": pythonpath,
        "PYTHONUNBUFFERED": "1",
    }
    if framework == "django":
        env["DJANGO_SETTINGS_MODULE"] = "django_app"
    for name, value in (extra_env or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _wait_until_healthy(app: AppProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last_error = "no attempt"
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            if app.process.poll() is not None:
                raise AssertionError(f"the {app.framework} app exited before serving")
            try:
                response = client.get(f"{app.url}/health")
                if response.status_code == 200 and response.text == "ok":
                    return
                last_error = f"GET /health -> {response.status_code} {response.text[:200]!r}"
            except httpx.TransportError as error:
                last_error = repr(error)
            time.sleep(0.1)
    raise AssertionError(f"the {app.framework} app did not answer /health in {START_TIMEOUT_S} s ({last_error})")


def _stop(app: AppProcess) -> None:
    if app.process.poll() is None:
        app.process.send_signal(signal.SIGTERM)
        try:
            app.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            app.process.kill()
            app.process.wait(STOP_TIMEOUT_S)


@contextmanager
def run_app(framework: str, sink: OtlpSink, extra_env: dict[str, str | None] | None = None) -> Iterator[AppProcess]:
    """Start tests/apps/<framework>_app.py instrumented, wait for /health, yield it, SIGTERM it."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, not {framework!r}")
    port = free_port()
    command = [_instrument_command(), sys.executable, str(APPS_DIR / f"{framework}_app.py"), str(port)]
    with tempfile.NamedTemporaryFile(prefix=f"e2e-{framework}-", suffix=".log") as log_file:
        process = subprocess.Popen(
            command, env=app_env(framework, sink, extra_env), cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
        )
        app = AppProcess(framework, f"http://127.0.0.1:{port}", process, log_file)
        try:
            _wait_until_healthy(app)
            yield app
        except Exception as error:  # a failed start or check: say what the app printed
            raise AssertionError(f"{error}\n{app.describe()}") from error
        finally:
            _stop(app)
