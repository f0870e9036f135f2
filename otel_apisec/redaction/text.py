"""Detected PII and secrets masked in texts of any length: the one detection entry point for free
text that the gateway's `apisec/redact` processor and the in-process log exporter share.

- Every character is scanned, whatever the text's length: a long text is cut into windows of
  `window` characters that overlap by `overlap`, so a value up to `overlap` long that straddles
  one window's edge lies whole in the next. Cost: linear in the text (the detectors bound their
  work per window).
- A text with percent-escapes of printable ASCII (`alice%40example.com`) or a form-encoded query
  (`q=4111+1111+...`) is also scanned decoded, and each finding there is mapped back onto the raw
  text, so the encoded form is masked too.
- A finding masks exactly the characters it spans, raw or encoded; nothing else moves. Windows go
  to the detectors as plain texts (`Analyzer.scan_texts`), and each finding comes back with the
  index of its window, so it maps back to its own text.
- Many short texts share one analysis (the detectors' fixed cost is paid once per chunk), and
  short texts found clean are remembered (user agents, routes, content types repeat).
- Fails closed: when a chunk's analysis is incomplete (a detector raised, findings were
  dropped), each of its texts is masked whole.

Bound: a detector validates at most `pii_shapes.MAX_CANDIDATES` candidates of one shape per
window, so a window packed with more look-alikes (vetoed emails, Luhn-failing cards) than that
before a real value leaves the value unchecked.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from otel_apisec import attributes as A
from otel_apisec.detect import Analyzer
from otel_apisec.redaction.rules import Spans, masked, percent_decoded, raw_spans

__all__ = ["ValueMasker"]


@dataclass(frozen=True, slots=True)
class _Piece:
    """One window of one text, as the detectors see it."""

    text: int
    """Index of the distinct text this window belongs to."""
    start: int
    """Raw offset of the window in that text."""
    scanned: str
    marks: list[int] | None
    """Decoded offsets of percent-escapes (`percent_decoded`), or None: scanned as is."""

    def raw_spans(self, spans: Spans) -> Spans:
        return raw_spans(spans, self.marks or [], self.start)


class ValueMasker:
    """Masks what the PII and secret detectors find in texts; thread-safe, built once.

    `analyzer` should run the `pii` and `secrets` detectors with a large `max_findings` (a
    dropped finding makes its chunk be masked whole)."""

    def __init__(
        self,
        analyzer: Analyzer,
        *,
        window: int = 64 << 10,
        overlap: int = 4 << 10,
        chunk_texts: int = 256,
        chunk_chars: int = 256 << 10,
        clean_cache_size: int = 16384,
        clean_cache_max_chars: int = 256,
    ) -> None:
        if not 0 <= overlap < window:
            raise ValueError(f"overlap {overlap} must be at least 0 and below the window {window}")
        self.analyzer = analyzer
        self.window = window
        self.overlap = overlap
        self._chunk_texts = chunk_texts
        self._chunk_chars = chunk_chars
        self._clean_size = clean_cache_size
        self._clean_max = clean_cache_max_chars
        self.clean: dict[str, None] = {}
        """Short texts found clean by a complete analysis: each text is scanned as its own field,
        so the verdict holds wherever it turns up again."""
        self._lock = threading.Lock()  # one analysis at a time: an Analyzer keeps scratch state

    def mask(self, texts: Sequence[str]) -> list[str]:
        """`texts` with every detected value replaced by `***`, in order (unchanged texts are
        returned as given)."""
        distinct: dict[str, int] = {}
        for text in texts:
            if text and text not in self.clean and text != A.REDACTED:
                distinct.setdefault(text, len(distinct))
        if not distinct:
            return list(texts)
        order = list(distinct)
        spans: list[Spans] = [[] for _ in order]
        whole = [False] * len(order)
        pieces = [piece for index, text in enumerate(order) for piece in self._pieces(index, text)]
        for chunk in self._chunks(pieces):
            self._scan(chunk, spans, whole)
        done: dict[str, str] = {}
        for index, text in enumerate(order):
            if whole[index]:
                done[text] = A.REDACTED
            elif spans[index]:
                done[text] = masked(text, spans[index])
            elif len(text) <= self._clean_max:
                self._remember_clean(text)
        return [done.get(text, text) for text in texts]

    def _pieces(self, index: int, text: str) -> list[_Piece]:
        step = self.window - self.overlap
        pieces = []
        start = 0
        while True:
            end = min(start + self.window, len(text))
            raw = text[start:end]
            pieces.append(_Piece(index, start, raw, None))
            decoded = percent_decoded(raw)
            if decoded is not None:  # both forms: decoding can also break a raw match (`user%40corp:pw@host`)
                pieces.append(_Piece(index, start, *decoded))
            if end == len(text):
                return pieces
            start += step

    def _chunks(self, pieces: list[_Piece]) -> list[list[_Piece]]:
        chunks: list[list[_Piece]] = []
        current: list[_Piece] = []
        chars = 0
        for piece in pieces:
            if current and (len(current) >= self._chunk_texts or chars + len(piece.scanned) > self._chunk_chars):
                chunks.append(current)
                current, chars = [], 0
            current.append(piece)
            chars += len(piece.scanned)
        if current:
            chunks.append(current)
        return chunks

    def _scan(self, chunk: list[_Piece], spans: list[Spans], whole: list[bool]) -> None:
        with self._lock:
            scan = self.analyzer.scan_texts([piece.scanned for piece in chunk])
        if not scan.complete:
            for piece in chunk:
                whole[piece.text] = True
            return
        for number, found in scan.spans:
            piece = chunk[number]
            spans[piece.text].extend(piece.raw_spans(list(found)))

    def _remember_clean(self, text: str) -> None:
        if len(self.clean) >= self._clean_size:
            self.clean.clear()  # texts come from clients: bound what they make us keep
        self.clean[text] = None

