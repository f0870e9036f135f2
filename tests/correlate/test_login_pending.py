"""A login that asks for a second factor (pending) is neither a failure nor a success, end to end: the
detector's verdict, the span attribute `apisec.auth.login.pending`, the gateway's Observation and the
brute-force correlators, which never count it even when it was answered 401 or 403."""

from __future__ import annotations

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_apisec import attributes as A
from otel_apisec.correlate.api import Observation
from otel_apisec.correlate.base import is_failed_login
from otel_apisec.correlate.config import CorrelationConfig
from otel_apisec.correlate.engine import Correlation
from otel_apisec.correlate.stores.memory import MemoryStore
from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.enrich import span_attributes
from otel_apisec.findings import AttributeValue
from otel_apisec.gateway.anyvalue import set_value
from otel_apisec.gateway.span_exchange import WANTED
from otel_apisec.gateway.span_observation import observation_from_span
from otel_apisec.testing import make_exchange

LOGIN = "https://api.example.com/api/auth/login"
CREDS = {"username": "jane", "password": "c0rrect-Horse"}
T0 = 1_767_254_400.0
DEFAULTS = CorrelationConfig()


def login(status: int, response: object) -> dict[str, AttributeValue]:
    """The attributes enrichment writes on the span of one login exchange."""
    exchange = make_exchange(LOGIN, "POST", json=CREDS, status=status, response_json=response)
    return span_attributes(Analyzer(DetectConfig(hmac_key=b"unit")).analyze(exchange))


def observed(attributes: dict[str, AttributeValue], status: int, t: float = 0.0, client: str = "198.51.100.7") -> Observation:
    """The gateway's Observation of a server span carrying `attributes`."""
    span = Span(kind=Span.SPAN_KIND_SERVER, end_time_unix_nano=int((T0 + t) * 1e9))
    for key, value in {"http.request.method": "POST", "http.route": "/api/auth/login", "url.path": "/api/auth/login",
                       "http.response.status_code": status, "client.address": client, **attributes}.items():
        set_value(span.attributes.add(key=key).value, value)
    observation = observation_from_span(span, "shop")
    assert observation is not None
    return observation


PENDING_403 = (403, {"detail": "Two-factor authentication required. A verification code was sent."})
FAILED_401 = (401, {"detail": "Invalid username or password."})


class TestSpan:
    def test_pending_login_says_pending_and_not_succeeded(self) -> None:
        """A 403 asking for a second factor: login true, pending true, succeeded absent."""
        attributes = login(*PENDING_403)
        assert attributes[A.AUTH_LOGIN] is True and attributes[A.AUTH_LOGIN_PENDING] is True
        assert A.AUTH_LOGIN_SUCCEEDED not in attributes

    def test_settled_logins_carry_no_pending(self) -> None:
        """A refused and an accepted login settle `succeeded` and carry no pending attribute."""
        failed = login(*FAILED_401)
        succeeded = login(200, {"access_token": "2YotnFZFEjr1zCsicMWpAA", "token_type": "bearer"})
        assert failed[A.AUTH_LOGIN_SUCCEEDED] is False and succeeded[A.AUTH_LOGIN_SUCCEEDED] is True
        assert A.AUTH_LOGIN_PENDING not in failed and A.AUTH_LOGIN_PENDING not in succeeded

    def test_the_gateway_reads_it(self) -> None:
        """The span reader keeps the attribute, and the Observation says pending, not failed."""
        assert A.AUTH_LOGIN_PENDING in WANTED
        obs = observed(login(*PENDING_403), 403)
        assert obs.is_login and obs.login_pending and obs.login_succeeded is None
        assert not is_failed_login(obs)
        failed = observed(login(*FAILED_401), 401)
        assert failed.login_succeeded is False and not failed.login_pending and is_failed_login(failed)


class TestCorrelators:
    def test_status_fallback_skips_pending(self) -> None:
        """Without a verdict a 401/403 login counts as failed; with pending it never does."""
        unknown = Observation(time_s=T0, method="POST", status=403, is_login=True)
        assert is_failed_login(unknown)
        assert not is_failed_login(Observation(time_s=T0, method="POST", status=403, is_login=True, login_pending=True))

    def test_pending_logins_never_fire_brute_force(self) -> None:
        """Many pending 403s on one account from one client fire nothing; as many failures do."""
        correlation = Correlation(CorrelationConfig(correlators=("brute_force", "credential_stuffing")), MemoryStore())
        count = DEFAULTS.brute_force_client_failures + 5
        pending = login(*PENDING_403)
        assert [f for i in range(count) for f in correlation.observe(observed(pending, 403, t=i))] == []
        failed = login(*FAILED_401)
        fired = [f.rule.kind for i in range(count) for f in correlation.observe(observed(failed, 401, t=100 + i))]
        assert "abuse.brute_force" in fired
