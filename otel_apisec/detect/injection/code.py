"""Code injection into the application's own runtime, at CRS paranoia-level-1 depth:

- Java (CRS 944): `java.lang.Runtime`, `ProcessBuilder`, class names of deserialization gadget
  chains and their serialized magic (`rO0AB`, `aced0005`), Spring4Shell (`class.module.`),
  OGNL (`%{`, `#_memberAccess`, `@ognl.`) and EL / SpEL expressions that reach Java classes;
- Node.js (CRS 934): `node-serialize` functions (`_$$ND_FUNC$$_`), `child_process`, the
  `constructor.constructor` escape and `new Function`;
- PHP (CRS 933): open tags, dangerous functions called with code-like arguments (`system(`,
  `eval(`, `assert(`, `base64_decode(`...), serialized objects (`O:8:"stdClass":`) and the
  `expect://` / `data://` wrappers.
"""

from __future__ import annotations

import re2

from otel_apisec.detect.engine import Trigger
from otel_apisec.detect.injection.patterns import compile_large
from otel_apisec.detect.injection.view import View

__all__ = ["TRIGGERS", "check"]

# Java classes an attacker names to run code or deserialize a gadget chain (CRS java-classes.data,
# ysoserial and marshalsec payloads).
_JAVA_CLASSES = (
    r"java\.lang\.(runtime|processbuilder|process|system)\b"
    r"|java\.(io\.(file|objectinputstream|objectoutputstream|fileoutputstream)|beans\.xmldecoder)\b"
    r"|javax\.(script\.scriptenginemanager|naming\.(initialcontext|reference)|xml\.transform\.templates)\b"
    r"|org\.apache\.(commons\.(collections4?|beanutils)\.|xalan\.xsltc|xbean\.naming|bcel\.util\.classloader"
    r"|tomcat\.dbcp|myfaces\.(context|view)|wicket\.util\.upload)"
    r"|com\.sun\.(org\.apache\.(xalan|bcel)|rowset\.|jndi\.(rmi|ldap)|syndication\.feed\.impl)"
    r"|com\.mchange\.v2\.c3p0|ognl\.ognlcontext|org\.mozilla\.javascript\.(nativeerror|javaadapter)"
    r"|org\.python\.core\.|bsh\.(interpreter|xthis)|clojure\.(core|main)\$"
    r"|\b(invokertransformer|chainedtransformer|constanttransformer|instantiatetransformer|lazymap|templatesimpl"
    r"|jdbcrowsetimpl|annotationinvocationhandler|badattributevalueexpexception|remoteobjectinvocationhandler"
    r"|beancomparator|methodclosure|convertedclosure|combopooleddatasource|abstractcomponenttuplizer"
    r"|objectfactorydelegatinginvocationhandler|jtatransactionmanager|groovyshell|scriptenginemanager)\b"
)
_JAVA_CLASSES_RE = re2.compile("(?i)" + _JAVA_CLASSES)

TRIGGERS: tuple[Trigger, ...] = (
    # Java: runtime classes, gadget names, serialized magic, OGNL, EL method calls, Spring4Shell
    Trigger(r"java\.(lang|io|net|beans|rmi|util\.priority)|javax\.(script|naming|management|xml)"
            r"|org\.(apache|springframework|codehaus|hibernate|omg|mozilla|python)\.|com\.(sun|mchange|opensymphony"
            r"|alibaba)\.|bsh\.|sun\.(reflect|rmi|misc)|clojure\.|ch\.qos|net\.sf\.json|groovy\.", caseless=True),
    Trigger(r"transformer|lazymap|templatesimpl|rowsetimpl|invocationhandler|valueexpexception|unicastref"
            r"|beancomparator|methodclosure|convertedclosure|pooleddatasource|getruntime|processbuilder"
            r"|forname|getmethod|newinstance|getclassloader|scriptenginemanager|classloader|pagecontext|facescontext"
            r"|applicationscope|getparameter|new\s+java\.|(''|\"\")\.class\b", caseless=True),
    Trigger(r"(^|\xff|\")(rO0AB|ACED0005|aced0005|H4sIAAAAAAAA)"),
    Trigger(r"%\{|#_memberaccess|@ognl|#context\[|\.getclass\(|#\{|\bt\s*\(\s*java", caseless=True),
    Trigger(r"class\s*(\.|\[)\s*['\"]?\s*(module|classloader|protectiondomain)", caseless=True),
    # Node.js
    Trigger(r"_\$\$nd_func\$\$_|__js_function|child_process|constructor\.constructor|constructor\s*\(\s*['\"]"
            r"|new\s+function\s*\(|process\.(mainmodule|binding|env|exit|kill)|require\s*\(\s*['\"]"
            r"|module\.(exports|constructor|require)|global\.process|fromcharcode", caseless=True),
    # PHP
    Trigger(r"<\?(php|=|\s)|\[php\]|\b(eval|assert|system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec"
            r"|base64_decode|gzinflate|gzuncompress|str_rot13|create_function|call_user_func(_array)?|preg_replace"
            r"|file_get_contents|file_put_contents|fopen|fwrite|readfile|include(_once)?|require(_once)?"
            r"|highlight_file|show_source|unserialize|phpinfo|array_map|usort|ob_start|putenv|ini_set|chr"
            r"|assert_options|mail|move_uploaded_file|symlink|curl_exec)\s*\(", caseless=True),
    Trigger(r"(^|\xff|[\";{])[oca]:\d+:\"|\b(expect|data)://", caseless=True),
)

_JAVA = compile_large(
    r"(?i)"
    # code execution through the Java runtime, however it is reached
    r"java\.lang\.(runtime|processbuilder|process)\b|\bgetruntime\s*\(\s*\)|\bnew\s+processbuilder\b"
    r"|\bprocessbuilder\s*\(|\bclass\.forname\s*\(|\bforname\s*\(\s*['\"]java"
    r"|\.getclass\s*\(\s*\)\s*\.\s*(forname|getclassloader|getmethod|getdeclaredmethod)\b"
    r"|\.getmethod\s*\(\s*['\"](exec|getruntime|invoke|forname)|\.newinstance\s*\(\s*\)\s*\.\s*(exec|eval|start)"
    r"|\bscriptenginemanager\b|\bjavax\.script\b|java\.beans\.xmldecoder|<java\s+(version|class)\s*="
    r"|<(object|void)\s+class\s*=\s*['\"]java\.lang"
    # SpEL and EL: a type reference or an implicit object walked into code
    r"|\bt\s*\(\s*java\.\w|[$#]\{[^}]{0,400}(getclass|forname|getruntime|processbuilder|\.exec\s*\(|"
    r"getmethod|newinstance|getclassloader|pagecontext|facescontext|applicationscope|invoke\s*\(|"
    r"new\s+java\.|java\.lang\.|@java\.|''\.class|\"\"\.class|request\.getparameter)"
    # OGNL (Struts): member access, static calls, context
    r"|#_memberaccess|@ognl\.|ognlcontext|#context\s*\[|#attr\s*\[|\(#\w+\s*=|#_\s*=\s*['\"]"
    r"|%\{\s*[(#@'\"]|%\{[^}]{0,200}(@java|@ognl|#\w+[.=\[]|\.exec\s*\()"
    r"|\b(redirect|redirectaction|action)\s*:\s*\$\{"
    r"|@java\.lang\.\w+@|@org\.apache\.\w"
    # Spring4Shell and other class-loader walks in parameter names
    r"|(^|[^\w])class\s*(\.|\[\s*['\"]?)\s*(module|classloader|protectiondomain)\b"
)
# Serialized Java (`aced0005`, base64 `rO0AB`, gzip+base64 `H4sI`) opening a value.
_JAVA_SERIALIZED = re2.compile(r"^\s*(rO0AB[A-Za-z0-9+/=]{8}|(?i:aced0005)[0-9a-fA-F]{8})")
_NODE = re2.compile(
    r"(?i)_\$\$nd_func\$\$_|__js_function|\brequire\s*\(\s*['\"`](child_process|fs|net|vm|os|http)['\"`]\s*\)"
    r"|child_process['\"`]?\s*\)?\s*\.\s*(exec|spawn|execsync|spawnsync|fork|execfile)"
    r"|\bconstructor\s*\.\s*constructor\s*\(|\bconstructor\s*\[\s*['\"]constructor['\"]\s*\]|\bconstructor\s*\(\s*['\"]return"
    r"|\bnew\s+function\s*\(\s*['\"`]|\bprocess\.(mainmodule|binding\s*\(|kill\s*\(|exit\s*\()"
    r"|\bglobal\.process\b|\bmodule\.constructor\._load|\beval\s*\(\s*string\.fromcharcode"
    r"|\bfunction\s*\(\s*\)\s*\{[^}]{0,300}\b(require|process|child_process|exec)\b"
)
_PHP = compile_large(
    r"(?i)<\?php\b|<\?=|\[php\]"
    # a dangerous function called with a literal, a variable, a backtick or another call
    r"|\b(eval|assert|system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec|create_function"
    r"|call_user_func(_array)?|highlight_file|show_source|readfile|file_get_contents|file_put_contents"
    r"|fopen|include(_once)?|require(_once)?|unserialize|base64_decode|gzinflate|gzuncompress|str_rot13"
    r"|putenv|ini_set|assert_options|move_uploaded_file|symlink|curl_exec|array_map|usort|ob_start)"
    r"\s*\(\s*(['\"`$]|[a-z_]\w*\s*\(|\)|@|\w+\s*,\s*['\"$])"
    r"|\bphpinfo\s*\(\s*\)|\bpreg_replace\s*\(\s*['\"](.).{0,200}/[a-z]*e[a-z]*['\"]"
    r"|@\s*(eval|assert|system)\s*\("
    r"|\bchr\s*\(\s*\d+\s*\)\s*\.\s*chr\s*\("
    # serialized objects (object injection): `O:8:"stdClass":1:{`, `C:11:"ArrayObject":`
    r"|(^|[;{\"])\s*[oc]:\d+:\"[\w\\]+\":\d+:\{"
    r"|\bexpect://\w|\bdata://(text|application|image)/[\w.+-]+[;,]"
)


def check(view: View) -> str | None:
    """A message when the field injects code into a Java, Node.js or PHP runtime, else None."""
    for text in view.texts:
        if _JAVA.search(text):
            return "Java code or expression-language injection (runtime, OGNL, EL, class loader)"
        if _JAVA_CLASSES_RE.search(text) or _JAVA_SERIALIZED.search(text):
            return "Java deserialization gadget or dangerous class name"
        if _NODE.search(text):
            return "Node.js code injection (node-serialize function, child_process, constructor escape)"
        if _PHP.search(text):
            return "PHP code injection (open tag, dangerous function, serialized object or wrapper)"
    return None
