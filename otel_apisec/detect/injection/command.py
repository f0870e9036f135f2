"""OS command injection: a shell separator or substitution followed by a command that an
attacker would run, or well-known payload shapes (Shellshock, SSI exec, `${IFS}`).

Evasions are folded before a second look (CRS 932 at paranoia level 1): Unix quoting and escaping
inside words (`c''at`, `c\\at`, `w"h"oami`, `c$@at`), brace expansion (`{cat,/etc/passwd}`) and
cmd.exe carets (`w^h^o^a^m^i`). Windows cmd syntax (`FOR /F`, `%COMSPEC%`, `%PATH:~0,1%`,
`cmd /k`) and interpreter one-liners (`python -c '...'`, `perl -e`, `bash -c`) are matched as such."""

from __future__ import annotations

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

# Commands rarely seen as words in prose: a separator in front of one is enough.
_STRONG = frozenset({
    "id", "whoami", "uname", "ifconfig", "ipconfig", "systeminfo", "netstat", "nslookup", "ncat", "netcat",
    "nc", "wget", "curl", "bash", "zsh", "ksh", "csh", "powershell", "pwsh", "cmd", "perl", "python",
    "python3", "chmod", "chown", "rm", "mkfifo", "tftp", "xterm", "tasklist", "taskkill", "wmic", "certutil",
    "bitsadmin", "rundll32", "regsvr32", "mshta", "cscript", "wscript", "traceroute", "tracert", "ls",
    "grep", "awk", "sed", "sudo", "crontab", "useradd", "uptime", "getent", "base64", "xxd", "openssl",
    "socat", "busybox", "phpinfo", "sh", "hostname", "passwd", "arp", "dir", "pwd",
})
# Commands that are also English words: they need a shell-looking argument.
_WEAK = frozenset({
    "cat", "type", "find", "set", "print", "copy", "move", "del", "more", "less", "head", "tail", "echo",
    "who", "last", "su", "env", "ps", "kill", "touch", "route", "sleep", "timeout", "eval", "exec",
    "system", "ping", "ruby", "php", "net", "reg", "dig", "telnet", "ftp", "shutdown", "reboot", "tar",
})
# Strong commands that are also words in names or labels ("Name & ID").
_AMBIGUOUS = frozenset({"id", "dir", "passwd", "hostname", "arp", "sh", "ls", "sed", "awk", "nc", "rm", "pwd"})
# Windows variables a payload expands to reach the shell, the system folder or the user's files.
_WIN_VARS = (r"comspec|windir|systemroot|systemdrive|programfiles|programdata|appdata|localappdata"
             r"|userprofile|allusersprofile|homedrive|homepath|psmodulepath|cmdcmdline|computername|pathext")
_INTERPRETERS = r"python[23]?(\.\d+)?|perl|ruby|php|node|nodejs|bash|sh|zsh|ksh|dash|lua|tclsh|pwsh|powershell|osascript"
_WORDS = "|".join(sorted(_STRONG | _WEAK, key=lambda word: (-len(word), word)))  # stable across runs

TRIGGERS: tuple[Trigger, ...] = (
    Trigger(r"([;&|`\n\r]|\$\()\s*(\{\s*)?([/\\]|(" + _WORDS + r")\b)", caseless=True),  # `${`: shared
    Trigger(r"\$ifs\b|\(\)\s*\{|<!--\s*#\s*(exec|include)|\b(system|"
        r"exec|passthru|shell_exec|popen|proc_open|phpinfo)\s*\(", caseless=True),
    Trigger(r"\\[nr]\s*[/a-z]|\beval\s*\(|\bphpversion\s*\(|"
        r"\bnet(sh)?\s+(view|user|localgroup|share|use|firewall|advfirewall)\b", caseless=True),
    # a command opening the value, with a shell-looking argument or alone
    Trigger(r"\b(cat|ls|dir|type|more|head|tail|perl|python3?|ruby|php|bash|sh|nc|curl|wget|ping|echo|net|reg"
            r"|which|sleep)\s+(-|/|[a-z]:\\|\d|['\"]|https?:|add\b|query\b|delete\b|curl|wget|nc|netcat|perl|python|gcc)",
            caseless=True),
    Trigger(r"\b(whoami|pwd|uname|ifconfig|ipconfig|systeminfo|sysinfo|netstat)\b", caseless=True),
    # PHP code run by the server: superglobals and `{${...}}` complex syntax
    Trigger(r"\$_(get|post|request|cookie|server|files|env)\b", caseless=True),
    Trigger(r"(/s?bin/[a-z]|cmd(\.exe)?\s*/[ckr]|powershell|%systemroot%|\\windows\\system32|/dev/tcp/)",
            caseless=True),
    # Windows cmd: FOR loops, %VAR% expansion of system variables, substring expansion
    Trigger(r"\bfor\s+(/[a-z]|%%?[a-z]\s+in\b)|%(" + _WIN_VARS + r")%|%\w+:~", caseless=True),
    # evasions folded by the check: quotes or escapes inside a word, carets, brace expansion
    Trigger(r"\w(''|\"\"|\\|\^|\$@|\$\*|\$\(\)|\$\{\})\w|\w'\w{1,8}'\w|\w\"\w{1,8}\"\w|\{[\w/.-]+,"),
    # interpreter one-liners
    Trigger(r"\b(" + _INTERPRETERS + r")(\.exe)?\s+(-\w+\s+)*-[a-z]*[cer]\s", caseless=True),
)

_SEPARATED = re2.compile(
    r"(?i)([;&|\n\r]|\$\(|\$\{)(\s*)(\{\s*)?(((/?usr)?(/local)?/s?bin/)?(" + _WORDS + r"))(\.exe)?"
    r"(\s|$|[;&|`)<>$'\"\\,]|%20|\+)"
)
_SHELL_ARG = re2.compile(
    r"(?i)^\s*(-{1,2}[a-z]|[/\\$`|;&<>%~]|[a-z]:\\|\d+\s*([;&|`'\"]|"
    r"$)|\d{1,3}\.\d{1,3}\.\d|[\w.-]+\.(txt|php|sh|exe|bat|log|conf|ini|py|pl|jsp|asp)\b|['\"])"
)
_OTHER = re2.compile(
    r"(?i)\$\{ifs\}|\w\$ifs\b|\$ifs(\$\d|[/\\'\"-]|\w)|\(\)\s*\{[^}]{0,40}\}\s*;"
    r"|<!--\s*#\s*(exec|include)\s+(cmd|file|virtual)\s*="
    r"|\b(system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec)\s*\(\s*['\"$]"
    r"|\bphpinfo\s*\(\s*\)"
    r"|(^|[^`])`\s*((/usr)?/s?bin/)?(" + _WORDS + r")(\s[^`]{0,200})?`([^`]|$)"
    r"|\$\(\s*((/usr)?/s?bin/)?(" + _WORDS + r")\b[^)]{0,200}\)"
    r"|^\s*((/usr)?(/local)?/s?bin/(" + _WORDS + r")\b|cmd(\.exe)?\s+/[ckr]|powershell(\.exe)?\s+-)"
    r"|\b(cmd(\.exe)?\s*/[ckr]|powershell(\.exe)?\s+-(enc|e|c|command|nop|w))\b|\bcmd(\.exe)?\s+/v:on\b"
    # Windows cmd: FOR loops over command output or files, variable expansion that builds commands
    r"|\bfor\s+/[fldr]\b[^\n]{0,200}\bin\s*\(|\bfor\s+%%?[a-z]\s+in\s*\([^)]{0,200}\)\s*do\b"
    r"|%\w+:~-?\d+(,-?\d+)?%"
    r"|([;&|(]\s*|\b(echo|cd|type|dir|set|call|start|copy|del)\s+)%(" + _WIN_VARS + r")%"
    r"|%(" + _WIN_VARS + r")%\s*([&|;]|/[ckr]\b)"
    # interpreter one-liners: `python -c '...'`, `perl -e`, `bash -c`, `php -r`, `node -e`
    r"|\b(" + _INTERPRETERS + r")(\.exe)?\s+(-\w+\s+)*-[a-z]*[cer]\s+(['\"`]|\$\(|(" + _WORDS + r")\b)"
    r"|%systemroot%|\\windows\\system32\\"
    r"|\beval\s*\(\s*['\"]|\$\{@\w+\s*\(|\bphpversion\s*\(\s*\)"
    r"|([;&|\n]|^)\s*(net\s+(view|user|localgroup|share|use|group)|netsh\s+\w+|reg\s+(add|query|delete)\s+\S)"
    r"|^\s*(cat|ls|dir|type|more|head|tail|perl|python3?|"
    r"ruby|php|bash|sh|nc|curl|wget|ping|echo)\s+(-{1,2}[a-z]|/|[a-z]:\\|\S+\s*[|;&>])"
    r"|^\s*['\"`]?\s*(whoami|pwd|uname|ifconfig|ipconfig|systeminfo|netstat)\s*([-/]\w+\s*)*$"
    # a whole value that is a shell command line: fetch a URL, sleep, look for tools, echo into a file
    r"|^\s*(curl|wget)\s+(-{1,2}\w+\s+)*(https?|ftp)://\S+\s*$|^\s*sleep\s+\d+\s*$"
    r"|^\s*which\s+(curl|wget|nc|ncat|netcat|perl|python3?|gcc|cc|bash|sh|php|ruby|socat|nmap)\s*$"
    r"|^\s*echo\s+['\"].{0,400}['\"]\s*(>|\||;|//)"
    # PHP evaluated by the server: `{${phpinfo()}}` complex syntax, request superglobals
    r"|\{\$\{\s*\w+\s*\(|\$_(get|post|request|cookie|server|files|env)\s*\["
    r"|\b(nc|ncat|netcat)\s+(-[a-z]*e\s|\S+\s+\d{2,5}\b)|\bbash\s+-i\b|/dev/tcp/"
)


# A read-only command line pasted as text: a command with arguments piped into text filters
# (`ls -la ~/src | grep api`, `curl -s URL | jq .`). Every stage after a pipe is a filter that cannot
# run commands or write files; nothing else is shell syntax (no `;`, `&`, redirects, substitutions,
# variables, newlines); nothing names a system file; no stage starts a shell, an interpreter or a
# network tool. `| sh`, `| nc`, `; cat /etc/passwd` and `$(id)` fall outside it.
_FILTERS = r"grep|egrep|fgrep|jq|head|tail|sort|uniq|wc|cut|less|more|column|nl|fmt|tr"
_DANGEROUS = (r"nc|ncat|netcat|socat|telnet|tftp|ftp|ssh|scp|xterm|mkfifo|rm|chmod|chown|sudo|su|env|xargs|"
              r"exec|eval|nohup|timeout|crontab|" + _INTERPRETERS)
_STAGE = r"[^|;&`$<>\r\n(){}]*"
_PIPELINE = re2.compile(r"(?i)^\s*[a-z][\w.-]*\s" + _STAGE + r"(\|\s*(" + _FILTERS + r")(\s" + _STAGE + r")?)+$")
_PIPELINE_UNSAFE = re2.compile(r"(?i)(^|\|)\s*((/usr)?(/local)?/s?bin/|(" + _DANGEROUS + r")(\.exe)?\b)"
                               r"|\.\.|/(etc|proc|dev|root|var|boot|sys)\b|[a-z]:\\|%[0-9a-f]{2}|\\")


def _read_only_pipeline(text: str) -> bool:
    return "|" in text and bool(_PIPELINE.search(text)) and not _PIPELINE_UNSAFE.search(text)


def _separated_command(text: str) -> bool:
    """A separator then a command: strong ones count, weak ones need a shell-like argument,
    or no space after the separator (`;cat`, not prose like `dog & cat`)."""
    for match in _SEPARATED.finditer(text):
        if match.group(5):  # an explicit /bin/ path
            return True
        word = match.group(8).lower()
        # a separator opening the value is injection even with a space ("& dir"), unlike prose ("Name & ID")
        spaced = bool(match.group(2)) and text[:match.start()].strip(" '\"&|;") != ""
        if word in _STRONG and not (spaced and word in _AMBIGUOUS):
            return True
        if _SHELL_ARG.search(text[match.end(8):match.end(8) + 64]):
            return True
        if not spaced and match.group(1) in ";|\n$" and match.group(10) in ("", ";", "|", "`", "\n", ")"):
            return True
    return False


# Quoting and escaping that the shell removes before it runs a word: `c''at`, `c\\at`, `w"h"oami`,
# `c$@at`, `ca$()t`, cmd.exe carets; brace expansion `{cat,/etc/passwd}`.
_EVASION = re2.compile(r"\w(''|\"\"|\\|\^|\$@|\$\*|\$\(\)|\$\{\})\w|\w'\w{1,8}'\w|\w\"\w{1,8}\"\w"
                       r"|\{[\w/.-]+(,[^{}\s]{1,200})+\}")
_BRACES = re2.compile(r"\{([\w/.-]+(,[^{}\s]{1,200})+)\}")
_IFS = re2.compile(r"(?i)\$\{ifs\}|\$ifs(\$\d)?")
_MAX_FOLD = 4096
"""Only this much of a text is folded: payloads are short, and the raw text is still checked."""


def _unbrace(match: re2._Match) -> str:
    return match.group(1).replace(",", " ")


def fold_shell(text: str) -> str:
    """`text` as the shell would run it: quotes, escapes and carets inside words dropped, brace
    lists expanded to words, `$IFS` read as a space. Linear: a few C-speed replaces and one RE2
    substitution with a bounded count."""
    text = text[:_MAX_FOLD]
    text = _BRACES.sub(_unbrace, text, count=64)
    text = _IFS.sub(" ", text, count=256)
    for mark in ("$@", "$*", "$()", "${}", "''", '""', "\\", "^", "'", '"'):
        text = text.replace(mark, "")
    return text


def check(view: View) -> str | None:
    """A message when the field holds a shell command injection, else None."""
    texts = view.texts
    if all(_read_only_pipeline(text) for text in texts):
        return None
    for text in texts:
        if _OTHER.search(text) or _separated_command(text):
            return "Shell command injection (separator or substitution followed by a command)"
    for text in texts:
        if _EVASION.search(text[:_MAX_FOLD]):
            folded = fold_shell(text)
            if folded != text and (_OTHER.search(folded) or _separated_command(folded)):
                return "Shell command injection hidden by quoting, escapes or brace expansion"
    return None
