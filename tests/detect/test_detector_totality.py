"""Detectors are total over attacker input: JWT headers and claims of every JSON type, and whole
exchanges of odd types, never fail a detector, and the facts a token has are still reported."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect import auth as auth_module
from otel_apisec.detect import tokens as tokens_module
from otel_apisec.detect.exposed import exposed_values
from otel_apisec.detect.token_jwt import JwtCandidate, ParsedJwt
from otel_apisec.enrich import span_attributes
from otel_apisec.model import AuthScheme, Body, Finding, Headers, HttpExchange, TokenState
from otel_apisec.testing import make_exchange

NOW = 1_800_000_000.0
LIMIT = 24 * 3600
# No HMAC budget: every accepted HS token is checked, so weak-secret expectations are exact.
ANALYZER = Analyzer(DetectConfig(hmac_key=b"totality", now=NOW, max_weak_secret_hmacs_per_s=None))
WEAK_SECRET = b"your-256-bit-secret"  # in otel_apisec.detect.weak_secrets
HMAC = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
TRACKED = {"APISEC-TOK-001": "alg_none", "APISEC-TOK-003": "expired", "APISEC-TOK-004": "not_yet_valid",
           "APISEC-TOK-006": "no_expiry", "APISEC-TOK-007": "long_lifetime", "APISEC-TOK-012": "weak_secret"}
TOKEN_RULES = {f"APISEC-TOK-{n:03d}" for n in range(1, 13)}

# --- JSON of every type ------------------------------------------------------------------------
HUGE_INTS = [10**400, -(10**400), 2**64 + 1, -(2**63) - 1, 2**1023 * 3]
EDGE_FLOATS = [1e308, -1e308, math.inf, -math.inf, math.nan, 5e-324, -0.0]
TIMES = [NOW - 7200, NOW - 10, NOW + 10, NOW + 7200, NOW + 10 * LIMIT, 0, -1]
NUMBERS = st.one_of(st.integers(), st.sampled_from(HUGE_INTS + EDGE_FLOATS + TIMES),
                    st.floats(allow_nan=True, allow_infinity=True))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=12),
                    st.sampled_from(["none", "NONE", "", "HS256", "../../etc/passwd", "x' OR 1=1--", "\ud800"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)
ALGS = st.one_of(st.sampled_from(["none", "None", "", "HS256", "HS384", "HS512", "RS256", "ES256", "HS1", "EdDSA"]), JSON)
TIME_CLAIM = st.one_of(st.sampled_from(TIMES + [1e308, -1e308, 2**64 + 1]), st.floats(-1e12, 1e12), NUMBERS, JSON)


def _deep(depth: int) -> str:
    """Nesting as raw JSON text: past 1,024 levels orjson refuses it, and Python's json recurses."""
    return "[" * depth + "]" * depth


@st.composite
def jwt_parts(draw: st.DrawFn) -> tuple[str, str]:
    """(header JSON text, claims JSON text) with every field optional and of any JSON type."""
    header = {"alg": draw(ALGS)} if draw(st.integers(0, 4)) else {}  # alg missing now and then
    for name in ("kid", "typ", "jku", "x5u", "jwk", "x5c", "cty"):
        if draw(st.booleans()):
            header[name] = draw(JSON)
    claims: dict[str, object] = {}
    for name in ("exp", "iat", "nbf"):
        if draw(st.integers(0, 3)):
            claims[name] = draw(TIME_CLAIM)
    for name in ("sub", "email", "password", "roles", "scope"):
        if draw(st.booleans()):
            claims[name] = draw(JSON)
    claims_text = json.dumps(claims)  # NaN and Infinity as Python writes them (not JSON: malformed)
    if draw(st.integers(0, 3)) == 0:
        claims_text = claims_text[:-1] + (", " if claims else "") + f'"deep": {_deep(draw(st.sampled_from([5, 1023, 2000])))}}}'
    return json.dumps(header), claims_text


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_of(header_text: str, claims_text: str) -> str:
    """A compact JWS; HMAC-signed with a known-weak secret when the header names an HS algorithm."""
    signing_input = f"{_b64(header_text.encode('utf-8', 'surrogatepass'))}.{_b64(claims_text.encode('utf-8', 'surrogatepass'))}"
    try:
        alg = orjson.loads(header_text).get("alg")
    except orjson.JSONDecodeError:
        alg = None
    digest = HMAC.get(alg) if isinstance(alg, str) else None
    signature = hmac.new(WEAK_SECRET, signing_input.encode(), digest).digest() if digest else b"\x01" * 32
    return f"{signing_input}.{_b64(signature)}"


def _number(value: object) -> float | None:
    return None if isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)


def expected_facts(header_text: str, claims_text: str, status: int) -> set[str] | None:
    """The tracked facts a token has, worked out independently; None when it does not parse."""
    try:
        header, claims = orjson.loads(header_text), orjson.loads(claims_text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    if any(claims.get(c) is not None and _number(claims[c]) is None for c in ("exp", "iat", "nbf")):
        return None
    exp, iat, nbf = (_number(claims.get(c)) for c in ("exp", "iat", "nbf"))  # orjson: always finite
    alg = header.get("alg")
    facts = set()
    if not isinstance(alg, str) or not alg or alg.lower() == "none":
        facts.add("alg_none")
    if exp is not None and NOW > exp + 30:
        facts.add("expired")
    elif nbf is not None and NOW + 30 < nbf:
        facts.add("not_yet_valid")
    if exp is None:
        facts.add("no_expiry")
    start = iat if iat is not None else nbf
    if exp is not None and start is not None and exp - start > LIMIT:  # may be inf: still a number here
        facts.add("long_lifetime")
    if isinstance(alg, str) and alg in HMAC and status not in (401, 403):
        facts.add("weak_secret")
    return facts


CRAFTED = (json.dumps({"alg": "none"}), json.dumps({"sub": "a", "exp": 1e308, "iat": -1e308}))
"""`int(exp - start)` once overflowed and switched off the whole tokens detector."""


class TestJwtTotality:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(parts=jwt_parts(), status=st.sampled_from([200, 401]))
    @example(parts=CRAFTED, status=200)
    @example(parts=(json.dumps({"alg": "HS256"}), json.dumps({"iat": NOW - 7200, "exp": NOW - 3600})), status=200)
    @example(parts=(json.dumps({"alg": "HS512"}), json.dumps({"nbf": NOW + 7200, "exp": NOW + 10 * LIMIT})), status=200)
    @example(parts=(json.dumps({"alg": "HS256"}), json.dumps({"exp": 1e308, "nbf": -1e308})), status=200)
    def test_tokens_of_every_json_type_never_fail_and_keep_their_facts(self, parts: tuple[str, str], status: int) -> None:
        """No detector fails; alg-none, expired, not-yet-valid, no-expiry, long-lifetime and weak-secret
        are reported exactly when the token has them, and the token state is never lost."""
        header_text, claims_text = parts
        token = token_of(header_text, claims_text)
        exchange = make_exchange(headers={"Authorization": f"Bearer {token}"}, status=status)
        analysis = ANALYZER.analyze(exchange)
        assert analysis.failed == []
        found = {f.rule_id for f in analysis.findings}
        expected = expected_facts(header_text, claims_text, status)
        if expected is None:
            assert "APISEC-TOK-005" in found and analysis.token.state is TokenState.MALFORMED
        else:
            assert {TRACKED[r] for r in found & TRACKED.keys()} == expected
            assert analysis.token.state is not TokenState.NONE and analysis.token.token_hash
        span_attributes(analysis)  # exportable as span attributes

    @settings(max_examples=150, deadline=None)
    @given(header=st.dictionaries(st.sampled_from(["alg", "kid", "typ", "jku", "x5u", "jwk", "x5c"]), JSON),
           claims=st.dictionaries(st.sampled_from(["exp", "iat", "nbf", "sub", "email", "uid", "password"]),
                                  st.one_of(JSON, st.sampled_from([10**5000, -(10**5000)]))))
    @example(header={"alg": "none", "kid": "\ud800../"}, claims={"exp": math.inf, "iat": -math.inf, "sub": 10**5000})
    @example(header={"alg": "none"}, claims={"exp": math.nan, "nbf": math.nan, "uid": -(10**5000)})
    def test_values_no_json_parser_makes_are_handled_too(self, header: dict, claims: dict) -> None:
        """Claims a lenient parser would give (NaN, infinities, 5000-digit integers, lone surrogates)
        reach the tokens and auth detectors without a failure, and alg none is still reported."""
        exchange = make_exchange(headers={"Authorization": "Bearer a.b.c"})
        ctx = ANALYZER.context(exchange)
        parsed = ParsedJwt(header, claims, b"a.b", b"\x01", None)
        ctx.once("jwts", lambda: [(JwtCandidate("request.header.authorization", "a.b.c", False), parsed)])
        outputs = [*tokens_module.DETECTOR(exchange, ctx), *auth_module.DETECTOR(exchange, ctx)]
        assert ctx.failed == []
        alg = header.get("alg")
        alg_none = not isinstance(alg, str) or not alg or alg.lower() == "none"
        assert alg_none == any(isinstance(o, Finding) and o.rule_id == "APISEC-TOK-001" for o in outputs)

    def test_a_failing_step_loses_only_its_own_finding(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A check that raises costs its finding only: the others and the token state still come out."""
        def broken(token: object, ctx: object) -> list[Finding]:
            raise OverflowError("cannot convert float infinity to integer")

        checks = tuple((step, broken if step == "tokens.lifetime" else check) for step, check in tokens_module._CHECKS)
        monkeypatch.setattr(tokens_module, "_CHECKS", checks)
        analysis = ANALYZER.analyze(make_exchange(headers={"Authorization": f"Bearer {token_of(*CRAFTED)}"}))
        assert analysis.failed == ["tokens.lifetime"]
        assert "APISEC-TOK-001" in {f.rule_id for f in analysis.findings}
        assert analysis.token.state is TokenState.VALID


# --- whole exchanges of odd types ---------------------------------------------------------------
HOSTILE = [
    "Basic \u00e9t\u00e9", "Basic !!!", "Bearer eyJ.eyJ.", "max-age=" + "9" * 5000, "max-age=\u00b2", "http://[evil",
    "null", "*", "true", "' OR 1=1--", "../../etc/passwd", "<script>alert(1)</script>", 'a="\\x\\x\\047"; path=/x',
    "9" * 5000, "1e308", "NaN", "-Infinity", "\ud800", "\x00", "日本", "a@b.co", "+14155552671", "AKIA" + "A" * 16,
]
HEADER_NAMES = ["Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "Origin", "Content-Type", "Set-Cookie",
                "Strict-Transport-Security", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                "X-Forwarded-Proto", "Forwarded", "Location", "Allow", "Server", "X-Powered-By", "Content-Security-Policy"]
TEXT = st.one_of(st.text(max_size=24), st.sampled_from(HOSTILE))
MEDIA = ["application/json", "", "text/plain", "application/x-www-form-urlencoded", "text/html",
         "multipart/form-data; boundary=x", "application/problem+json"]


def _json_body(value: object) -> bytes:
    return json.dumps(value).encode("utf-8", "surrogatepass")  # NaN, Infinity, huge ints: not JSON to orjson


BODY_DATA = st.one_of(JSON.map(_json_body), TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
                      st.sampled_from([b"[" * 2000 + b"]" * 2000, b'{"password": 1e308, "n": 123456789012345678901234567890}',
                                       b'{"records": [' + b"{}," * 150 + b"{}]}", b'{"a": NaN}']), st.binary(max_size=40))
BODIES = st.one_of(st.none(), st.builds(Body, BODY_DATA, st.sampled_from(MEDIA), st.booleans()))
PAIRS = st.lists(st.tuples(TEXT, TEXT), max_size=4)


@st.composite
def exchanges(draw: st.DrawFn) -> HttpExchange:
    header = st.tuples(st.one_of(st.sampled_from(HEADER_NAMES), st.text(min_size=1, max_size=10)), TEXT)
    return HttpExchange(
        method=draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "TRACE", "post", ""])),
        scheme=draw(st.sampled_from(["http", "https", "wss", ""])),
        host=draw(TEXT), path="/" + draw(TEXT), route=draw(st.none() | TEXT), query=tuple(draw(PAIRS)),
        request_headers=Headers(draw(st.lists(header, max_size=5))), cookies=tuple(draw(PAIRS)),
        request_body=draw(BODIES), status=draw(st.sampled_from([None, 200, 201, 204, 302, 401, 403, 404, 500, 0, 999])),
        response_headers=Headers(draw(st.lists(header, max_size=5))), response_body=draw(BODIES),
        client_address=draw(st.none() | TEXT), started_at=draw(st.sampled_from([None, 0.0, NOW, 1.8e10])),
    )


REGRESSIONS = [
    ("alg-none JWT with exp 1e308 and iat -1e308 (tokens detector lost)", "APISEC-TOK-001",
     make_exchange(headers={"Authorization": f"Bearer {token_of(*CRAFTED)}"})),
    ("HSTS max-age of 5,000 digits (posture detector lost)", "APISEC-POS-003",
     make_exchange(response_headers={"Strict-Transport-Security": "max-age=" + "9" * 5000}, response_json={"a": 1})),
    ("HSTS max-age with a superscript digit (posture detector lost)", "APISEC-POS-002",
     make_exchange(response_headers={"Strict-Transport-Security": "max-age=\u00b2"})),
    ("CORS origin that is no URL, echoed with credentials (posture detector lost)", "APISEC-POS-007",
     make_exchange(headers={"Origin": "http://[evil"}, response_headers={
         "Access-Control-Allow-Origin": "http://[evil", "Access-Control-Allow-Credentials": "true"})),
    ("Basic credentials that are not ASCII (auth detector and the gateway's masking lost)", "APISEC-AUTH-003",
     make_exchange("http://api.example.com/x", headers={"Authorization": "Basic \u00e9t\u00e9"})),
]


class TestExchangeTotality:
    @pytest.mark.parametrize(("rule_id", "exchange"), [c[1:] for c in REGRESSIONS], ids=[c[0] for c in REGRESSIONS])
    def test_inputs_that_switched_off_a_detector(self, rule_id: str, exchange: HttpExchange) -> None:
        """Each input once made a whole detector fail; now nothing fails and its finding is there."""
        analysis = ANALYZER.analyze(exchange)
        assert analysis.failed == []
        assert rule_id in {f.rule_id for f in analysis.findings}
        exposed_values(exchange, analysis)  # the gateway's masking reads the same credentials

    def test_non_ascii_basic_credentials_are_still_a_basic_login(self) -> None:
        """`Basic été` is a Basic credential that cannot be decoded, not an anonymous call."""
        analysis = ANALYZER.analyze(make_exchange(headers={"Authorization": "Basic \u00e9t\u00e9"}))
        assert analysis.auth.scheme is AuthScheme.BASIC

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(exchanges())
    def test_every_detector_gets_values_of_every_type(self, exchange: HttpExchange) -> None:
        """Hostile headers, query pairs, cookies and bodies (odd JSON types, huge numbers, deep nesting,
        invalid UTF-8): no detector fails, the result exports, and one exchange costs < 0.5 s."""
        start = time.perf_counter()
        analysis = ANALYZER.analyze(exchange)
        exposed_values(exchange, analysis)
        span_attributes(analysis)
        assert time.perf_counter() - start < 0.5
        assert analysis.failed == []
