"""Path traversal and local file inclusion: `../` climbs (any slash, any encoding), absolute
paths to well-known sensitive files, and PHP/Java stream wrappers."""

from __future__ import annotations

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

_SENSITIVE = (
    r"etc[/\\](passwd|shadow|group|hosts|issue|motd|fstab|crontab|sudoers|hostname|resolv\.conf|mtab|inittab|httpd|apache2?|nginx|php|mysql|my\.cnf|ssh|ssl|profile|bashrc|environment|security|master\.passwd)"
    r"|proc[/\\](self|version|cpuinfo|meminfo|mounts|net|\d+)[/\\]?"
    r"|var[/\\](log|www|lib|mail|spool|run|adm)[/\\]|usr[/\\]local[/\\](apache|etc|cpanel|www|php|nginx)"
    r"|(root|home[/\\][^/\\]{1,64})[/\\]\.(ssh|bash_history|aws|docker|kube|gnupg)"
    r"|(apache2?|httpd|nginx|xampp|inetpub|wamp)[/\\](logs?|conf|wwwroot)"
    r"|(win(dows|nt)|system32|boot\.ini|win\.ini|system\.ini|repair[/\\]sa[mn])"
    r"|web-inf[/\\](web|applicationcontext|struts)|\.htpasswd|\.htaccess|php\.ini|httpd\.conf|my\.cnf|wp-config\.php|id_rsa|authorized_keys"
)
TRIGGERS: tuple[Trigger, ...] = (
    Trigger(r"\.\.+[/\\]|[/\\]\.\.+(\s|$|[/\\;?%\"'])", caseless=False),
    Trigger(r"\.\.(%|2f|5c|0x|%u|\\\\u)", caseless=True),
    Trigger(r"(^|\n|[/\\:=\"'])(" + _SENSITIVE + r")", caseless=True),
    Trigger(r"\b(file|php|zip|phar|expect|glob|data|jar|netdoc|compress\.zlib)://", caseless=True),
)

_CLIMB = re2.compile(r"(^|[/\\;=:]|\x00)\.{2,}[/\\]|[/\\]\.{2,}([/\\;?#]|$)|^\.\.$|\.\.\\\\|\.\.2f|\.\.5c")
_FILE = re2.compile(r"(?i)(^|[/\\:=\x00]|^[a-z]:)(" + _SENSITIVE + r")")
_ABSOLUTE = re2.compile(r"(?i)^\s*(\x00)?([/\\]|[a-z]:[/\\]|file:)")
_WRAPPER = re2.compile(r"(?i)\b(php://(filter|input|fd|memory|temp)|zip://|phar://|expect://|glob://|jar:(file|https?):|netdoc:|compress\.zlib://|file://)")


def check(view: View) -> str | None:
    """A message when the field climbs out of a directory or names a sensitive file."""
    text = view.decoded
    if _CLIMB.search(text):
        return "Directory climb (../) in a path or file parameter"
    if _WRAPPER.search(text):
        return "Stream wrapper or file URL (local file inclusion)"
    if not view.in_path and _FILE.search(text) and _ABSOLUTE.search(text):
        return "Absolute path to a sensitive system file"
    return None
