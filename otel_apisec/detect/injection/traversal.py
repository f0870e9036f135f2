"""Path traversal and local file inclusion: `../` climbs (any slash, any encoding), absolute
paths to well-known sensitive files, and PHP/Java stream wrappers (`php://`, `phar://`,
`data://`, `expect://`)."""

from __future__ import annotations

import base64
import binascii

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

_SENSITIVE = (
    r"etc[/\\][\w.-]+[/\\]?|(logs?|log[/\\]\w+)[/\\][\w.-]*(access|"
    r"error)[_.-]?log|\.(netrc|profile|bash_history|bashrc|git[/\\]config)\b"
    r"|etc[/\\](passwd|shadow|group|hosts|issue|motd|fstab|"
    r"crontab|sudoers|hostname|resolv\.conf|mtab|inittab|"
    r"httpd|apache2?|nginx|php|mysql|my\.cnf|ssh|ssl|profile|"
    r"bashrc|environment|security|master\.passwd)"
    r"|proc[/\\]\w+|boot[/\\](grub|loader)|root[/\\]|master\.passwd"
    r"|var[/\\](log|www|lib|mail|spool|run|adm|cron|lp|saf|lock|cpanel|backups)\b|var[/\\][\w.-]*\.log\b"
    r"|usr[/\\](spool|lib[/\\](cron|security)|local[/\\](apache|etc|cpanel|www|php|nginx))"
    r"|(root|home[/\\][^/\\]{1,64})[/\\]\.(ssh|bash_history|aws|docker|kube|gnupg)"
    r"|\.(bash_profile|bash_logout|cshrc|rhosts|shosts|sh_history|ksh_history|zsh_history|mysql_history"
    r"|xauthority|forward|logout)\b"
    r"|inetpub|program files|appserv"
    r"|(apache2?|httpd|nginx|xampp|inetpub|wamp)[/\\](logs?|conf|wwwroot)"
    r"|(win(dows|nt)|system32|boot\.ini|win\.ini|system\.ini|repair[/\\]sa[mn])"
    r"|web-inf[/\\](web|applicationcontext|struts)|\.htpasswd|"
    r"\.htaccess|php\.ini|httpd\.conf|my\.cnf|wp-config\.php|id_rsa|authorized_keys"
)
TRIGGERS: tuple[Trigger, ...] = (
    # plain literals: in `../` x 300k a pattern with a repeat or a class tail is re-run at every dot
    Trigger(r"\.\.[/\\]|[/\\]\.\."),
    Trigger(r"\.\.(%|2f|5c|0x|%u|\\\\u)|0x2e0x2e", caseless=True),
    # base64 of `../`, `/` + a lower-case name, `etc/` opening a value
    Trigger(r"(^|\xff|\")(Li4|Li5|L2|L3|ZXRjL)"),
    Trigger(r"(^|\xff|\n|[/\\:=\"'])(" + _SENSITIVE + r")", caseless=True),
    Trigger(r"\.(htpasswd|htaccess|netrc|env|git[/\\]config|aws[/\\]credentials|ssh[/\\]id_)", caseless=True),
    Trigger(r"\b(file|php|zip|phar|expect|glob|data|jar|netdoc|compress\.zlib)://", caseless=True),
)

_CLIMB = re2.compile(r"(^|[/\\;=:]|\x00)\.{2,}[/\\]|[/\\]\.{2,}([/\\;?#]|$)|^\.\.$|\.\.\\\\|\.\.2f|\.\.5c")
# `Windows` and `Program Files` are where every Windows file lives: a path into them names a
# sensitive target only when it stops at the folder itself (a listing probe); files inside them
# count through the targets above (`system32`, `win.ini`, `php.ini`, Apache logs and configs).
_FOLDER_ONLY = r"[/\\]?\s*$"
_FILE = re2.compile(r"(?i)(^|[/\\:=\x00]|^[a-z]:)(" + _SENSITIVE.replace(
    "|program files|", "|program files" + _FOLDER_ONLY + "|").replace(
    "(win(dows|nt)|", "(win(dows|nt)" + _FOLDER_ONLY + "|") + r")")
_ABSOLUTE = re2.compile(r"(?i)^\s*(\x00)?([/\\]|[a-z]:|file:)")
# Files no application serves on purpose: named anywhere, even as a relative path (`etc/passwd`).
_UNMISTAKABLE = re2.compile(r"(?i)(^|[/\\=:\x00])(etc[/\\](passwd|shadow|master\.passwd|sudoers)"
    r"|boot\.ini|win\.ini|system\.ini|\.htpasswd|id_rsa)\b")
_DOTFILE = re2.compile(r"(?i)(^|[/\\])\.(htpasswd|htaccess|netrc|git[/\\]config|"
    r"env|aws[/\\]credentials|ssh[/\\]id_\w+)\s*$")
_WRAPPER = re2.compile(r"(?i)\b(php://(filter|input|fd|memory|temp)|zip://|phar://|"
    r"expect://|glob://|jar:(file|https?):|netdoc:|compress\.zlib://|file://|data://(text|application)/)")


# Slash look-alikes that IIS and some decoders map to real separators, and `0x2e`-style hex.
_SLASHES = str.maketrans({"\u2215": "/", "\u2044": "/", "\uefc8": "/", "\uf025": "/", "\u2216": "\\",
                          "\ufe68": "\\"})
_BASE64 = re2.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def _fold(text: str) -> str:
    if not text.isascii():
        text = text.translate(_SLASHES)
    if "0x" in text or "0X" in text:
        text = text.lower().replace("0x2e", ".").replace("0x2f", "/").replace("0x5c", "\\")
    if text.startswith(("Li4", "Li5", "L2", "L3", "ZXRjL")) and len(text) <= 4096 and _BASE64.search(text):
        try:  # a base64-wrapped path, decoded for a look at its start
            text = base64.b64decode(text, validate=True).decode("latin-1")
        except (binascii.Error, ValueError):
            pass
    return text


def check(view: View) -> str | None:
    """A message when the field climbs out of a directory or names a sensitive file."""
    text = _fold(view.decoded)
    if _CLIMB.search(text):
        return "Directory climb (../) in a path or file parameter"
    if _WRAPPER.search(text):
        return "Stream wrapper or file URL (local file inclusion)"
    if not view.in_path and _FILE.search(text) and _ABSOLUTE.search(text):
        return "Absolute path to a sensitive system file"
    if _UNMISTAKABLE.search(text):
        return "Path to a sensitive system file"
    if _DOTFILE.search(text):
        return "Path to a credentials or server configuration file"
    return None
