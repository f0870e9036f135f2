"""The one HTTP delivery module: the retry policy (pure, explicit clock), the URL cleaner and the
credentials rule, and the keep-alive session against real loopback HTTP servers."""

from __future__ import annotations

import base64
import gzip
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_apisec.delivery import (
    RETRYABLE_STATUSES,
    DeliveryError,
    HttpSession,
    RetryPolicy,
    parse_endpoint,
    retry,
    safe_url,
    status_error,
    with_credentials,
)
from otel_apisec.delivery.http import MAX_RESPONSE_BYTES

SECRET = "s3cr3t-9f2b"

# ---------------------------------------------------------------------------------------------
# The retry policy


class TestStatuses:
    @pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
    def test_later_statuses_are_retried(self, status: int) -> None:
        """Timeout, throttling and proxy/overload answers are worth another try."""
        error = status_error("https://h", status)
        assert error.retryable and status in RETRYABLE_STATUSES

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 425, 500, 501, 505, 507])
    def test_other_statuses_are_final(self, status: int) -> None:
        """Other 4xx will not get better, and a 500 is a request that broke the server (a poison request)."""
        error = status_error("https://h", status, retry_after="5")
        assert not error.retryable and error.retry_after_s is None

    def test_retry_after_is_read_in_seconds_and_as_a_date(self) -> None:
        """Both forms of Retry-After reach the policy; an unreadable one is ignored."""
        assert status_error("h", 429, retry_after="7").retry_after_s == 7.0
        in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
        assert 55 <= (status_error("h", 503, retry_after=in_a_minute).retry_after_s or 0) <= 61
        assert status_error("h", 503, retry_after="soon").retry_after_s is None

    def test_the_message_names_the_place_and_keeps_the_body_on_one_line(self) -> None:
        """A server's text cannot forge log lines."""
        error = status_error("https://siem.example", 503, "down\r\nFAKE LOG LINE\x1b[2J")
        assert str(error).startswith("https://siem.example: HTTP 503: down") and "\n" not in str(error)
        assert "\x1b" not in str(error)


class TestBackoff:
    def test_exponential_with_jitter_on_the_upper_half(self) -> None:
        """Retry n waits between half and all of initial * 2^n."""
        policy = RetryPolicy(initial_backoff_s=0.5, max_backoff_s=100.0)
        for retries, base in enumerate([0.5, 1.0, 2.0, 4.0, 8.0]):
            delays = [policy.delay(retries) for _ in range(200)]
            assert all(base / 2 <= d <= base for d in delays)
            assert max(delays) - min(delays) > base / 10  # jittered, not constant

    @given(st.integers(min_value=0, max_value=10_000), st.floats(0.01, 5.0), st.floats(1.0, 60.0))
    def test_never_past_the_cap(self, retries: int, initial: float, ceiling: float) -> None:
        """However many retries, a wait is positive and at most max_backoff_s."""
        policy = RetryPolicy(initial_backoff_s=initial, max_backoff_s=max(initial, ceiling))
        assert 0 < policy.delay(retries) <= policy.max_backoff_s

    def test_retry_after_is_honoured_capped_and_floored(self) -> None:
        """The server's wait replaces the backoff, within [initial_backoff_s, max_backoff_s]."""
        policy = RetryPolicy(initial_backoff_s=0.5, max_backoff_s=30.0)
        assert policy.delay(7, retry_after_s=3.0) == 3.0
        assert policy.delay(0, retry_after_s=3600.0) == 30.0  # a server cannot park the sender
        assert policy.delay(0, retry_after_s=0.0) == 0.5  # nor make it spin

    def test_give_up_after_max_elapsed_or_max_retries(self) -> None:
        """Each limit alone ends the retries; without limits nothing does."""
        assert RetryPolicy(max_elapsed_s=10).gives_up(1000, 9.9) is False
        assert RetryPolicy(max_elapsed_s=10).gives_up(0, 10.0) is True
        assert RetryPolicy(max_retries=3).gives_up(3, 0.0) is True
        assert RetryPolicy(max_retries=3).gives_up(2, 1e9) is False
        assert RetryPolicy().gives_up(10**9, 1e9) is False

    @pytest.mark.parametrize(("options", "named"), [
        ({"initial_backoff_s": 0}, "initial_backoff_s"),
        ({"initial_backoff_s": 5, "max_backoff_s": 1}, "max_backoff_s"),
        ({"max_elapsed_s": float("inf")}, "max_elapsed_s"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
    ])
    def test_bad_policies_name_the_key(self, options: dict[str, Any], named: str) -> None:
        """A policy that cannot work fails at construction, naming the option."""
        with pytest.raises(ValueError, match=named):
            RetryPolicy(**options)


class FakeTime:
    """A clock that `wait` moves forward: retry loops run instantly and exactly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, delay: float) -> bool:
        self.waits.append(delay)
        self.now += delay
        return False


class TestRetryLoop:
    def test_fails_n_times_then_succeeds(self) -> None:
        """Retryable failures are retried with growing waits until the call returns."""
        failures = iter([DeliveryError("down", True)] * 3)

        def send() -> str:
            error = next(failures, None)
            if error is not None:
                raise error
            return "delivered"

        fake = FakeTime()
        retried: list[float] = []
        result = retry(send, RetryPolicy(1.0, 30.0), fake.wait, lambda e, d: retried.append(d), clock=fake.clock)
        assert result == "delivered" and fake.waits == retried and len(retried) == 3
        assert [0.5 <= retried[0] <= 1.0, 1.0 <= retried[1] <= 2.0, 2.0 <= retried[2] <= 4.0] == [True] * 3

    def test_a_final_error_is_raised_at_once(self) -> None:
        """A non-retryable failure is not waited on."""
        fake = FakeTime()

        def send() -> None:
            raise status_error("h", 400)

        with pytest.raises(DeliveryError, match="HTTP 400"):
            retry(send, RetryPolicy(), fake.wait, clock=fake.clock)
        assert fake.waits == []

    def test_gives_up_after_max_elapsed_counted_from_the_callers_start(self) -> None:
        """A request queued long ago gives up on its first failure once max_elapsed_s is behind it."""
        fake = FakeTime()
        attempts = []

        def send() -> None:
            attempts.append(fake.now)
            raise DeliveryError("HTTP 503", True, retry_after_s=4.0)

        with pytest.raises(DeliveryError, match=r"gave up after 2 retries") as gave_up:
            retry(send, RetryPolicy(1.0, 30.0, max_elapsed_s=8.0), fake.wait, started=fake.now, clock=fake.clock)
        assert not gave_up.value.retryable and fake.waits == [4.0, 4.0] and len(attempts) == 3
        with pytest.raises(DeliveryError, match=r"gave up after 0 retries"):
            retry(send, RetryPolicy(max_elapsed_s=60.0), fake.wait, started=fake.now - 3600, clock=fake.clock)

    def test_a_stopping_caller_gets_none(self) -> None:
        """When `wait` says stop, the item is left (None), not given up."""
        def send() -> None:
            raise DeliveryError("refused", True)

        assert retry(send, RetryPolicy(), lambda delay: True) is None


# ---------------------------------------------------------------------------------------------
# The URL cleaner and the credentials rule


class TestSafeUrl:
    @pytest.mark.parametrize(("url", "safe", "with_path"), [
        (f"https://bot:{SECRET}@hooks.example:8443/in?x=1", "https://hooks.example:8443", "https://hooks.example:8443/in"),
        (f"https://siem.example/ingest?token={SECRET}#frag", "https://siem.example", "https://siem.example/ingest"),
        (f"https://hooks.slack.com/services/T000/B000/{SECRET}", "https://hooks.slack.com", None),
        (f"redis://:{SECRET}@redis:6379/0", "redis://redis:6379", "redis://redis:6379/0"),
        ("unix:///run/redis.sock?db=2", "(no scheme://host)", "unix:///run/redis.sock"),
        (f"http://user:{SECRET}@[::1]:9093/am", "http://[::1]:9093", "http://[::1]:9093/am"),
        (f"hooks.slack.com/services/T000/B000/{SECRET}", "(no scheme://host)", "(no scheme://host)"),
        (f"user:{SECRET}@redis:6379", "(no scheme://host)", "(no scheme://host)"),
        (f"https://user:{SECRET}/path", "https://user:(bad-port)", None),
        ("http://[::1/x", "(unparseable URL)", "(unparseable URL)"),
        ("http://host\x1b[2J:80/x", "(unparseable URL)", None),
        ("http://ho\x07st:80/a b", "http://ho%07st:80", "http://ho%07st:80/a%20b"),
    ])
    def test_only_scheme_host_and_port_and_the_path_on_request(self, url: str, safe: str, with_path: str | None) -> None:
        """Userinfo, query and fragment never show; the path only with keep_path; control characters are escaped."""
        assert safe_url(url) == safe and SECRET not in safe
        if with_path is not None:  # None: a path that is the secret (Slack), never asked for
            assert safe_url(url, keep_path=True) == with_path and SECRET not in with_path

    @given(st.sampled_from(["http", "https", "redis", "grpc"]), st.text(max_size=30), st.text(max_size=30),
           st.text(max_size=30))
    def test_a_planted_secret_never_shows(self, scheme: str, user: str, path: str, query: str) -> None:
        """A secret in the userinfo, path, query or fragment never reaches the safe form, which never raises."""
        for url in (f"{scheme}://{user}:{SECRET}@host.example:1/{path}?{query}",
                    f"{scheme}://host.example/{path}/{SECRET}?{query}", f"{scheme}://host.example/{path}?t={SECRET}#{query}",
                    f"{scheme}://host.example/#{SECRET}{path}"):
            assert SECRET not in safe_url(url)
            assert safe_url(url).isprintable()


class TestCredentialsRule:
    def test_userinfo_becomes_basic_authorization(self) -> None:
        """`user:password@` (percent-decoded) is sent as Basic, like curl and Go's net/http."""
        endpoint = parse_endpoint("https://bot:p%40ss%3Aword@hooks.example/in?x=1", "test")
        assert endpoint.authorization == "Basic " + base64.b64encode(b"bot:p@ss:word").decode()
        assert with_credentials({"X-Tenant": "blue"}, endpoint, "test") == {
            "X-Tenant": "blue", "Authorization": endpoint.authorization}
        assert (endpoint.host, endpoint.port, endpoint.target, endpoint.safe) == (
            "hooks.example", 443, "/in?x=1", "https://hooks.example")
        assert parse_endpoint("http://token@h/", "test").authorization == "Basic " + base64.b64encode(b"token:").decode()
        assert parse_endpoint("http://@h/", "test").authorization is None

    def test_userinfo_and_an_authorization_header_together_are_refused(self) -> None:
        """Two credentials for one request: refused at construction, naming neither secret."""
        endpoint = parse_endpoint(f"https://bot:{SECRET}@hooks.example/", "alert receiver")
        with pytest.raises(ValueError, match="credentials both in the URL") as refused:
            with_credentials({"authorization": "Bearer abc"}, endpoint, "alert receiver")
        assert SECRET not in str(refused.value) and "abc" not in str(refused.value)

    @pytest.mark.parametrize(("url", "named"), [
        (f"ftp://u:{SECRET}@h/x", "scheme must be http or https"),
        (f"http:///{SECRET}", "no host"),
        (f"http://u:{SECRET}@h:99999/x", "bad port"),
        ("http://h:0/x", "bad port"),
        (f"h/services/{SECRET}", "scheme must be"),
    ])
    def test_bad_urls_are_refused_without_echoing_secrets(self, url: str, named: str) -> None:
        """Each refusal names the problem and shows the safe form only."""
        with pytest.raises(ValueError, match=named) as refused:
            parse_endpoint(url, "webhook")
        assert SECRET not in str(refused.value) and str(refused.value).startswith("webhook ")

    def test_tls_options_need_a_tls_scheme(self) -> None:
        """ca_file and client certificates on a plaintext URL are a mistake, said at start-up."""
        with pytest.raises(ValueError, match="need an https URL"):
            HttpSession("http://127.0.0.1:1/x", "webhook", tls={"ca_file": "/dev/null"})

    def test_grpc_defaults(self) -> None:
        """A gRPC endpoint gets its own default port and a bracketed IPv6 authority."""
        endpoint = parse_endpoint("grpcs://[::1]", "otlp", ("http", "https", "grpc", "grpcs"), default_port=4317)
        assert (endpoint.tls, endpoint.authority) == (True, "[::1]:4317")


# ---------------------------------------------------------------------------------------------
# The session against real loopback servers


class Backend:
    """A loopback HTTP/1.1 server answering POSTs from a script of (status, headers), then 200;
    counts the TCP connections it accepted. `drop_idle`: close each connection after answering,
    without saying so (a server whose keep-alive timeout expired)."""

    def __init__(self, script: list[tuple[int, dict[str, str]]] | None = None, drop_idle: bool = False,
                 body: bytes = b"ok") -> None:
        self.script = list(script or [])
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.arrivals: list[float] = []
        lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with lock:
                    backend.connections += 1

            def do_POST(self) -> None:  # http.server naming
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    backend.requests.append((self.path, dict(self.headers), data))
                    backend.arrivals.append(time.monotonic())
                    status, headers = backend.script.pop(0) if backend.script else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = drop_idle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def backends() -> Iterator[list[Backend]]:
    started: list[Backend] = []
    yield started
    for backend in started:
        backend.close()


def _backend(backends: list[Backend], *args: Any, **kwargs: Any) -> Backend:
    backend = Backend(*args, **kwargs)
    backends.append(backend)
    return backend


def _sleep(delay: float) -> bool:
    time.sleep(delay)
    return False


class TestSession:
    def test_fails_n_times_then_succeeds_on_one_kept_alive_connection(self, backends: list[Backend]) -> None:
        """Three 503s then 200: delivered after three retries, all four requests over one connection."""
        backend = _backend(backends, [(503, {}), (503, {}), (503, {})])
        session = HttpSession(f"{backend.url}/hook?k=v", "test", {"X-Tenant": "blue"}, timeout_s=2.0)
        policy = RetryPolicy(initial_backoff_s=0.01, max_backoff_s=0.05, max_retries=5)
        response = retry(lambda: session.post("", b"payload").raise_for_status(session.origin), policy, _sleep)
        session.close()
        assert response is not None and response.status == 200 and response.body == b"ok"
        assert len(backend.requests) == 4 and backend.connections == 1
        assert {path for path, _, _ in backend.requests} == {"/hook?k=v"}
        assert all(headers["X-Tenant"] == "blue" and body == b"payload" for _, headers, body in backend.requests)

    def test_retry_after_from_the_server_is_honoured_and_capped(self, backends: list[Backend]) -> None:
        """Retry-After: 1 is waited for; Retry-After: 3600 only as long as max_backoff_s."""
        backend = _backend(backends, [(429, {"Retry-After": "1"}), (503, {"Retry-After": "3600"})])
        session = HttpSession(backend.url, "test", timeout_s=2.0)
        policy = RetryPolicy(initial_backoff_s=0.01, max_backoff_s=1.2, max_elapsed_s=30)
        started = time.monotonic()
        assert retry(lambda: session.post("/x", b"").raise_for_status(session.origin), policy, _sleep) is not None
        first, second, third = backend.arrivals
        assert 0.9 <= second - first and 1.1 <= third - second < 3.0 and time.monotonic() - started < 10

    def test_a_connection_the_server_dropped_is_reopened_without_a_retry(self, backends: list[Backend]) -> None:
        """A stale keep-alive connection costs a reconnect, not a DeliveryError."""
        backend = _backend(backends, drop_idle=True)
        session = HttpSession(backend.url, "test", timeout_s=2.0)
        for _ in range(3):
            assert session.post("/x", b"a").status == 200
            time.sleep(0.05)  # the server's close reaches the client
        assert len(backend.requests) == 3 and backend.connections == 3

    def test_refused_is_a_retryable_error_naming_the_origin_only(self) -> None:
        """Connection refused: retryable, and the message shows scheme://host:port, no path or userinfo."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        session = HttpSession(f"http://bot:{SECRET}@127.0.0.1:{port}/services/{SECRET}", "test", timeout_s=1.0)
        with pytest.raises(DeliveryError) as failed:
            session.post("", b"x")
        assert failed.value.retryable and "ConnectionRefusedError" in str(failed.value)
        assert str(failed.value).startswith(f"http://127.0.0.1:{port}: ") and SECRET not in str(failed.value)

    def test_gzip_and_the_callers_headers(self, backends: list[Backend]) -> None:
        """compression=gzip sends the body compressed and says so; per-request headers win over the session's."""
        backend = _backend(backends)
        session = HttpSession(f"{backend.url}/base/", "test", {"Content-Type": "text/plain"}, compression="gzip")
        session.post("/v1/traces", b"x" * 1000, {"Content-Type": "application/x-protobuf"})
        ((path, headers, body),) = backend.requests
        assert path == "/base/v1/traces" and headers["Content-Encoding"] == "gzip"
        assert headers["Content-Type"] == "application/x-protobuf" and gzip.decompress(body) == b"x" * 1000

    def test_an_oversized_answer_is_cut_and_the_connection_not_reused(self, backends: list[Backend]) -> None:
        """A server cannot fill memory: the body is read up to the limit, then the connection is dropped."""
        backend = _backend(backends, body=b"z" * (MAX_RESPONSE_BYTES + 10))
        session = HttpSession(backend.url, "test", timeout_s=5.0)
        assert len(session.post("/x", b"").body) == MAX_RESPONSE_BYTES
        assert session.post("/x", b"").status == 200
        assert backend.connections == 2

    def test_interrupt_wakes_a_sender_stuck_on_a_silent_server(self) -> None:
        """A server that never answers holds the sender only until another thread interrupts it."""
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            session = HttpSession(f"http://127.0.0.1:{silent.getsockname()[1]}", "test", timeout_s=30.0)
            failed: list[DeliveryError] = []

            def send() -> None:
                try:
                    session.post("/x", b"x")
                except DeliveryError as error:
                    failed.append(error)

            sender = threading.Thread(target=send)
            sender.start()
            time.sleep(0.2)
            started = time.monotonic()
            session.interrupt()
            sender.join(5.0)
        assert not sender.is_alive() and time.monotonic() - started < 2.0 and failed and failed[0].retryable

    @pytest.mark.parametrize(("options", "named"), [
        ({"timeout_s": 0}, "test timeout_s"),
        ({"timeout_s": "5"}, "test timeout_s"),
        ({"compression": "br"}, "test compression"),
        ({"headers": {"Bad Name": "v"}}, "test header name 'Bad Name'"),
        ({"headers": {"X-Key": f"{SECRET}\r\nInjected: 1"}}, "test header 'X-Key': the value must be a string on one line"),
        ({"headers": ["X-Key"]}, "test headers: expected a mapping"),
    ])
    def test_bad_settings_fail_at_construction(self, options: dict[str, Any], named: str) -> None:
        """Every setting is checked before the first request, and a header value is never echoed."""
        with pytest.raises(ValueError, match=named) as refused:
            HttpSession("http://127.0.0.1:1/x", "test", **options)
        assert SECRET not in str(refused.value)
