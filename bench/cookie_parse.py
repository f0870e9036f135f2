"""`Cookie` header parsing: the detectors' linear parser against `http.cookies.SimpleCookie` (what
they used before; quadratic on backslash runs in quoted values, CVE-2024-7592), side by side.

    .venv/bin/python bench/cookie_parse.py

Medians of repeated timings in one process. SimpleCookie is skipped on inputs it would take
minutes on (it took 28.6 s on the 160 KB CVE input here).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

from otel_apisec.detect.cookies import parse_cookie_header

INPUTS = {
    "normal (184 B)": "sessionid=8f14e45fceea167a5a36dedd4bea2543; csrftoken=Yx9dQk2LmN4pR7sT1vW3zA5bC8eF0gHj; "
                      "theme=dark; lang=en-US; _ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; cart=3",
    "8 KB of \\x escapes": 'a="' + "\\x" * 4_000 + '"',
    "40 KB of \\x escapes": 'a="' + "\\x" * 20_000 + '"',
    "CVE, 160 KB of \\x escapes": 'a="' + "\\x" * 80_000 + '"',
}
_STDLIB_MAX_CHARS = 50_000


def stdlib(header: str) -> list[tuple[str, str]]:
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return []
    return [(name, morsel.value) for name, morsel in jar.items()]


def median_s(call: Callable[[], object], budget_s: float = 2.0, max_runs: int = 2000) -> tuple[float, int]:
    times: list[float] = []
    deadline = time.monotonic() + budget_s
    while len(times) < max_runs and (len(times) < 3 or time.monotonic() < deadline):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), len(times)


def main() -> None:
    print(f"{'input':<28} {'linear parser':>16} {'SimpleCookie':>16} {'ratio':>8}")
    for name, header in INPUTS.items():
        ours, _ = median_s(lambda header=header: parse_cookie_header(header))
        if len(header) <= _STDLIB_MAX_CHARS:
            theirs, _ = median_s(lambda header=header: stdlib(header))
            print(f"{name:<28} {ours * 1e6:>13.1f} µs {theirs * 1e6:>13.1f} µs {theirs / ours:>7.0f}x")
        else:
            print(f"{name:<28} {ours * 1e6:>13.1f} µs {'(minutes)':>16}")


if __name__ == "__main__":
    main()
