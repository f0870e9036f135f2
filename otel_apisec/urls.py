"""The URLs senders deliver to: one safe form for logs, one rule for credentials in them.

Plain functions over strings, no I/O, so that both the HTTP senders (`otel_apisec.delivery`,
which re-exports them) and the Redis state store of the correlators can use them.

The safe form (`safe_url`) is `scheme://host[:port]`, never the userinfo, query or fragment, and
the path only when the caller says it holds no secret (a Redis database number, a socket path):
a Slack or Sumo Logic webhook keeps its secret in the path, and tokens ride in queries.

The rule for credentials: userinfo in a URL (`https://user:password@host/`) is sent as
`Authorization: Basic`, as curl, browsers and Go's net/http (so the Collector's HTTP exporters)
do, and as a Redis URL's userinfo is its AUTH. Given together with an `Authorization` header it is
refused (which one was meant?). Either way it is never logged: only the safe form is.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

__all__ = ["Endpoint", "parse_endpoint", "safe_url", "with_credentials"]

_NO_HOST = "(no scheme://host)"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TLS_SCHEMES = frozenset({"https", "grpcs"})
_SAFE_CHARS = "!$&'()*+,-./:;=@[]_~%"  # kept as they are; control characters and spaces are escaped (no log injection)


def safe_url(url: str, keep_path: bool = False) -> str:
    """`scheme://host[:port]` (plus the path with `keep_path`), fit for logs and error messages.
    Total: a URL that does not parse still gives a string, and nothing after the host leaks."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an invalid IPv6 literal, say
        return "(unparseable URL)"
    host = parts.netloc.rpartition("@")[2]
    name, colon, port = host.rpartition(":")
    if port and colon and not host.endswith("]") and not port.isdigit():
        host = f"{name}:(bad-port)"  # `https://user:secret/...` without the `@host`: not a port, maybe a secret
    authority = bool(parts.scheme) and url.strip().lower().startswith(f"{parts.scheme}://")
    if not authority or not (host or keep_path and parts.path):
        # `hooks.slack.com/services/...` or `user:pw@host:6379`: without `scheme://` the parts
        # are not what they seem (the user would be the scheme, the password the path).
        return _NO_HOST
    shown = f"{parts.scheme}://{host}" + (parts.path if keep_path else "")
    return quote(shown, safe=_SAFE_CHARS)


@dataclass(frozen=True)
class Endpoint:
    """A checked URL, split for a connection."""

    scheme: str
    host: str
    """Without IPv6 brackets (as `http.client` wants it)."""
    port: int
    target: str
    """The path (at least `/`) and the query: the request target."""
    authorization: str | None
    """`Basic ...` from the URL's userinfo, or None."""
    safe: str
    """`safe_url` of the URL: the only form of it that is logged."""

    @property
    def tls(self) -> bool:
        return self.scheme in _TLS_SCHEMES

    @property
    def authority(self) -> str:
        """`host:port`, IPv6 in brackets (a gRPC target)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_endpoint(url: str, what: str, schemes: tuple[str, ...] = ("http", "https"),
                   default_port: int | None = None, tls_options: bool = False) -> Endpoint:
    """`url` checked and split, or ValueError naming `what` and showing only the safe form.
    `default_port`: the port when the URL has none (else 80 for http, 443 for https);
    `tls_options`: the caller was given TLS files, which only a TLS scheme can use."""
    if not isinstance(url, str):
        raise ValueError(f"{what}: expected a URL string, not {type(url).__name__}")
    safe = safe_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(f"{what} {safe!r}: bad port (expected a number in 1-65535)") from None
    if parts.scheme not in schemes:
        raise ValueError(f"{what} {safe!r}: scheme must be {' or '.join(schemes)} ({schemes[0]}://host[:port]/...)")
    if not parts.hostname:
        raise ValueError(f"{what} {safe!r}: no host")
    if port is None:
        port = default_port or _DEFAULT_PORTS.get(parts.scheme)
    if not port:  # `:0`, or a scheme without a default
        raise ValueError(f"{what} {safe!r}: bad port (expected a number in 1-65535)")
    if tls_options and parts.scheme not in _TLS_SCHEMES:
        raise ValueError(f"{what} {safe!r}: TLS options (ca_file, cert_file, key_file) need an https URL")
    authorization = None
    if parts.username:  # `https://@host` (empty userinfo) carries nothing
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode("ascii")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Endpoint(parts.scheme, parts.hostname, port, target, authorization, safe)


def with_credentials(headers: Mapping[str, str], endpoint: Endpoint, what: str) -> dict[str, str]:
    """`headers` plus the URL's credentials as `Authorization`; refused when both carry some."""
    merged = dict(headers)
    if endpoint.authorization is None:
        return merged
    if any(name.lower() == "authorization" for name in merged):
        raise ValueError(f"{what} {endpoint.safe!r}: credentials both in the URL (user:password@) and in an "
                         f"Authorization header; keep one")
    merged["Authorization"] = endpoint.authorization
    return merged
