"""Server-side request forgery: URLs whose host is loopback, private, link-local or a cloud
metadata endpoint, in any spelling an URL parser accepts (decimal, hex, octal, short forms,
IPv6 and IPv4-mapped IPv6), plus protocol-smuggling schemes (gopher, dict)."""

from __future__ import annotations

import ipaddress

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check", "internal_host"]

_HOST_HINT = (
    r"(127\.|0x|0[0-7]*\.|localhost|169\.254|metadata|instance-data|\[|10\.|192\.168\.|"
    r"172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|"
    r"12[0-7])\.)"
)
# Led by the authority start (`//`, `\\`, mixed, or userinfo `@`) right before the host, or by
# an internal-only name suffix; no unbounded gap, so `//` in ordinary URLs costs one check.
_AUTHORITY = r"([/\\][/\\]|@)"
TRIGGERS: tuple[Trigger, ...] = (
    Trigger(_AUTHORITY + _HOST_HINT, caseless=True),
    Trigger(_AUTHORITY + r"[\d.]+([/:?#\\\"'\s\]]|$|\xff)"),
    Trigger(r"\.internal|\.local\b|\.localdomain|nip\.io|xip\.io|sslip\.io|localtest\.me|lvh\.me|"
            r"kubernetes\.default|localhost|metadata\.google", caseless=True),
    Trigger(r"\b(gopher|dict|ldap|tftp|netdoc)://", caseless=True),
)

_URL = re2.compile(r"(?i)(?:\b([a-z][a-z0-9+.-]{1,15}):)?(?://|\\\\|/\\|\\/)([^/?#\s\\]{1,300})")
_SMUGGLING = frozenset({"gopher", "dict", "tftp", "netdoc"})
_INTERNAL_NAMES = frozenset({
    "localhost", "metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal",
    "metadata.azure.com", "kubernetes.default", "kubernetes.default.svc", "localtest.me", "lvh.me",
})
_INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".localtest.me", ".lvh.me",
                      ".svc.cluster.local")
_WILDCARD_DNS = (".nip.io", ".xip.io", ".sslip.io")
_MAX_URLS = 256
"""URLs examined per text: real requests carry a few; floods of `http://` are padding."""
_METADATA_IPS = frozenset({"169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254"})
# Explicit ranges: `is_private` also covers documentation nets (203.0.113.0/24), which are public.
_PRIVATE = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7",
))


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """IPv4 the way inet_aton (and curl, browsers) read it: 1 to 4 parts, each decimal, 0x hex
    or 0-led octal, the last part filling the remaining bytes (`127.1`, `2130706433`)."""
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        if not part or len(part) > 12:
            return None
        lower = part.lower()
        try:
            if lower.startswith("0x"):
                values.append(int(lower[2:] or "0", 16))
            elif len(lower) > 1 and lower.startswith("0"):
                values.append(int(lower, 8))
            else:
                values.append(int(lower, 10))
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = 0
    for v in head:
        number = number << 8 | v
    number = number << (8 * (4 - len(head))) | last
    return ipaddress.IPv4Address(number)


def _internal_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return _internal_ip(mapped)
        if str(ip) in _METADATA_IPS:
            return "cloud metadata address"
    elif str(ip) in _METADATA_IPS:
        return "cloud metadata address"
    if ip.is_loopback or ip.is_unspecified:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if any(ip.version == net.version and ip in net for net in _PRIVATE):
        return "private network address"
    return None


def internal_host(host: str) -> str | None:
    """Why `host` (no port, no userinfo) points inside the network, or None."""
    host = host.strip().rstrip(".").lower()
    if not host or len(host) > 253:
        return None
    if host.startswith("[") and host.endswith("]"):
        try:
            return _internal_ip(ipaddress.IPv6Address(host[1:-1].split("%", 1)[0]))
        except ValueError:
            return None
    if host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES):
        return "internal or metadata host name"
    if host.endswith(_WILDCARD_DNS):  # 127.0.0.1.nip.io resolves to the embedded address
        embedded = host.rsplit(".", 3)[0]
        for start in range(len(embedded.split("."))):
            candidate = ".".join(embedded.split(".")[start:][-4:])
            ip = _inet_aton(candidate)
            if ip is not None:
                return _internal_ip(ip)
        return None
    if host[0].isdigit():
        ip = _inet_aton(host)
        return _internal_ip(ip) if ip is not None else None
    return None


def _authority_host(authority: str) -> str:
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.split(":", 1)[0]


# What `internal_host` can answer yes to: an address (digit or `[`) right after the authority
# start or userinfo, an internal name, or a smuggling scheme. One capture-free search rules
# out ordinary URLs before the capturing URL walk.
_POSSIBLE = re2.compile(
    r"(?i)(//|\\\\|/\\|\\/|@)\s*[\[\d]|localhost|metadata|instance-data|kubernetes|localtest\.me|lvh\.me"
    r"|\.internal\b|\.local(domain)?\b|nip\.io|xip\.io|sslip\.io|(gopher|dict|tftp|netdoc):"
)


def check(view: View) -> str | None:
    """A message when the field holds a URL to an internal address, else None."""
    for text in view.texts:
        if not _POSSIBLE.search(text):
            continue
        for count, match in enumerate(_URL.finditer(text)):
            if count >= _MAX_URLS:
                break
            scheme = (match.group(1) or "").lower()
            if scheme in _SMUGGLING:
                return f"URL with the {scheme} scheme (protocol smuggling)"
            if scheme in ("javascript", "data", "mailto"):
                continue
            reason = internal_host(_authority_host(match.group(2)))
            if reason is not None:
                return f"URL pointing to a {reason}"
    return None
