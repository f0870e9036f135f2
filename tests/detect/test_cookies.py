"""The `Cookie` header parser: RFC 6265 pairs read leniently, in linear time, once per exchange."""

from __future__ import annotations

import time
from http.cookies import _unquote as stdlib_unquote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect import cookies as cookies_module
from otel_apisec.detect.cookies import MAX_COOKIE_CHARS, MAX_COOKIES, parse_cookie_header, request_cookies
from otel_apisec.detect.exposed import exposed_values
from otel_apisec.model import Headers, HttpExchange
from otel_apisec.testing import make_exchange

ANALYZER = Analyzer(DetectConfig(hmac_key=b"unit"))

CASES = [
    ("one pair", "sid=abc", [("sid", "abc")]),
    ("RFC 6265 separator", "sid=abc; theme=dark", [("sid", "abc"), ("theme", "dark")]),
    ("no space after ;", "a=1;b=2", [("a", "1"), ("b", "2")]),
    ("spaces around names and values", "  a = 1 ;\tb=2  ", [("a", "1"), ("b", "2")]),
    ("value keeps = after the first", "t=a=b==", [("t", "a=b==")]),
    ("empty value kept", "a=; b=2", [("a", ""), ("b", "2")]),
    ("duplicates kept in order", "a=1; a=2", [("a", "1"), ("a", "2")]),
    ("quotes removed", 'a="x y"', [("a", "x y")]),
    ("escaped quote and backslash", r'a="x\"y\\z"', [("a", 'x"y\\z')]),
    ("octal escape, as http.cookies reads it", r'a="\047 OR 1=1"', [("a", "' OR 1=1")]),
    ("a lone trailing backslash stays", 'a="x\\"', [("a", "x\\")]),
    ("unbalanced quote kept as sent", 'a="x; b=2', [("a", '"x'), ("b", "2")]),
    ("a single quote char is a value", 'a="', [("a", '"')]),
    ("; splits even inside quotes (browsers, Django, Starlette)", 'a="x;y"', [("a", '"x')]),
    ("attribute names are cookies, not attributes", "sid=1; path=/etc/passwd; expires=x",
     [("sid", "1"), ("path", "/etc/passwd"), ("expires", "x")]),
    ("$-names are cookies too", "$Version=1; a=2", [("$Version", "1"), ("a", "2")]),
    ("non-ASCII kept", "name=\u00e9t\u00e9", [("name", "\u00e9t\u00e9")]),
    # negatives: nothing comes out of these parts
    ("pair without = skipped", "flag; a=1", [("a", "1")]),
    ("empty name skipped", "=v; a=1", [("a", "1")]),
    ("blank name skipped", "  =v", []),
    ("empty parts skipped", ";;; ;", []),
    ("empty header", "", []),
]


class TestParseCookieHeader:
    @pytest.mark.parametrize(("header", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
    def test_cases(self, header: str, expected: list[tuple[str, str]]) -> None:
        """Each case's header gives exactly its pairs."""
        assert parse_cookie_header(header) == expected

    def test_cve_2024_7592_pattern_is_linear(self) -> None:
        """A quoted value of 30,000 `\\x` escapes (SimpleCookie: ~3.5 s) is unescaped in one pass."""
        header = 'a="' + "\\x" * 30_000 + '"'
        start = time.perf_counter()
        pairs = parse_cookie_header(header)
        assert time.perf_counter() - start < 0.5
        assert pairs == [("a", "x" * 30_000)]

    def test_brief_cve_input_and_one_megabyte_header(self) -> None:
        """The 160 KB CVE input and a 1 MB header of pairs are read within the bounds, quickly."""
        for header in ('a="' + "\\x" * 80_000 + '"', "k=v; " * 200_000, 'a="' + "\\" * (1 << 20) + '"'):
            start = time.perf_counter()
            pairs = parse_cookie_header(header)
            assert time.perf_counter() - start < 0.5
            assert len(pairs) <= MAX_COOKIES and sum(len(n) + len(v) for n, v in pairs) <= MAX_COOKIE_CHARS

    def test_bounds(self) -> None:
        """Past MAX_COOKIES pairs or MAX_COOKIE_CHARS characters the rest of a header is ignored."""
        assert len(parse_cookie_header("; ".join(f"c{i}=v" for i in range(1000)))) == MAX_COOKIES
        assert parse_cookie_header("a=" + "x" * MAX_COOKIE_CHARS + "; b=1") == [("a", "x" * (MAX_COOKIE_CHARS - 2))]


_HOSTILE = st.text(alphabet=st.sampled_from('ab=; "\\0137\t\u00e9\x00'), max_size=200)


class TestProperties:
    @settings(max_examples=300, deadline=None)
    @given(_HOSTILE)
    @example('a="' + "\\" * 50 + '"')
    def test_never_raises_and_pairs_come_from_the_input(self, header: str) -> None:
        """Names are stripped substrings holding no `;` or `=`; unquoted values are substrings."""
        for name, value in parse_cookie_header(header):
            assert name and name in header and name == name.strip() and not {";", "="} & set(name)
            assert ";" not in value
            if "\\" not in value and '"' not in header:
                assert value in header

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.sampled_from('ab"\\0137x'), max_size=60))
    def test_quoted_values_unescape_like_http_cookies(self, inner: str) -> None:
        """A quoted value reads as Django and Starlette apps read it (`http.cookies._unquote`)."""
        value = f'"{inner}"'
        (pair,) = parse_cookie_header(f"a={value}")
        assert pair == ("a", stdlib_unquote(value))

    @settings(max_examples=25, deadline=None)
    @given(st.text(alphabet=st.sampled_from('a=; "\\0'), min_size=1, max_size=40))
    def test_time_grows_linearly(self, fragment: str) -> None:
        """Any fragment repeated to the 64 KiB bound parses in under 0.1 s (about 0.2 us a char measured)."""
        header = (fragment * (MAX_COOKIE_CHARS // len(fragment) + 1))[:MAX_COOKIE_CHARS]
        for quoted in (header, f'a="{header}"'):
            start = time.perf_counter()
            parse_cookie_header(quoted)
            assert time.perf_counter() - start < 0.1


class TestOneParsePerExchange:
    def test_every_detector_and_the_redaction_path_share_one_parse(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Analysis and the gateway's exposed-value masking parse the Cookie header once (was 6 times)."""
        calls: list[int] = []
        real = cookies_module.parse_cookies
        monkeypatch.setattr(cookies_module, "parse_cookies", lambda values: calls.append(1) or real(values))
        exchange = make_exchange(headers={"Cookie": "sessionid=s3ss10n-0123456789; theme=dark"})
        analysis = ANALYZER.analyze(exchange)
        exposed_values(exchange, analysis)
        assert len(calls) == 1
        assert request_cookies(exchange) == (("sessionid", "s3ss10n-0123456789"), ("theme", "dark"))

    def test_given_cookies_win_and_the_cache_is_not_compared(self) -> None:
        """HAR cookies are used as given; the parse cache never changes equality or hashing."""
        har = HttpExchange(cookies=(("sid", "from-har"),), request_headers=Headers({"Cookie": "sid=from-header"}))
        assert request_cookies(har) == (("sid", "from-har"),)
        parsed = HttpExchange(request_headers=Headers({"Cookie": "a=1"}))
        fresh = HttpExchange(request_headers=Headers({"Cookie": "a=1"}))
        request_cookies(parsed)
        assert parsed == fresh and hash(parsed) == hash(fresh) and parsed.parsed_cookies == (("a", "1"),)

    def test_cookie_named_like_an_attribute_is_scanned(self) -> None:
        """`path=../../etc/passwd` is a cookie the app reads (SimpleCookie took it for an attribute)."""
        analysis = ANALYZER.analyze(make_exchange(headers={"Cookie": "sid=1; path=../../etc/passwd"}))
        assert "request.cookie.path" in {f.location for f in analysis.findings if f.kind == "path_traversal"}

    def test_huge_cookie_header_costs_milliseconds_per_exchange(self) -> None:
        """A 160 KB CVE-pattern Cookie header costs one bounded parse, not 6 quadratic ones (was ~157 s)."""
        exchange = make_exchange(headers={"Cookie": 'a="' + "\\x" * 80_000 + '"'})
        start = time.perf_counter()
        analysis = ANALYZER.analyze(exchange)
        exposed_values(exchange, analysis)
        assert time.perf_counter() - start < 0.5 and not analysis.failed
