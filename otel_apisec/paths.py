"""Path segments: which ones address an object, and the route template a raw path belongs to.

Paths are attacker input: only plain string operations here, each linear in the input and bounded
in the work done. The correlators key per-endpoint state by `route_template`; the estate starts its
route inference from it; the posture checks key their per-endpoint cache by it.
"""

from __future__ import annotations

import functools
import hashlib

__all__ = [
    "ID_PLACEHOLDER",
    "MAX_INT_DIGITS",
    "is_date",
    "is_mixed_id",
    "is_object_id",
    "is_variable_segment",
    "is_version",
    "normalize_id",
    "route_template",
]

ID_PLACEHOLDER = "{id}"
_HEX = frozenset("0123456789abcdefABCDEF")
_CROCKFORD = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz")
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_MAX_SEGMENT = 128
"""Longer segments are not identifiers (and are not worth scanning)."""
MAX_INT_DIGITS = 20
_MIN_HEX = 16
"""Hex strings from this length on (ObjectId is 24, SHA-1 40) vary per object; shorter ones
are too often words (`cafe`, `deadbeef`) or versions."""
_MIN_OPAQUE = 20
_TOKEN_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.~+=%")
_MAX_TEMPLATE = 200
"""Route templates are state keys: a longer one is cut and suffixed with a digest of the whole."""


def _is_hex_id(text: str) -> bool:
    bare = text.replace("-", "") if "-" in text else text
    return len(bare) >= _MIN_HEX and all(c in _HEX for c in bare) and any(c.isdigit() for c in bare)


def _is_uuid(text: str) -> bool:
    return (
        len(text) == 36
        and text[8] == text[13] == text[18] == text[23] == "-"
        and all(c in _HEX for c in text.replace("-", ""))
    )


def _is_ulid(text: str) -> bool:
    # A ULID's first character encodes the top of a 48-bit millisecond timestamp: always 0-7,
    # so a 26-letter word never passes.
    return len(text) == 26 and text[0] in "01234567" and all(c in _CROCKFORD for c in text)


def _is_prefixed_id(text: str) -> bool:
    """Stripe-style `cus_NffrFeUfNV2Hib`: a short lower-case type prefix, `_`, 14+ alphanumerics
    with at least one digit."""
    prefix, sep, rest = text.partition("_")
    return (
        bool(sep)
        and 2 <= len(prefix) <= 8
        and prefix.isascii()
        and prefix.isalpha()
        and prefix.islower()
        and len(rest) >= 14
        and all(c in _ALNUM for c in rest)
        and any(c.isdigit() for c in rest)
    )


_MIN_DIGEST_HEX = 32
"""Hex characters of an algorithm-prefixed digest (MD5 is 32, SHA-256 64)."""


def _is_prefixed_digest(text: str) -> bool:
    """An algorithm-prefixed content digest, `sha256:9f86d0…` (OCI, Docker, attestations):
    a short alphanumeric algorithm name, `:`, 32+ hex characters."""
    algorithm, sep, digest = text.partition(":")
    return (
        bool(sep)
        and 1 <= len(algorithm) <= 16
        and algorithm.isalnum()
        and len(digest) >= _MIN_DIGEST_HEX
        and all(c in _HEX for c in digest)
    )


def is_object_id(segment: str) -> bool:
    """Integers, UUIDs, hex strings of 16+ characters (Mongo ObjectId, hashes), algorithm-prefixed
    digests (`sha256:…`), ULIDs and prefixed IDs (`cus_…`): the parts of a path that vary per
    object. `v1`, `me`, dates and slugs are not."""
    if not segment or len(segment) > _MAX_SEGMENT or not segment.isascii():
        return False
    if segment.isdigit():
        return len(segment) <= MAX_INT_DIGITS
    return (
        _is_uuid(segment)
        or _is_hex_id(segment)
        or _is_prefixed_digest(segment)
        or _is_ulid(segment)
        or _is_prefixed_id(segment)
    )


def normalize_id(text: str) -> str:
    """One spelling per identifier, so `/users/0042` matches `"id": 42` and UUIDs match in any case."""
    if text.isdigit():
        return text.lstrip("0") or "0"
    return text.lower() if text.isascii() and (_is_uuid(text) or _is_hex_id(text) or _is_ulid(text)) else text


def _is_opaque(segment: str) -> bool:
    """A long token-like segment (magic-link token, API key, JWT, base64): letters and digits
    mixed, 20+ characters of a URL-safe alphabet. Kept out of templates, which end up in state
    keys and alerts, so a credential in a path never does."""
    return (
        len(segment) >= _MIN_OPAQUE
        and all(c in _TOKEN_CHARS for c in segment)
        and any(c.isdigit() for c in segment)
        and any(c.isalpha() for c in segment)
    )


def _is_personal(segment: str) -> bool:
    """An email (`@`, also percent-encoded) or a run of digits as long as a phone, card or national
    number (7+, an ISO date aside): personal data, kept out of templates, which become metric labels."""
    if "@" in segment or "%40" in segment:
        return True
    digits = sum(c.isdigit() for c in segment)
    return digits >= 7 and not (len(segment) == 10 and segment[4] == segment[7] == "-" and digits == 8)


_MIN_MIXED = 5
"""A letters-and-digits token shorter than this is a word (`i18n`, `a11y`, `s3`, `k8s`)."""
_TOKEN_SEPARATORS = "-_.~"
_VERSION_SUFFIXES = ("alpha", "beta", "rc")


def _alnum_runs(token: str) -> tuple[int, int]:
    """(letter/digit runs, digits) of an ASCII alphanumeric token: `a1b2` is (4, 2), `sha256` (2, 3)."""
    runs, digits, previous = 0, 0, None
    for c in token:
        kind = c.isdigit()
        digits += kind
        if kind is not previous:
            runs += 1
            previous = kind
    return runs, digits


def is_version(segment: str) -> bool:
    """`v1`, `v2.0`, `v2beta1`, `v1alpha2`, `v10rc1`: API versions, literals of every router."""
    if len(segment) < 2 or segment[0] not in "vV" or not segment[1].isdigit():
        return False
    rest = segment[1:].lstrip("0123456789.")
    for suffix in _VERSION_SUFFIXES:
        if rest.startswith(suffix):
            rest = rest[len(suffix):].lstrip("0123456789")
            break
    return rest == ""


def _is_mixed_token(token: str) -> bool:
    if len(token) < _MIN_MIXED or not token.isascii() or not token.isalnum() or is_version(token):
        return False
    runs, digits = _alnum_runs(token)
    if digits == 0 or digits == len(token):
        return False
    # Letters and digits interleaved (`a1b2c3d4`, `8f3k2`, `x7k2p`) vary per object; one
    # letters+digits pair is a word with a number (`sha256`, `iso8601`, `oauth2`, `user42`)
    # unless the number is long (`ORD12345`).
    return (runs >= 3 and digits >= 2) or (runs == 2 and digits >= 5)


def is_mixed_id(segment: str) -> bool:
    """A segment with a token of interleaved letters and digits: `a1b2c3d4`, `ord_8f3k2`,
    `hello-world-x7k2p`, `INV20240`. Versions (`v2beta1`) and word+number tokens (`sha256`,
    `oauth2`, `i18n`) are not."""
    if not segment or len(segment) > _MAX_SEGMENT or not segment.isascii():
        return False
    token: list[str] = []
    for c in segment + "-":
        if c in _TOKEN_SEPARATORS:
            if token and _is_mixed_token("".join(token)):
                return True
            token = []
        else:
            token.append(c)
    return False


def is_date(segment: str) -> bool:
    """An ISO calendar date, `2024-05-17`: a value, never a route literal worth keeping."""
    return (
        len(segment) == 10
        and segment[4] == segment[7] == "-"
        and segment[:4].isdigit()
        and segment[5:7].isdigit()
        and segment[8:].isdigit()
        and segment.isascii()
        and 1 <= int(segment[5:7]) <= 12
        and 1 <= int(segment[8:]) <= 31
    )


def is_variable_segment(segment: str) -> bool:
    """A segment that is a value on sight: an object ID (`is_object_id`), a mixed alphanumeric ID,
    a date, a token-like string or personal data (email, long digit run). String values (user
    names, slugs) are not: only several of them side by side tell them from literals."""
    return (
        is_object_id(segment)
        or is_mixed_id(segment)
        or is_date(segment)
        or _is_opaque(segment)
        or _is_personal(segment)
    )


@functools.lru_cache(maxsize=4096)
def route_template(route_or_path: str) -> str:
    """The route with identifier, token-like and personal segments replaced by `{id}` (a real
    template stays as it is); bounded in length so it can serve as a state key."""
    head, _, _ = route_or_path.partition("?")
    segments = head.split("/")
    template = "/".join(
        ID_PLACEHOLDER if is_object_id(s) or _is_opaque(s) or _is_personal(s) else s for s in segments
    ) or "/"
    if len(template) > _MAX_TEMPLATE:
        digest = hashlib.blake2b(template.encode("utf-8", "replace"), digest_size=8).hexdigest()
        template = f"{template[:_MAX_TEMPLATE]}…{digest}"
    return template
