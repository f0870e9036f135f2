"""The console listener under floods, slow senders and oversized requests: bounded in time and
memory, and normal requests are still served (limits as the OTLP/HTTP receiver's)."""

from __future__ import annotations

import socket
import threading
import time

from tests.gateway.console.conftest import TOKEN, Console

REQUEST = f"GET /api/v1/findings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()


def connect(console: Console) -> socket.socket:
    return socket.create_connection(("127.0.0.1", console.port), timeout=10)


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def read_reply(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def closed_within(sock: socket.socket, limit_s: float) -> float:
    """Seconds until the server closed `sock` (reading and discarding what it sent first)."""
    start = time.monotonic()
    sock.settimeout(limit_s)
    while sock.recv(65536):
        pass
    return time.monotonic() - start


def served_within(console: Console, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if console.get("/api/v1/findings")[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def test_connection_flood_is_refused_then_timed_out_and_service_goes_on(console: Console) -> None:
    """Past max_connections new connections get a canned 503; silent ones close at the header deadline."""
    flood = [connect(console) for _ in range(40)]
    try:
        time.sleep(0.2)
        refused = connect(console)
        assert status_of(read_reply(refused)) == 503
        refused.close()
        assert served_within(console, 3.0)
        for sock in flood:
            assert closed_within(sock, 3.0) < 3.0
    finally:
        for sock in flood:
            sock.close()
    stats = console.server.stats()
    assert stats["refused_connections"] > 0
    assert stats["closed_connections/header_timeout"] > 0


def test_slowloris_headers_are_cut_at_the_header_deadline(console: Console) -> None:
    """A byte every 50 ms does not stretch the 0.5 s header deadline."""
    sock = connect(console)
    start = time.monotonic()
    try:
        for byte in b"GET /api/v1/findings HTTP/1.1\r\nX-Slow: " + b"a" * 200:
            sock.send(bytes([byte]))
            time.sleep(0.05)
    except OSError:
        pass  # the server hung up: what we want
    assert time.monotonic() - start < 3.0
    assert closed_within(sock, 3.0) < 3.0
    sock.close()
    assert console.get("/api/v1/findings")[0] == 200


def test_idle_keepalive_connection_is_closed(console: Console) -> None:
    """A keep-alive connection that sends nothing more is closed at the idle deadline."""
    sock = connect(console)
    sock.sendall(REQUEST)
    assert status_of(read_reply(sock)) == 200
    assert closed_within(sock, 4.0) < 4.0
    sock.close()


def test_announced_body_is_413_without_waiting_for_it(console: Console) -> None:
    """A slow body is never waited for: the API takes none, so the answer is at once."""
    sock = connect(console)
    sock.sendall(REQUEST.replace(b"\r\n\r\n", b"\r\nContent-Length: 1000000\r\n\r\n") + b"x")
    start = time.monotonic()
    assert status_of(read_reply(sock)) == 413
    assert time.monotonic() - start < 1.0
    sock.close()


def test_ten_megabyte_request_is_refused(console: Console) -> None:
    """10 MB sent at the API is answered 413 (GET) or 405 (POST) and swallowed, not buffered; the server goes on."""
    body = b"A" * (10 * 1024 * 1024)
    for method, expected in ((b"GET", 413), (b"POST", 405)):
        sock = connect(console)
        head = REQUEST.replace(b"GET", method, 1).replace(b"\r\n\r\n", f"\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        sender = threading.Thread(target=_send_quietly, args=(sock, head + body), daemon=True)
        sender.start()
        assert status_of(read_reply(sock)) == expected
        sender.join(10)
        sock.close()
    assert console.get("/api/v1/findings")[0] == 200


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass


def test_header_block_over_64_kib_is_431(console: Console) -> None:
    """Many header lines under the per-line limit still hit the 64 KiB block budget."""
    sock = connect(console)
    headers = b"".join(b"X-H%d: %s\r\n" % (index, b"v" * 1000) for index in range(80))
    _send_quietly(sock, b"GET /api/v1/findings HTTP/1.1\r\n" + headers + b"\r\n")
    assert status_of(read_reply(sock)) == 431
    sock.close()


def test_huge_request_line_is_414(console: Console) -> None:
    """A 100 KB query string is refused by its length, with a JSON body."""
    sock = connect(console)
    _send_quietly(sock, b"GET /api/v1/findings?service=" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n")
    reply = read_reply(sock)
    assert status_of(reply) == 414
    sock.close()


def test_raw_non_ascii_bytes_in_the_target_are_4xx(console: Console) -> None:
    """Bytes that are not ASCII in the request line are a client error, not a 500."""
    for target in (b"/api/v1/findings?service=\xff\xfe\xc3", b"/api/v1/\xe2\x9c\x93", b"/api/v1/findings?\x00=1"):
        sock = connect(console)
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n\r\n")
        status = status_of(read_reply(sock))
        assert status == 400, (target, status)
        sock.close()
