"""A real redis-server for tests (the `redis-server` Debian package), on a free loopback port with
persistence off and its files in a temporary folder; stopped however the test ends.

`redis_server` is a session fixture (one server for the run; tests isolate themselves with a key
prefix of their own); `run_redis` starts a private one, for tests that stop it. Import the fixture
into a test module: `from otel_apisec.testing.redis import redis_server  # noqa: F401`.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from otel_apisec.testing.servers import free_port, require_binary

__all__ = ["RedisServer", "redis_server", "run_redis"]

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def describe(self) -> str:
        state = "running" if self.process.poll() is None else f"exited with {self.process.returncode}"
        return f"--- redis-server ({state}) log ---\n{self.log_path.read_text(errors='replace')[-4000:]}"

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers; idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)


@contextmanager
def run_redis(work_dir: Path, port: int | None = None) -> Iterator[RedisServer]:
    """Start redis-server on `port` (default: a free one), wait until it answers PING, stop it on
    the way out."""
    binary = require_binary("redis-server")
    work_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = work_dir / "redis.log"
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(work_dir), "--logfile", str(log_path)]
    server = RedisServer(port, subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.STDOUT), log_path)
    try:
        _wait_for_pong(server)
        yield server
    finally:
        server.stop()


def _wait_for_pong(server: RedisServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no attempt"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"redis-server exited before it answered\n{server.describe()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return
        except OSError as error:
            last = repr(error)
        time.sleep(0.02)
    raise AssertionError(f"redis-server did not answer PING in {START_TIMEOUT_S} s ({last})\n{server.describe()}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with run_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server
