"""Cost of the weak-JWT-secret check: HMACs per candidate, one sighting's slice, a whole pass over
the built-in list per new token, a memoized repeat, and a 16 KiB hostile token; and, where the
development corpora are present, how much of a public list of real weak secrets the built-in
list covers (a figure only: that list never ships).

    .venv/bin/python bench/weak_secret_cost.py

Medians of repeated timings in one process, on the machine it runs on.
"""

from __future__ import annotations

import hmac
import os
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import jwt

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.token_jwt import ParsedJwt, parse_jwt
from otel_apisec.detect.tokens import DETECTOR
from otel_apisec.detect.weak_secrets import BUILTIN_SECRET_BYTES, candidates, slice_size, weak_secret_used
from otel_apisec.model import HttpExchange
from otel_apisec.testing import make_exchange

NOW = 1_700_000_000
CLAIMS = {"sub": "user-123", "name": "Jane Doe", "roles": ["user"], "iat": NOW - 60, "exp": NOW + 3600}
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "jwt" / "weak_secrets.list"


def _mint(secret: str | bytes, claims: dict[str, object] = CLAIMS, alg: str = "HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode(claims, secret, algorithm=alg)


def _median_s(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _always(count: int, ctx: object) -> bool:
    return True


def _full_pass(parsed: ParsedJwt, alg: str, analyzer: Analyzer, token: str) -> tuple[int, float]:
    """Sightings and total seconds until the token's answer is final (no rate limit)."""
    exchange = make_exchange(headers={"Authorization": f"Bearer {token}"}, started_at=NOW)
    ctx = analyzer.context(exchange)
    key_hash = ctx.pseudonym(token)
    sightings, spent = 0, 0.0
    while not isinstance(ctx.memo.get(f"tokens.weak_secret:{key_hash}"), bool):
        start = time.perf_counter()
        weak_secret_used(parsed, alg, key_hash, ctx, _always)
        spent += time.perf_counter() - start
        sightings += 1
    return sightings, spent


def main() -> None:
    keys = candidates()
    print(f"built-in list: {len(BUILTIN_SECRET_BYTES)} candidates")
    strong = os.urandom(48)
    for alg in ("HS256", "HS384", "HS512"):
        parsed = parse_jwt(_mint(strong, alg=alg))
        digest = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}[alg]
        sample = keys[:5_000]
        per = _median_s(lambda p=parsed, d=digest, ks=sample: [hmac.digest(k, p.signing_input, d) for k in ks], 5) / len(sample)
        print(
            f"{alg}: {len(parsed.signing_input)} B signing input, {per * 1e6:.2f} us/HMAC, "
            f"whole list {per * len(keys) * 1e3:.1f} ms, slice {slice_size(parsed)} candidates "
            f"= {per * slice_size(parsed) * 1e3:.2f} ms"
        )

    token = _mint(strong)
    parsed = parse_jwt(token)
    sightings, spent = _full_pass(parsed, "HS256", Analyzer(DetectConfig(hmac_key=b"bench", now=NOW)), token)
    print(f"new strong-secret HS256 token, sliced: answered after {sightings} sightings, {spent * 1e3:.1f} ms in all")

    big = _mint(strong, {"sub": "x", "pad": "A" * 11_500, "exp": NOW + 60})
    parsed_big = parse_jwt(big)
    sightings, spent = _full_pass(parsed_big, "HS256", Analyzer(DetectConfig(hmac_key=b"bench", now=NOW)), big)
    print(
        f"hostile {len(big)} B token: slice {slice_size(parsed_big)} candidates; "
        f"{sightings} sightings, {spent / sightings * 1e3:.2f} ms per sighting"
    )

    # Through the detector as it is wired today (whatever tokens.py does per sighting).
    for label, secret in (("weak ('sunshine')", "sunshine"), ("strong", strong)):
        tok = _mint(secret)
        exchange = make_exchange(headers={"Authorization": f"Bearer {tok}"}, started_at=NOW)

        def first(exchange: HttpExchange = exchange) -> None:
            analyzer = Analyzer(DetectConfig(hmac_key=b"bench", now=NOW, max_weak_secret_hmacs_per_s=None))
            list(DETECTOR(exchange, analyzer.context(exchange)))

        warm = Analyzer(DetectConfig(hmac_key=b"bench", now=NOW, max_weak_secret_hmacs_per_s=None))
        for _ in range(20):  # answer it (a sliced check needs several sightings)
            list(DETECTOR(exchange, warm.context(exchange)))

        def repeat(exchange: HttpExchange = exchange, warm: Analyzer = warm) -> None:
            list(DETECTOR(exchange, warm.context(exchange)))

        print(
            f"tokens detector, {label} HS256 token: first sighting {_median_s(first, 15) * 1e3:.2f} ms, "
            f"memoized repeat {_median_s(repeat, 200) * 1e6:.0f} us (whole detector)"
        )

    if CORPUS.exists():
        public = [line for line in CORPUS.read_text("utf-8", "replace").split("\n") if line]
        ours = set(keys)
        first_slice = set(keys[: slice_size(parsed)])
        hit = sum(1 for s in public if s.encode("utf-8", "surrogatepass") in ours)
        early = sum(1 for s in public if s.encode("utf-8", "surrogatepass") in first_slice)
        print(
            f"dev corpus jwt/weak_secrets.list ({len(public)} real weak secrets): {hit} in the built-in list "
            f"({hit / len(public):.1%}), {early} in the first slice"
        )


if __name__ == "__main__":
    main()
