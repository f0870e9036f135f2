"""No detector fails on hostile or malformed input: random exchanges, surrogates, broken bodies."""

from __future__ import annotations

import random

import orjson

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.model import Body, Headers, HttpExchange, clean_text

ATOMS = [
    "'", '"', "\\", "%", "%25", "&#", "${", "{{", "<", "../", "\x00", "\ud800", "\udfff", "é", "日本",
    "AKIA", "eyJ", "Bearer ", "@", "+1", "4111", "::", "1.2.3.4", "[", "{", "$ne", "*)(", "//",
    "javascript:", "\u2028", "\uff1c", "select", "or 1=1", "jane@example.org", "=", "&", ";", " ",
]
MEDIA = ["application/json", "", "text/plain", "application/x-www-form-urlencoded", "text/html",
         "multipart/form-data; boundary=x", "image/png", "application/json; charset=utf-8"]
HEADERS = ["User-Agent", "Authorization", "Cookie", "X-Api-Key", "Referer", "Origin", "Set-Cookie",
           "Server", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "X-Powered-By"]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(ATOMS) for _ in range(rng.randint(0, 5)))


def _json(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth < 3 and roll < 0.2:
        return {_text(rng).replace("\ud800", "").replace("\udfff", ""): _json(rng, depth + 1) for _ in range(3)}
    if depth < 3 and roll < 0.35:
        return [_json(rng, depth + 1) for _ in range(3)]
    if roll < 0.45:
        return rng.choice([0, -1, 10**18, 4111111111111111, 1.5, True, None])
    return _text(rng).replace("\ud800", "").replace("\udfff", "")


def _body(rng: random.Random) -> Body:
    roll = rng.random()
    if roll < 0.5:
        data = orjson.dumps(_json(rng))
    elif roll < 0.8:
        data = _text(rng).encode("utf-8", "surrogatepass")  # invalid UTF-8 on purpose
    else:
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 100)))
    return Body(data, rng.choice(MEDIA))


def _exchange(rng: random.Random) -> HttpExchange:
    return HttpExchange(
        method=rng.choice(["GET", "POST", "TRACE", "post", ""]),
        scheme=rng.choice(["http", "https", ""]),
        host=_text(rng),
        path="/" + "/".join(_text(rng) for _ in range(rng.randint(0, 3))),
        query=tuple((_text(rng), _text(rng)) for _ in range(rng.randint(0, 3))),
        request_headers=Headers([(rng.choice(HEADERS), _text(rng)) for _ in range(rng.randint(0, 4))]),
        request_body=_body(rng) if rng.random() < 0.6 else None,
        status=rng.choice([None, 200, 302, 401, 403, 500]),
        response_headers=Headers([(rng.choice(HEADERS), _text(rng)) for _ in range(rng.randint(0, 4))]),
        response_body=_body(rng) if rng.random() < 0.6 else None,
    )


class TestRobustness:
    def test_random_exchanges_never_fail_a_detector(self) -> None:
        """Thousands of random, partly malformed exchanges: every detector completes on every one."""
        rng = random.Random(20261122)
        analyzer = Analyzer(DetectConfig(hmac_key=b"robust"))
        failures = {}
        for _ in range(3000):
            exchange = _exchange(rng)
            failed = analyzer.analyze(exchange).failed
            for name in failed:
                failures.setdefault(name, exchange)
        assert failures == {}

    def test_lone_surrogates_are_replaced_at_the_model(self) -> None:
        """Text that cannot be UTF-8 encoded is repaired once, where it enters the model."""
        exchange = HttpExchange(path="/a\ud800", query=(("q", "\udfffx"),), request_headers=Headers({"X": "\ud800"}))
        assert exchange.path == "/a\ufffd" and exchange.query == (("q", "\ufffdx"),)
        assert exchange.request_headers.get("x") == "\ufffd"
        assert clean_text("plain") == "plain" and clean_text("é") == "é"
