"""How an exchange becomes scannable fields, with locations in the finding contract."""

from __future__ import annotations

import orjson

from otel_apisec.detect.fields import (
    Direction,
    Source,
    body_fields,
    exchange_fields,
    json_path,
    parse_cookies,
)
from otel_apisec.model import Body
from otel_apisec.testing import make_exchange


def _pairs(fields) -> list[tuple[str, str, bool]]:
    return [(f.location, f.text, f.is_key) for f in fields]


class TestJsonFields:
    def test_nested_keys_and_values_get_json_paths(self) -> None:
        """Keys and string values of nested objects and arrays carry their JSON path."""
        body = Body(orjson.dumps({"user": {"email": "a@b.co", "tags": ["x", "y"]}, "odd key": "v"}), "application/json")
        got = _pairs(body_fields(body, Direction.REQUEST))
        assert ("request.body.$.user.email", "a@b.co", False) in got
        assert ("request.body.$.user.email", "email", True) in got
        assert ("request.body.$.user.tags[1]", "y", False) in got
        assert ("request.body.$['odd key']", "v", False) in got

    def test_long_integers_are_scanned_as_text(self) -> None:
        """A card or phone number sent as a JSON number is still a field; small numbers are not."""
        body = Body(b'{"card": 4111111111111111, "qty": 3}', "application/json")
        texts = [f.text for f in body_fields(body, Direction.REQUEST) if not f.is_key]
        assert texts == ["4111111111111111"]

    def test_deep_nesting_does_not_recurse(self) -> None:
        """A deeply nested document is walked iteratively (no RecursionError)."""
        body = Body(("[" * 1000 + '"deep"' + "]" * 1000).encode(), "application/json")
        fields = list(body_fields(body, Direction.REQUEST))
        assert [f.text for f in fields] == ["deep"]
        assert fields[0].location.endswith("[0]" * 1000)

    def test_invalid_json_falls_back_to_text(self) -> None:
        """A truncated JSON body is scanned as plain text rather than dropped."""
        body = Body(b'{"a": "unterminated', "application/json")
        assert _pairs(body_fields(body, Direction.RESPONSE)) == [("response.body", '{"a": "unterminated', False)]

    def test_field_cap(self) -> None:
        """At most max_fields fields come out of one body."""
        body = Body(orjson.dumps({f"k{i}": "v" for i in range(100)}), "application/json")
        assert len(list(body_fields(body, Direction.REQUEST, max_fields=10))) == 10

    def test_json_path_escapes_quotes(self) -> None:
        """Keys that are not identifiers are bracket-quoted with escapes."""
        assert json_path("$", "it's") == "$['it\\'s']"
        assert json_path("$", 3) == "$[3]"


class TestOtherBodies:
    def test_form_fields(self) -> None:
        """Form bodies yield name and value fields located like a flat JSON object."""
        body = Body(b"user=bob&q=%27+or+1%3D1", "application/x-www-form-urlencoded")
        assert ("request.body.$.q", "' or 1=1", False) in _pairs(body_fields(body, Direction.REQUEST))

    def test_multipart_text_parts_and_binary_skip(self) -> None:
        """Text parts of multipart bodies are fields; binary file parts are skipped."""
        data = (
            b"--XX\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nhello <b>\r\n"
            b"--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n\x89PNG\x00\x01\r\n--XX--\r\n"
        )
        fields = _pairs(body_fields(Body(data, "multipart/form-data; boundary=XX"), Direction.REQUEST))
        assert ("request.body.$.comment", "hello <b>", False) in fields
        assert not any(loc.endswith(".f") for loc, _, _ in fields)

    def test_binary_body_is_skipped(self) -> None:
        """An image body yields no field."""
        assert list(body_fields(Body(b"\x89PNG\x00", "image/png"), Direction.RESPONSE)) == []


class TestExchangeFields:
    def test_sources_and_locations(self) -> None:
        """Path segments, query pairs, headers and cookies come with contract locations."""
        exchange = make_exchange(
            "https://h/api/users/%2e%2e?id=7",
            headers=[("User-Agent", "curl"), ("Authorization", "Bearer x"), ("Cookie", "sid=abc; t=1")],
            response_headers={"Server": "nginx"},
        )
        fields = list(exchange_fields(exchange))
        located = {(f.source, f.location, f.text) for f in fields if not f.is_key}
        assert (Source.PATH, "request.path", "..") in located
        assert (Source.QUERY, "request.query.id", "7") in located
        assert (Source.HEADER, "request.header.user-agent", "curl") in located
        assert (Source.COOKIE, "request.cookie.sid", "abc") in located
        assert (Source.HEADER, "response.header.server", "nginx") in located
        assert not any(f.location == "request.header.authorization" for f in fields)

    def test_path_segment_offsets_point_into_decoded_path(self) -> None:
        """A segment's offset is where it starts in the decoded path."""
        segments = [f for f in exchange_fields(make_exchange("https://h/a/b%40c")) if f.source is Source.PATH]
        decoded = "/a/b@c"
        assert [(decoded[f.offset:f.offset + len(f.text)]) for f in segments] == ["a", "b@c"]

    def test_malformed_cookie_header_is_tolerated(self) -> None:
        """A cookie header with an unterminated quote is still split into pairs."""
        assert ("a", "1") in parse_cookies(['a=1; b="unterminated; c'])
