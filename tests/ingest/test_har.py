"""HAR ingest: one entry to `HttpExchange`, and whole inputs (HAR documents, JSONL) to entries."""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime, timezone

import pytest

from otel_apisec.ingest import har
from otel_apisec.ingest.har import Entry, EntryError, HarError, HarReader, NotHarError, exchange_from_entry


def _entry(url: str = "https://api.example.com/items?page=2", **extra: object) -> dict:
    entry: dict = {
        "startedDateTime": "2024-05-01T10:00:00.000Z",
        "time": 12.5,
        "request": {"method": "get", "url": url, "headers": [], "cookies": []},
        "response": {"status": 200, "headers": [], "content": {"mimeType": "application/json", "text": "{}"}},
        "serverIPAddress": "192.0.2.10",
    }
    entry.update(extra)
    return entry


def _reader(data: bytes) -> HarReader:
    return HarReader(io.BytesIO(data))


class TestExchangeFromEntry:
    def test_url_parts_and_query(self) -> None:
        """Method, scheme, host, path and decoded query come from request.url."""
        ex = exchange_from_entry(_entry("HTTPS://user:pw@api.example.com:8443/a%20b/c?q=%27x%27&q=2&e="))
        assert (ex.method, ex.scheme, ex.host) == ("GET", "https", "api.example.com:8443")
        assert ex.path == "/a%20b/c"
        assert ex.query == (("q", "'x'"), ("q", "2"), ("e", ""))

    def test_query_string_fallback(self) -> None:
        """HAR queryString is used when the URL carries no query."""
        entry = _entry("https://api.example.com/s")
        entry["request"]["queryString"] = [{"name": "q", "value": "shoes"}, {"name": "n", "value": 3}]
        assert exchange_from_entry(entry).query == (("q", "shoes"), ("n", "3"))

    def test_multi_valued_headers_kept(self) -> None:
        """Repeated request and response headers all survive, in order; HTTP/2 pseudo-headers do not."""
        entry = _entry()
        entry["request"]["headers"] = [{"name": ":authority", "value": "api.example.com"},
                                       {"name": "Accept", "value": "a"}, {"name": "accept", "value": "b"}]
        entry["response"]["headers"] = [{"name": "Set-Cookie", "value": "a=1"},
                                        {"name": "Set-Cookie", "value": "b=2"}]
        ex = exchange_from_entry(entry)
        assert ex.request_headers.get_all("accept") == ["a", "b"]
        assert ":authority" not in ex.request_headers
        assert ex.response_headers.get_all("set-cookie") == ["a=1", "b=2"]

    def test_request_cookies(self) -> None:
        """HAR request.cookies become the exchange's cookie pairs."""
        entry = _entry()
        entry["request"]["cookies"] = [{"name": "session", "value": "abc"},
                                       {"name": "theme", "value": "dark"}]
        assert exchange_from_entry(entry).cookies == (("session", "abc"), ("theme", "dark"))

    def test_response_cookies_become_set_cookie_when_headers_lack_it(self) -> None:
        """Exports that strip Set-Cookie headers still show cookie flags to the posture checks."""
        entry = _entry()
        entry["response"]["cookies"] = [{"name": "sid", "value": "x", "path": "/", "httpOnly": True,
                                         "secure": False}]
        headers = exchange_from_entry(entry).response_headers
        assert headers.get_all("set-cookie") == ["sid=x; Path=/; HttpOnly"]

    def test_post_data_text(self) -> None:
        """postData text and mimeType become the request body."""
        entry = _entry(method="POST")
        entry["request"]["postData"] = {"mimeType": "application/json", "text": '{"a": "é"}'}
        body = exchange_from_entry(entry).request_body
        assert body is not None and body.data == '{"a": "é"}'.encode()
        assert body.media_type == "application/json"

    def test_post_data_params_when_text_absent(self) -> None:
        """Form params (without file parts) are re-encoded as a urlencoded body."""
        entry = _entry()
        entry["request"]["postData"] = {"mimeType": "multipart/form-data", "params": [
            {"name": "user", "value": "a b"}, {"name": "file", "fileName": "x.png", "value": "\x89PNG"}]}
        body = exchange_from_entry(entry).request_body
        assert body is not None
        assert (body.data, body.content_type) == (b"user=a+b", "application/x-www-form-urlencoded")

    def test_base64_response_decoded(self) -> None:
        """`encoding: base64` content is decoded; binary stays bytes for the detectors to skip."""
        png = b"\x89PNG\r\n\x1a\n\x00\x00binary"
        entry = _entry()
        entry["response"]["content"] = {"mimeType": "image/png", "encoding": "base64",
                                        "text": base64.b64encode(png).decode()}
        body = exchange_from_entry(entry).response_body
        assert body is not None and body.data == png and body.media_type == "image/png"

    def test_base64_json_decoded(self) -> None:
        """A base64 JSON body comes out as the JSON text."""
        entry = _entry()
        entry["response"]["content"] = {"mimeType": "application/json", "encoding": "base64",
                                        "text": base64.b64encode(b'{"email": "a@b.example"}').decode()}
        assert exchange_from_entry(entry).response_body.data == b'{"email": "a@b.example"}'

    def test_invalid_base64_is_an_entry_error(self) -> None:
        """Content that claims base64 but is not raises a one-line HarError."""
        entry = _entry()
        entry["response"]["content"] = {"mimeType": "image/png", "encoding": "base64", "text": "abc"}
        with pytest.raises(HarError, match="base64"):
            exchange_from_entry(entry)

    def test_content_type_falls_back_to_header(self) -> None:
        """Without content.mimeType the Content-Type header names the body type."""
        entry = _entry()
        entry["response"]["headers"] = [{"name": "Content-Type", "value": "text/html; charset=utf-8"}]
        entry["response"]["content"] = {"text": "<p>hi</p>"}
        assert exchange_from_entry(entry).response_body.media_type == "text/html"

    def test_status_and_timing(self) -> None:
        """Status, duration and the ISO start time (to unix seconds) are carried over."""
        ex = exchange_from_entry(_entry())
        assert ex.status == 200 and ex.duration_ms == 12.5
        assert ex.started_at == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc).timestamp()

    def test_status_zero_means_no_response(self) -> None:
        """HAR status 0 (blocked or aborted) becomes None."""
        entry = _entry()
        entry["response"]["status"] = 0
        assert exchange_from_entry(entry).status is None

    @pytest.mark.parametrize(("text", "expected"), [
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
        ("2024-05-01T10:00:00.1234567Z", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone.utc)),
        ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, tzinfo=timezone.utc)),
    ])
    def test_timestamp_variants(self, text: str, expected: datetime) -> None:
        """Offsets, 7-digit fractions and naive times (taken as UTC) all parse."""
        started = exchange_from_entry(_entry(startedDateTime=text)).started_at
        assert started == pytest.approx(expected.timestamp())

    def test_bad_timestamp_is_none(self) -> None:
        """An unreadable startedDateTime leaves started_at unset rather than failing the entry."""
        assert exchange_from_entry(_entry(startedDateTime="yesterday at noon")).started_at is None

    def test_server_ip_is_not_the_client(self) -> None:
        """serverIPAddress never becomes client_address; `_clientAddress` does."""
        assert exchange_from_entry(_entry()).client_address is None
        assert exchange_from_entry(_entry(_clientAddress="203.0.113.9")).client_address == "203.0.113.9"

    def test_max_body_bytes_truncates(self) -> None:
        """Bodies over the limit are cut and marked truncated."""
        entry = _entry()
        entry["response"]["content"]["text"] = "x" * 100
        body = exchange_from_entry(entry, max_body_bytes=10).response_body
        assert body is not None and body.data == b"x" * 10 and body.truncated

    @pytest.mark.parametrize(("entry", "message"), [
        ({"response": {}}, "no request"),
        ({"request": {"method": "GET"}}, "no url"),
        ({"request": {"url": "http://[::1/x"}}, "url cannot be parsed"),
        ([1, 2], "not an object"),
    ])
    def test_unreadable_entries(self, entry: object, message: str) -> None:
        """Entries without request/url raise HarError with a one-line message."""
        with pytest.raises(HarError, match=message) as info:
            exchange_from_entry(entry)
        assert "\n" not in str(info.value)


class TestHarReader:
    def test_pretty_printed_document(self) -> None:
        """A multi-line HAR document is read whole; entries come out in order with no line numbers."""
        entries = [_entry(), {"nope": 1}, _entry("https://h.example/b")]
        doc = json.dumps({"log": {"entries": entries}}, indent=2)
        reader = _reader(doc.encode())
        items = list(reader)
        assert reader.format == "har" and reader.total == 3
        assert [type(i) for i in items] == [Entry, EntryError, Entry]
        assert items[1] == EntryError(1, None, "entry has no request object")
        assert items[2].exchange.path == "/b"

    def test_byte_order_mark(self) -> None:
        """A UTF-8 BOM before the document (Windows exports) is ignored."""
        reader = _reader(b"\xef\xbb\xbf" + json.dumps({"log": {"entries": [_entry()]}}, indent=1).encode())
        assert reader.format == "har" and len(list(reader)) == 1

    def test_single_line_document(self) -> None:
        """A minified HAR on one line is a document, not JSONL."""
        reader = _reader(json.dumps({"log": {"entries": [_entry()]}}).encode())
        assert reader.format == "har" and len(list(reader)) == 1

    def test_jsonl_indices_and_line_numbers(self) -> None:
        """JSONL entries are indexed 0.. in order; blank lines are skipped but counted as lines."""
        lines = [json.dumps(_entry()), "", '{"request": {"url": "https://h.example/x"', json.dumps(_entry())]
        items = list(_reader("\n".join(lines).encode() + b"\n"))
        assert [(i.index, i.line) for i in items] == [(0, 1), (1, 3), (2, 4)]
        assert isinstance(items[1], EntryError) and "invalid JSON" in items[1].message
        assert items[1].describe().startswith("entry 1 (line 3): invalid JSON")

    def test_jsonl_with_broken_first_line(self) -> None:
        """A JSONL file whose first line is cut is still JSONL when the second line is an entry."""
        data = b'{"request": {"url": \n' + json.dumps(_entry()).encode() + b"\n"
        reader = _reader(data)
        assert reader.format == "jsonl"
        assert [type(i) for i in reader] == [EntryError, Entry]

    def test_invalid_utf8_line(self) -> None:
        """A line with invalid UTF-8 is one entry error; the next line is still read."""
        data = b'{"request": {"url": "https://h.example/\xff"}}\n' + json.dumps(_entry()).encode()
        items = list(_reader(data))
        assert isinstance(items[0], EntryError) and "UTF-8" in items[0].message
        assert isinstance(items[1], Entry)

    def test_huge_line_skipped_without_holding_it(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A line over the cap is drained and reported; reading resumes at the next line."""
        monkeypatch.setattr(har, "MAX_LINE_BYTES", 1000)
        monkeypatch.setattr(har, "_CHUNK", 100)
        big = json.dumps(_entry("https://h.example/" + "a" * 5000)).encode()
        data = json.dumps(_entry()).encode() + b"\n" + big + b"\n" + json.dumps(_entry()).encode() + b"\n"
        items = list(_reader(data))
        assert [type(i) for i in items] == [Entry, EntryError, Entry]
        assert "longer than" in items[1].message and items[1].line == 2
        assert items[2].line == 3

    @pytest.mark.parametrize(("data", "message"), [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b'{"foo": 1}', "no log.entries"),
        (b'{\n  "foo": {"log": 1}\n}\n', "no log.entries"),
        (b'{"log": {"entries": {}}}', "no log.entries"),
        (b"[1, 2, 3]", "log.entries"),
        (b"id,method,url\n1,GET,https://h.example/\n", "not a HAR file"),
        (b'{\n  "log": {\n    "entries": [\n      {"request": ', "not a HAR file"),
        (bytes(range(256)) * 4, "not a HAR file"),
    ])
    def test_not_har(self, data: bytes, message: str) -> None:
        """Inputs that are neither HAR nor JSONL raise NotHarError with a one-line reason."""
        with pytest.raises(NotHarError, match=message) as info:
            _reader(data)
        assert "\n" not in str(info.value)


class TestOddShapes:
    @pytest.mark.parametrize("params", [-1, "a=b", {"name": "x"}, [1, None, {"value": "v"}]])
    def test_post_params_of_the_wrong_type_are_ignored(self, params: object) -> None:
        """A postData.params that is not a list of name/value objects yields no body, not an error."""
        entry = {"request": {"method": "POST", "url": "https://a/b", "postData": {"params": params}}}
        assert exchange_from_entry(entry).request_body is None
