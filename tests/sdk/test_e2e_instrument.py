"""End to end: real apps on four frameworks, run under `opentelemetry-instrument` with the apisec distro.

Each app serves on a real port and exports over real OTLP (HTTP for Flask and FastAPI, gRPC for
Django and Starlette) to an in-test sink. Every request carries its own `traceparent`, so its
server span is the one SERVER span of that trace id. One app start per framework sends every
request; the tests below then read the spans, events and metrics it exported.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import jwt
import pytest

from otel_apisec import attributes as A
from otel_apisec.detect.auth import LOGIN_FAILED
from otel_apisec.detect.tokens import ALG_NONE, EXPIRED, WEAK_SECRET
from otel_apisec.model import AuthOutcome, AuthScheme, TokenState
from otel_apisec.testing.sink import OtlpSink, SpanRecord
from tests.apps import _shared
from tests.e2e_harness import AppProcess, run_app

pytestmark = pytest.mark.e2e

# Each protocol is covered by two frameworks (one WSGI, one ASGI) without starting eight apps.
RUNS = (("flask", "http/protobuf"), ("django", "grpc"), ("fastapi", "http/protobuf"), ("starlette", "grpc"))
# The apps run with the default settings, time budget included (it counts the analysing
# thread's CPU time, and the processor warms the detectors up before the first request).
RUN_ENV: dict[str, str] = {}
SPAN_WAIT_S = 30.0
METRIC_WAIT_S = 30.0

JWT_SUBJECT = "user-42"
BASIC_USER = "Alice"
BASIC_PASSWORD = "e2e-Unguessable-Basic-Pw-71"
LOGIN_USER = "alice"
WRONG_PASSWORD = "not-the-right-one-e2e"
API_KEY = "e2e-apikey-" + secrets.token_hex(16)
ECHO_BYTES = 300_000
STREAM_CHUNKS, STREAM_SIZE = 50, 1000
BIG_BYTES = 1_000_000
SQLI, XSS = "' OR 1=1--", "<script>alert(1)</script>"


def _jwt(exp_offset_s: int, key: str | bytes | None, algorithm: str) -> str:
    now = int(time.time())
    claims = {"sub": JWT_SUBJECT, "iat": now - 60, "exp": now + exp_offset_s}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about the short key on purpose here
        return jwt.encode(claims, key, algorithm=algorithm)


TOKENS = {
    "valid": _jwt(3600, secrets.token_bytes(32), "HS256"),
    "expired": _jwt(-3600, secrets.token_bytes(32), "HS256"),
    "alg_none": _jwt(3600, None, "none"),
    "weak_secret": _jwt(3600, "secret", "HS256"),
}
ECHO_BODY = json.dumps({"data": "a" * (ECHO_BYTES - len(json.dumps({"data": ""})))}).encode()
assert len(ECHO_BODY) == ECHO_BYTES

# Values that must never leave the process (the email and phone are in a response body).
RAW_SECRETS = {
    **{f"jwt {name}": token for name, token in TOKENS.items()},
    "basic password": BASIC_PASSWORD,
    "api key": API_KEY,
    "login password": _shared.CORRECT_PASSWORD,
    "wrong login password": WRONG_PASSWORD,
    "email": _shared.USER_EMAIL,
    "phone": _shared.USER_PHONE,
}


@dataclass(frozen=True)
class Call:
    """One request the client sends: a name to find it by, and httpx.Client.request arguments."""

    name: str
    method: str
    path: str
    params: dict[str, object] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json_body: object = None
    content: bytes | None = None
    auth: tuple[str, str] | None = None


CALLS = (
    *(Call(f"me_{name}", "GET", "/api/me", headers={"Authorization": f"Bearer {token}"}) for name, token in TOKENS.items()),
    Call("me_basic", "GET", "/api/me", auth=(BASIC_USER, BASIC_PASSWORD)),
    Call("me_anonymous", "GET", "/api/me"),
    Call("me_api_key", "GET", "/api/me", headers={"X-API-Key": API_KEY}),
    Call("login_wrong", "POST", "/api/login", json_body={"username": LOGIN_USER, "password": WRONG_PASSWORD}),
    Call("login_right", "POST", "/api/login", json_body={"username": LOGIN_USER, "password": _shared.CORRECT_PASSWORD}),
    Call("user", "GET", "/api/users/7"),
    Call("search_sqli", "GET", "/api/search", params={"q": SQLI}),
    Call("search_xss", "GET", "/api/search", params={"q": XSS}),
    Call("echo", "POST", "/api/echo", content=ECHO_BODY, headers={"Content-Type": "application/json"}),
    Call("stream", "GET", "/api/stream", params={"chunks": STREAM_CHUNKS, "size": STREAM_SIZE}),
    Call("big", "GET", "/api/big", params={"size": BIG_BYTES}),
)


class _Attributes(dict):
    """A span's attributes; a missing key fails with the span's name and what it does have."""

    def __init__(self, framework: str, request_name: str, attributes: dict[str, object]) -> None:
        super().__init__(attributes)
        self._where = f"{framework} {request_name}"

    def __missing__(self, key: str) -> object:
        raise AssertionError(f"{self._where}: span has no {key!r}; it has {dict(self)}")


@dataclass
class Sent:
    call: Call
    trace_id: str
    response: httpx.Response


@dataclass
class Run:
    framework: str
    sink: OtlpSink
    app: AppProcess
    sent: dict[str, Sent]
    server_spans: dict[str, list[SpanRecord]]  # by trace id

    def response(self, name: str) -> httpx.Response:
        return self.sent[name].response

    def span(self, name: str) -> SpanRecord:
        """The one SERVER span of request `name`."""
        sent = self.sent[name]
        spans = {s.span_id: s for s in self.server_spans.get(sent.trace_id, [])}
        assert len(spans) == 1, (
            f"{self.framework}: expected one SERVER span for {sent.call.method} {sent.call.path} ({name}), "
            f"got {len(spans)}: {[s.name for s in spans.values()]}\n{self.app.describe()}"
        )
        return next(iter(spans.values()))

    def attrs(self, name: str) -> dict[str, object]:
        return _Attributes(self.framework, name, self.span(name).attributes)


def _send(client: httpx.Client, call: Call) -> Sent:
    trace_id = secrets.token_hex(16)
    headers = {**call.headers, "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    response = client.request(
        call.method, call.path, params=call.params or None, headers=headers,
        json=call.json_body, content=call.content, auth=call.auth,
    )
    return Sent(call, trace_id, response)


def _collect_server_spans(sink: OtlpSink, trace_ids: set[str], timeout: float) -> dict[str, list[SpanRecord]]:
    """SERVER spans of `trace_ids`, waiting until each has one or `timeout` passes (tests report gaps)."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, list[SpanRecord]] = {}
        for span in sink.spans():
            if span.kind == "SERVER" and span.trace_id in trace_ids:
                found.setdefault(span.trace_id, []).append(span)
        if len(found) == len(trace_ids) or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


@pytest.fixture(scope="module", params=RUNS, ids=[f"{fw}-{protocol}" for fw, protocol in RUNS])
def run(request: pytest.FixtureRequest) -> Iterator[Run]:
    framework, protocol = request.param
    with OtlpSink(protocol) as sink, run_app(framework, sink, RUN_ENV) as app:
        with httpx.Client(base_url=app.url, timeout=60.0) as client:
            sent = {call.name: _send(client, call) for call in CALLS}
        spans = _collect_server_spans(sink, {s.trace_id for s in sent.values()}, SPAN_WAIT_S)
        yield Run(framework, sink, app, sent, spans)


def _status(span: SpanRecord) -> object:
    # Old and stable HTTP semantic conventions name the status differently.
    return span.attributes.get("http.response.status_code", span.attributes.get("http.status_code"))


def _rule_ids(attributes: dict[str, object]) -> list[object]:
    return list(attributes.get(A.FINDINGS) or [])


# --- tokens and auth -----------------------------------------------------------------------------


def test_valid_jwt_is_bearer_success_with_pseudonymous_user(run: Run) -> None:
    assert run.response("me_valid").status_code == 200
    attrs = run.attrs("me_valid")
    assert attrs[A.AUTH_SCHEME] == AuthScheme.BEARER.value
    assert attrs[A.AUTH_OUTCOME] == AuthOutcome.SUCCESS.value
    assert attrs[A.TOKEN_STATE] == TokenState.VALID.value
    assert attrs[A.TOKEN_ALG] == "HS256"
    pseudo = attrs[A.ENDUSER_PSEUDO_ID]
    assert isinstance(pseudo, str) and pseudo
    assert pseudo not in (JWT_SUBJECT, TOKENS["valid"]) and JWT_SUBJECT not in pseudo
    assert attrs[A.TOKEN_HASH] != TOKENS["valid"]


def test_expired_jwt(run: Run) -> None:
    attrs = run.attrs("me_expired")
    assert attrs[A.AUTH_SCHEME] == AuthScheme.BEARER.value
    assert attrs[A.TOKEN_STATE] == TokenState.EXPIRED.value
    assert EXPIRED.id in _rule_ids(attrs)


def test_unsigned_jwt(run: Run) -> None:
    attrs = run.attrs("me_alg_none")
    assert attrs[A.AUTH_SCHEME] == AuthScheme.BEARER.value
    assert attrs[A.TOKEN_ALG] == "none"
    assert ALG_NONE.id in _rule_ids(attrs)


def test_jwt_signed_with_weak_secret(run: Run) -> None:
    attrs = run.attrs("me_weak_secret")
    assert attrs[A.TOKEN_STATE] == TokenState.VALID.value
    assert WEAK_SECRET.id in _rule_ids(attrs)
    assert WEAK_SECRET.id not in _rule_ids(run.attrs("me_valid"))


def test_same_subject_gets_same_pseudonym_across_tokens(run: Run) -> None:
    pseudonyms = {run.attrs(f"me_{name}").get(A.ENDUSER_PSEUDO_ID) for name in ("valid", "expired", "weak_secret")}
    assert len(pseudonyms) == 1 and None not in pseudonyms


def test_basic_auth(run: Run) -> None:
    assert run.response("me_basic").status_code == 200
    attrs = run.attrs("me_basic")
    assert attrs[A.AUTH_SCHEME] == AuthScheme.BASIC.value
    assert attrs[A.AUTH_OUTCOME] == AuthOutcome.SUCCESS.value
    assert attrs[A.TOKEN_STATE] == TokenState.NONE.value
    pseudo = attrs[A.ENDUSER_PSEUDO_ID]
    assert isinstance(pseudo, str) and BASIC_USER.lower() not in pseudo.lower()


def test_missing_credentials_is_a_failure(run: Run) -> None:
    assert run.response("me_anonymous").status_code == 401
    attrs = run.attrs("me_anonymous")
    assert attrs[A.AUTH_SCHEME] == AuthScheme.NONE.value
    # The whole span on failure: this once came out "anonymous" under a loaded full-suite run.
    assert attrs[A.AUTH_OUTCOME] == AuthOutcome.FAILURE.value, dict(attrs)
    assert A.ENDUSER_PSEUDO_ID not in attrs


def test_api_key_header(run: Run) -> None:
    # /api/me only accepts an Authorization header, so the key is presented and rejected.
    assert run.response("me_api_key").status_code == 401
    attrs = run.attrs("me_api_key")
    assert attrs[A.AUTH_SCHEME] == AuthScheme.API_KEY.value
    assert attrs[A.AUTH_OUTCOME] == AuthOutcome.FAILURE.value
    pseudo = attrs[A.ENDUSER_PSEUDO_ID]
    assert isinstance(pseudo, str) and pseudo != API_KEY and API_KEY not in pseudo


def test_failed_login(run: Run) -> None:
    assert run.response("login_wrong").status_code == 401
    attrs = run.attrs("login_wrong")
    assert attrs[A.AUTH_OUTCOME] == AuthOutcome.FAILURE.value
    assert attrs[A.AUTH_LOGIN] is True
    assert attrs[A.AUTH_LOGIN_SUCCEEDED] is False
    assert LOGIN_FAILED.id in _rule_ids(attrs)


def test_successful_login_correlates_with_basic_user(run: Run) -> None:
    assert run.response("login_right").status_code == 200
    attrs = run.attrs("login_right")
    assert attrs[A.AUTH_LOGIN] is True
    assert attrs[A.AUTH_LOGIN_SUCCEEDED] is True
    assert attrs[A.AUTH_OUTCOME] == AuthOutcome.SUCCESS.value
    assert LOGIN_FAILED.id not in _rule_ids(attrs)
    # User names are lower-cased before hashing: "alice" logging in and Basic user "Alice" are one user.
    assert attrs[A.ENDUSER_PSEUDO_ID] == run.attrs("login_wrong")[A.ENDUSER_PSEUDO_ID] == run.attrs("me_basic")[
        A.ENDUSER_PSEUDO_ID
    ]


# --- data exposure and attacks -------------------------------------------------------------------


def test_pii_in_response_with_route_template(run: Run) -> None:
    assert run.response("user").json()["email"] == _shared.USER_EMAIL
    span = run.span("user")
    route = span.attributes.get(A.HTTP_ROUTE)
    assert isinstance(route, str) and "users" in route and "7" not in route, f"http.route is {route!r}"
    attrs = run.attrs("user")
    assert attrs[A.PII_DETECTED] is True
    assert {"email", "phone"} <= set(attrs[A.PII_TYPES]), f"skipped: {attrs.get(A.DETECTORS_SKIPPED)}"
    events = span.event(A.FINDING_EVENT)
    assert events, "no apisec.finding event"
    assert all(isinstance(e.attributes.get(A.RULE_ID), str) and e.attributes[A.RULE_ID] for e in events)
    assert {e.attributes[A.RULE_ID] for e in events} == set(_rule_ids(span.attributes))
    assert {"pii.email", "pii.phone"} <= {e.attributes.get(A.FINDING_KIND) for e in events}


@pytest.mark.parametrize(("name", "kind"), [("search_sqli", "sqli"), ("search_xss", "xss")])
def test_attack_in_query(run: Run, name: str, kind: str) -> None:
    assert run.response(name).json()["q_length"] == len(SQLI if kind == "sqli" else XSS)
    attrs = run.attrs(name)
    assert attrs[A.ATTACK_DETECTED] is True
    assert kind in attrs[A.ATTACK_TYPES]


def test_clean_request_has_no_attack(run: Run) -> None:
    attrs = run.attrs("user")
    assert attrs[A.ATTACK_DETECTED] is False
    assert attrs[A.AUTH_OUTCOME] == AuthOutcome.ANONYMOUS.value


# --- bodies pass through untouched ---------------------------------------------------------------


def test_large_request_body_reaches_the_app_whole(run: Run) -> None:
    response = run.response("echo")
    assert response.status_code == 200
    assert response.json() == {"received_bytes": ECHO_BYTES, "sha256": hashlib.sha256(ECHO_BODY).hexdigest()}
    span = run.span("echo")
    assert _status(span) == 200
    assert A.AUTH_OUTCOME in span.attributes  # analysed, not dropped, although the body exceeded the capture limit


def test_streamed_response_reaches_the_client_whole(run: Run) -> None:
    response = run.response("stream")
    assert response.status_code == 200
    assert response.content == _shared.stream_body(STREAM_CHUNKS, STREAM_SIZE)
    span = run.span("stream")
    assert _status(span) == 200
    assert A.AUTH_OUTCOME in span.attributes


def test_big_response_reaches_the_client_whole(run: Run) -> None:
    response = run.response("big")
    assert response.status_code == 200
    assert len(response.content) == BIG_BYTES and response.content == _shared.big_body(BIG_BYTES)
    span = run.span("big")
    assert _status(span) == 200
    assert A.AUTH_OUTCOME in span.attributes


# --- hygiene and metrics -------------------------------------------------------------------------


def test_every_request_has_one_enriched_server_span(run: Run) -> None:
    for name in run.sent:
        attrs = run.attrs(name)
        assert A.RISK_SCORE in attrs, name
        assert not attrs.get(A.DETECTORS_FAILED), f"{name}: detectors failed: {attrs.get(A.DETECTORS_FAILED)}"
    assert {s.resource.get("service.name") for s in (run.span(n) for n in run.sent)} == {f"e2e-{run.framework}"}


def test_no_raw_secret_or_personal_value_is_exported(run: Run) -> None:
    run.span("user")  # everything analysed has arrived
    raw = run.sink.raw()
    values = {**RAW_SECRETS, "issued session token": run.response("login_right").json()["token"]}
    leaked = [what for what, value in values.items() if value.encode() in raw]
    assert not leaked, f"exported telemetry contains raw values: {leaked}"


def _wait_metric(run: Run, name: str, predicate: Callable[[object], bool]) -> list[object]:
    try:
        return list(run.sink.wait_for_metric(name, predicate, timeout=METRIC_WAIT_S))
    except AssertionError as error:
        raise AssertionError(f"{error}\n{run.app.describe()}") from None


def test_metrics(run: Run) -> None:
    _wait_metric(run, A.METRIC_FINDINGS, lambda p: bool(p.attributes.get(A.RULE_ID)))
    assert run.sink.metric_total(A.METRIC_FINDINGS) > 0
    failures = _wait_metric(
        run, A.METRIC_AUTH_OUTCOMES,
        lambda p: p.attributes.get(A.AUTH_OUTCOME) == AuthOutcome.FAILURE.value
        and bool(p.attributes.get(A.HTTP_ROUTE)),
    )
    assert failures
    assert run.sink.metric_total(A.METRIC_INTERNAL_ERRORS) == 0


# --- the master switch ---------------------------------------------------------------------------


@pytest.mark.parametrize("framework", [fw for fw, _ in RUNS])
def test_disabled_leaves_plain_spans(framework: str) -> None:
    with OtlpSink("http/protobuf") as sink, run_app(framework, sink, {"OTEL_APISEC_ENABLED": "false"}) as app:
        with httpx.Client(base_url=app.url, timeout=60.0) as client:
            sent = [_send(client, call) for call in CALLS if call.name in ("user", "me_valid", "search_sqli", "echo")]
        for item in sent:
            assert item.response.status_code == 200, item.call.name
        assert sent[-1].response.json()["received_bytes"] == ECHO_BYTES
        spans = _collect_server_spans(sink, {s.trace_id for s in sent}, SPAN_WAIT_S)
        assert set(spans) == {s.trace_id for s in sent}, f"missing server spans\n{app.describe()}"
        for span in (s for group in spans.values() for s in group):
            apisec = [k for k in span.attributes if k.startswith("apisec.") or k == A.ENDUSER_PSEUDO_ID]
            assert not apisec, f"{span.name}: {apisec}"
            assert not span.event(A.FINDING_EVENT)
