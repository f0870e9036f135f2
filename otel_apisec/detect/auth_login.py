"""Recognize a login attempt (route or body shape) and whether it worked, from one exchange.

Shared by the auth detector (AuthFacts, failed logins) and the exposure detector (a token in a
login response is expected, not an exposure).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from otel_apisec.detect.api import DetectContext
from otel_apisec.detect.auth_credentials import is_session_cookie
from otel_apisec.detect.engine import PatternSet, Trigger
from otel_apisec.detect.fields import parse_json
from otel_apisec.detect.sensitive_keys import normalize_key
from otel_apisec.model import HttpExchange

__all__ = [
    "FAILURE_WORDS",
    "MAX_OUTCOME_BODY",
    "LoginAttempt",
    "LoginOutcome",
    "LoginVerdict",
    "is_login_route",
    "judge_login_response",
    "login_attempt",
]

LOGIN_SEGMENTS = frozenset(
    {"login", "log-in", "log_in", "logon", "signin", "sign-in", "sign_in", "auth", "authenticate",
     "authentication", "token", "session", "sessions", "login.json", "login.php", "login.jsp",
     "login.aspx", "j_security_check"}
)
_REGISTRATION_SEGMENTS = frozenset(
    {"register", "registration", "signup", "sign-up", "sign_up", "users", "user", "accounts",
     "account", "password", "passwords", "reset", "reset-password", "change-password", "invite"}
)
_IDENTITY_KEYS = frozenset(
    {"username", "user", "email", "emailaddress", "login", "userid", "useremail", "identifier",
     "account", "phone", "phonenumber", "clientid", "jusername", "identity"}
)
_PASSWORD_KEYS = frozenset(
    {"password", "passwd", "pass", "pwd", "passphrase", "userpassword", "clientsecret", "jpassword"}
)
_REGISTRATION_KEYS = frozenset(
    {"passwordconfirmation", "confirmpassword", "passwordconfirm", "password2", "repeatpassword",
     "newpassword", "oldpassword", "currentpassword"}
)


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """Raw identifier and password from the request: hash or compare them, never report them."""

    identifier: str | None
    password: str | None
    succeeded: bool | None
    pending: bool = False
    """The answer asks for a second factor (`LoginOutcome.PENDING`): neither a success nor a failure."""


# Login bodies are a few fields; parsing a large upload to look for a password is wasted work.
_MAX_LOGIN_BODY = 64 * 1024


def _last_segment(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1].lower()


def is_login_route(exchange: HttpExchange) -> bool:
    return _last_segment(exchange.route or exchange.path) in LOGIN_SEGMENTS


def _credential_fields(exchange: HttpExchange, ctx: DetectContext) -> dict[str, str]:
    """Normalized key -> string value from the request body's top level and one level below it."""
    body = exchange.request_body
    if body is None or not body.data or len(body.data) > _MAX_LOGIN_BODY:
        return {}
    fields: dict[str, str] = {}
    if body.media_type == "application/x-www-form-urlencoded":
        text = body.data[: ctx.config.max_body_bytes].decode("utf-8", "replace")
        for name, value in parse_qsl(text, keep_blank_values=True)[:200]:
            fields.setdefault(normalize_key(name), value)
        return fields
    doc = ctx.body_json(body)
    if not isinstance(doc, dict):
        return fields
    for node in [doc, *(v for v in list(doc.values())[:20] if isinstance(v, dict))]:
        for key, value in list(node.items())[:200]:
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                fields.setdefault(normalize_key(str(key)), str(value))
    return fields


def _first(fields: dict[str, str], keys: frozenset[str]) -> str | None:
    return next((fields[k] for k in fields if k in keys), None)


def _verdict(exchange: HttpExchange, ctx: DetectContext) -> LoginVerdict:
    body = exchange.response_body
    small = body is not None and not body.truncated and len(body.data) <= min(MAX_OUTCOME_BODY, ctx.config.max_body_bytes)
    return judge_login_response(exchange, ctx.body_json(body) if small else None)


# Every key in _PASSWORD_KEYS contains one of these, in any case. A key that spells them with
# separators inside (`p_w_d`) is only recognised on login routes.
_PASSWORD_HINTS = PatternSet([Trigger("pass|pwd|secret", caseless=True)])


def _may_hold_password(exchange: HttpExchange) -> bool:
    body = exchange.request_body
    if body is None or not body.data or len(body.data) > _MAX_LOGIN_BODY:
        return False
    return bool(_PASSWORD_HINTS.scan([body.data]))


def login_attempt(exchange: HttpExchange, ctx: DetectContext) -> LoginAttempt | None:
    """A POST to a login-like route, or a POST whose body holds an identity and a password.

    Worked out once per analysis: the auth and exposure detectors both ask."""
    return ctx.once("login_attempt", lambda: _login_attempt(exchange, ctx))


def _login_attempt(exchange: HttpExchange, ctx: DetectContext) -> LoginAttempt | None:
    if exchange.method.upper() != "POST":
        return None
    if not is_login_route(exchange) and not _may_hold_password(exchange):
        return None  # no password field, so no login: spare the parse
    fields = _credential_fields(exchange, ctx)
    password = _first(fields, _PASSWORD_KEYS)
    identifier = _first(fields, _IDENTITY_KEYS)
    if not is_login_route(exchange):
        looks_like_signup = _last_segment(exchange.route or exchange.path) in _REGISTRATION_SEGMENTS
        if password is None or identifier is None or looks_like_signup or fields.keys() & _REGISTRATION_KEYS:
            return None
    verdict = _verdict(exchange, ctx)
    return LoginAttempt(identifier, password, verdict.succeeded, verdict.outcome is LoginOutcome.PENDING)


# --- The outcome: did the exchange issue a credential? ------------------------------------------------------


class LoginOutcome(enum.Enum):
    """What a login response says. Only SUCCEEDED and FAILED settle `LoginAttempt.succeeded`."""

    SUCCEEDED = "succeeded"
    """A credential was issued: a token in the body or a header, a session cookie, a redirect into the app,
    or the API said so (`"success": true`, the signed-in user echoed back)."""
    FAILED = "failed"
    """No credential, and the status, a structured field or a message says the attempt was refused."""
    PENDING = "pending"
    """The password passed but no session yet: a second factor or a password change is required."""
    RATE_LIMITED = "rate_limited"
    """429 or a "too many attempts" answer: the password was not checked."""
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class LoginVerdict:
    outcome: LoginOutcome
    reason: str
    """Which evidence decided, as a fixed phrase (never a value from the exchange)."""

    @property
    def succeeded(self) -> bool | None:
        if self.outcome is LoginOutcome.SUCCEEDED:
            return True
        return False if self.outcome is LoginOutcome.FAILED else None


# Only this much of a login response is read: login answers are a few hundred bytes.
MAX_OUTCOME_BODY = 32 * 1024
_MAX_NODES = 256  # JSON keys and items visited
_MAX_DEPTH = 4
_MAX_MESSAGE = 1024  # characters kept of one message field
_CLIENT_FAILURES = frozenset({400, 401, 403, 422})

# Message words, lower-case, per language. A substring match: `fail` covers failed, failure, failing.
FAILURE_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("fail", "invalid", "incorrect", "not correct", "denied", "wrong", "unauthori", "unauthenticated",
           "not authenticated", "not logged in", "bad credentials", "does not exist", "doesn't exist",
           "not found", "no such user", "unknown user", "not match", "n't match", "mismatch", "rejected",
           "locked", "disabled", "unsuccessful", "not successful", "error", "unable to log", "could not log",
           "cannot log", "can't log", "not recognized", "not recognised", "please log in", "please sign in"),
    "de": ("fehlgeschlagen", "ungültig", "ungueltig", "falsch", "verweigert", "inkorrekt", "nicht korrekt",
           "nicht erfolgreich", "existiert nicht", "nicht gefunden", "gesperrt", "fehler", "nicht angemeldet",
           "stimmen nicht", "stimmt nicht"),
    "fr": ("échou", "echou", "échec", "echec", "invalide", "refusé", "erroné", "errone", "mauvais",
           "non valide", "n'existe pas", "introuvable", "erreur", "bloqué", "ne correspond", "pas connecté"),
    "es": ("fallid", "falló", "fallo", "inválid", "incorrect", "denegad", "errón", "no válid", "no existe",
           "no coincide", "bloquead", "no exitos", "sin éxito"),
    "pt": ("falhou", "falha", "incorret", "negad", "errad", "não encontrad", "nao encontrad", "não existe",
           "não confere", "erro", "sem sucesso", "inválid"),
    "it": ("fallit", "non valid", "errat", "negato", "negata", "sbagliat", "non corrett", "errore", "non esiste",
           "non riuscit", "bloccat"),
    "nl": ("mislukt", "ongeldig", "onjuist", "geweigerd", "verkeerd", "fout", "niet gevonden", "bestaat niet",
           "niet gelukt", "geblokkeerd"),
    "ru": ("неверн", "неправильн", "ошибк", "не удалось", "отказ", "недействител", "запрещ", "не найден",
           "не существует", "заблокирован", "неуспеш", "не успеш", "не совпада"),
    "zh": ("失败", "失敗", "错误", "錯誤", "无效", "無效", "不正确", "不正確", "拒绝", "拒絕", "不存在", "不成功",
           "未成功", "不匹配", "锁定", "鎖定"),
    "ja": ("失敗", "無効", "正しくありません", "間違", "拒否", "エラー", "誤り", "一致しません", "存在しません", "ロック"),
    "ko": ("실패", "잘못", "올바르지", "유효하지", "일치하지", "존재하지", "거부"),
    "pl": ("nieprawidłow", "błędn", "niepoprawn", "nieudan", "odmow"),
    "tr": ("hatalı", "geçersiz", "başarısız", "yanlış", "reddedildi"),
}
SUCCESS_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("success", "logged in", "signed in", "welcome", "authenticated", "login ok"),
    "de": ("erfolgreich", "angemeldet", "willkommen"),
    "fr": ("réussi", "connecté", "bienvenue"),
    "es": ("exitos", "éxito", "bienvenid", "sesión iniciada"),
    "pt": ("sucesso", "bem-vindo", "bem vindo"),
    "it": ("successo", "riuscit", "benvenut"),
    "nl": ("gelukt", "succesvol", "welkom", "ingelogd"),
    "ru": ("успешн", "добро пожаловать"),
    "zh": ("成功", "欢迎", "歡迎"),
    "ja": ("成功", "ようこそ", "ログインしました"),
    "ko": ("성공", "환영"),
    "pl": ("pomyśln", "zalogowan"),
    "tr": ("başarı", "hoş geldin"),
}
RATE_LIMIT_WORDS = ("too many", "too_many", "toomany", "rate limit", "rate_limit", "ratelimit", "throttl",
                    "try again later", "try later", "zu viele", "trop de", "demasiad", "muitas tentativas",
                    "troppi", "troppe", "te veel", "слишком много", "频繁", "過多", "过多", "頻繁", "너무 많")
_MFA_WORDS = ("two_factor", "twofactor", "two-factor", "two factor", "second factor", "2-step", "two-step",
              "2 step", "two step", "multifactor", "multi-factor", "multi factor", "mfarequired", "otprequired",
              "2farequired", "password_expired", "passwordexpired", "new_password_required", "change_password",
              "verification code", "security code", "one-time", "one time password", "one time code",
              "authenticator app", "code sent", "code was sent", "code has been sent", "sent a code",
              "sent you a code", "enter the code", "additional verification",
              "zwei-faktor", "bestätigungscode", "sicherheitscode", "double authentification",
              "code de vérification", "code de verification", "deux facteurs", "código de verificación",
              "codigo de verificacion", "doble factor", "dos factores", "dos pasos", "código de verificação",
              "dois fatores", "duas etapas", "codice di verifica", "due fattori", "verificatiecode", "tweestaps",
              "код подтверждения", "двухфактор", "验证码", "驗證碼", "双重验证", "两步验证", "認証コード", "確認コード",
              "二段階", "인증 코드", "인증번호", "2단계")
"""Phrases that ask for a second factor (or a password change) before a session is issued."""
_MFA_SHORT = ("mfa", "2fa", "otp", "totp", "tfa", "challenge")
"""Short words that ask for a second factor only as words of their own (`mfa_required`, "OTP sent";
not `footprint`): matched with a non-alphanumeric byte on both sides (messages are padded with spaces)."""

_FAILED, _SUCCESS, _RATE, _MFA = range(4)


def _literal(word: str) -> str:
    """A trigger for a lower-case word: UTF-8 bytes as \\xHH, read the same by Hyperscan and RE2 (Latin-1)."""
    return "".join(chr(b) if b < 128 and chr(b).isalnum() else f"\\x{b:02x}" for b in word.encode())


def _word_table() -> tuple[PatternSet, tuple[int, ...]]:
    classes = [(_FAILED, w) for ws in FAILURE_WORDS.values() for w in ws]
    classes += [(_SUCCESS, w) for ws in SUCCESS_WORDS.values() for w in ws]
    classes += [(_RATE, w) for w in RATE_LIMIT_WORDS] + [(_MFA, w) for w in _MFA_WORDS]
    triggers = [Trigger(_literal(w)) for _, w in classes]
    triggers += [Trigger(f"[^a-z0-9]{w}[^a-z0-9]") for w in _MFA_SHORT]
    return PatternSet(triggers), (*(c for c, _ in classes), *(_MFA for _ in _MFA_SHORT))


_WORDS, _WORD_CLASS = _word_table()


def _word_classes(texts: list[str]) -> set[int]:
    """Which word classes occur in `texts` (lower-cased here): one linear scan for every language."""
    if not texts:
        return set()
    hits = _WORDS.scan([f" {t.lower()} ".encode("utf-8", "replace") for t in texts])
    return {_WORD_CLASS[trigger] for _, trigger in hits}


# Normalized JSON keys (see normalize_key).
_TOKEN_KEYS = frozenset(
    {"token", "accesstoken", "idtoken", "refreshtoken", "authtoken", "sessiontoken", "bearertoken", "jwt",
     "jwttoken", "apitoken", "apikey", "authenticationtoken", "sessionid", "sessionkey", "access", "refresh",
     "key", "authorization", "customeraccesstoken", "usertoken", "logintoken", "authenticationresult",
     "credentials", "credential", "sessioncookie"}
)
# Tokens that are not a sign-in: anti-forgery, flow state, second-factor and device tokens.
_NOT_SIGN_IN_TOKENS = ("csrf", "xsrf", "state", "mfa", "otp", "captcha", "reset", "verif", "confirm", "invite",
                       "device", "push", "fcm", "notification", "challenge", "nonce", "type", "expir", "twofactor",
                       "2fa", "secondfactor", "multifactor")
_MFA_KEYS = frozenset(
    {"mfarequired", "requiresmfa", "mfatoken", "mfapendingcredential", "twofactor", "twofactorrequired",
     "requirestwofactor", "requires2fa", "2farequired", "tfarequired", "otprequired", "totprequired",
     "challengename", "mfachallenge", "requires2fachallenge", "twofactorauthrequired", "needmfa", "needs2fa",
     "otptoken", "twofactortoken", "2fatoken", "challenge", "challengetype", "challengeid", "mfapending",
     "twofactorpending", "otpsent", "codesent", "verificationrequired", "requiresverification", "mfa", "2fa"}
)
_FLAG_KEYS = frozenset(
    {"success", "succeeded", "successful", "ok", "authenticated", "isauthenticated", "loggedin", "isloggedin",
     "valid", "isvalid", "result", "status", "auth", "login", "loginsuccess", "authorized", "erfolg", "exito",
     "sucesso", "successo"}
)
_STATUS_KEYS = frozenset(
    {"status", "result", "outcome", "state", "loginstatus", "authstatus", "authenticationstatus", "resultcode",
     "type", "kind", "code", "errorcode", "errcode", "statuscode", "retcode", "errortype"}
)
_FAILED_VALUES = frozenset(
    {"fail", "failed", "failure", "error", "err", "denied", "accessdenied", "invalid", "unauthorized",
     "unauthorised", "forbidden", "rejected", "ko", "nok", "ng", "false", "lockedout", "locked", "disabled",
     "unauthenticated", "notauthorizedexception", "invalidcredentials", "invalidgrant", "badcredentials"}
)
_OK_VALUES = frozenset({"ok", "success", "succeeded", "successful", "authenticated", "loggedin", "true", "done"})
_MESSAGE_KEYS = frozenset(
    {"message", "msg", "messages", "detail", "details", "description", "errordescription", "reason", "title",
     "info", "notice", "alert", "flash", "statusmessage", "statustext", "errorsummary", "text",
     "errormessage", "errormsg", "errmsg", "nonfielderrors", "mensaje", "mensagem", "messaggio", "nachricht",
     "meldung", "bericht", "melding", "retmsg", "resultmessage", "hint", "faultstring"}
)
_IDENTITY_KEYS_OUT = frozenset(
    {"user", "currentuser", "me", "profile", "account", "principal", "viewer", "userid", "localid", "uid",
     "customer", "member", "identity", "record"}
)
_RESPONSE_TOKEN_HEADERS = ("authorization", "x-auth-token", "x-access-token", "access-token", "x-session-token",
                           "x-jwt", "x-token", "x-subject-token", "x-refresh-token", "x-amz-security-token")
_BACK_TO_LOGIN = ("login", "log-in", "log_in", "logon", "signin", "sign-in", "sign_in", "error", "fail",
                  "denied", "invalid", "retry", "unauthori", "j_security_check", "lockout", "locked")
_FAILED_QUERY = ("error", "fail", "denied", "invalid", "retry", "unauthori", "wrong")
_MFA_REDIRECTS = ("mfa", "2fa", "two-factor", "two_factor", "twofactor", "otp", "totp", "/verify", "challenge")
# Keys that are credentials whatever their value looks like; `access`, `key` and the like need a token shape.
_STRICT_TOKEN_KEYS = frozenset({"jwt", "sessionid", "sessionkey", "apikey"})
# A login mutation or call whose result is null issued nothing (`{"data": {"login": null}}`).
_RESULT_KEYS = frozenset({"login", "signin", "authenticate", "tokenauth", "loginuser", "userlogin", "session",
                          "data", "authentication", "auth", "result"})
_PLACEHOLDERS = frozenset({"", "null", "none", "undefined", "false", "nil", "0", "deleted", "invalid"})


def _is_empty(value: object) -> bool:
    if value is None or value is False or value == 0:
        return True
    if isinstance(value, str):
        return value.strip().lower() in _PLACEHOLDERS
    return isinstance(value, (list, dict)) and not value


def _is_jwt(text: str) -> bool:
    return text.startswith("eyJ") and text.count(".") == 2 and len(text) >= 20 and " " not in text


def _is_error_key(key: str) -> bool:
    return key in ("error", "errors", "err", "fault", "exception") or key.endswith(("errors", "error"))


def _is_token_key(key: str) -> bool:
    if any(part in key for part in _NOT_SIGN_IN_TOKENS):
        return False
    return key in _TOKEN_KEYS or key.endswith("token")


def _looks_like_token(text: str) -> bool:
    """For keys that are not always tokens (`access`, `key`): one word of 16 characters or more."""
    return len(text) >= 16 and " " not in text.strip()


@dataclass(slots=True)
class _Evidence:
    failure: str | None = None
    mfa: str | None = None
    token: str | None = None
    empty_credential: str | None = None
    success: str | None = None
    identity: bool = False
    messages: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


def _read_json(doc: object, ev: _Evidence) -> None:
    """Walk at most _MAX_NODES keys and items, _MAX_DEPTH deep, breadth first: linear in what it visits.

    Inside the signed-in user's object (`user`, `profile`, ...) only tokens count: its `status` or
    `active` fields describe the account, not this exchange."""
    if doc is None or doc is False or (isinstance(doc, (list, dict, str)) and not doc):
        ev.empty_credential = "empty body"
        return
    if isinstance(doc, dict) and "id" in doc and doc.keys() & {"email", "username", "login"}:
        ev.identity = True  # the signed-in user itself (Devise, many session APIs)
    queue: deque[tuple[object, int, bool]] = deque([(doc, 0, False)])
    visited = 0
    while queue and visited < _MAX_NODES:
        node, depth, in_identity = queue.popleft()
        items: list[tuple[str, object]]
        if isinstance(node, dict):
            items = [(normalize_key(str(k)[:64]), v) for k, v in list(node.items())[: _MAX_NODES - visited]]
        elif isinstance(node, list):
            items = [("", v) for v in node[: min(16, _MAX_NODES - visited)]]
        else:
            continue
        for key, value in items:
            visited += 1
            identity = in_identity or key in _IDENTITY_KEYS_OUT
            if in_identity:
                _read_token(key, value, ev)
            else:
                _read_field(key, value, ev)
            if depth + 1 < _MAX_DEPTH and isinstance(value, (dict, list)) and value:
                queue.append((value, depth + 1, identity))


def _read_token(key: str, value: object, ev: _Evidence) -> bool:
    """Record a token (or an empty token field); True when `key` names a credential."""
    if isinstance(value, str):
        text = value[:_MAX_MESSAGE].strip()
        if _is_jwt(text) and not any(part in key for part in _NOT_SIGN_IN_TOKENS):
            ev.token = ev.token or "JWT in the response body"
            return True
    if not key or not _is_token_key(key):
        return False
    if _is_empty(value):
        ev.empty_credential = ev.empty_credential or "empty token field"
    elif isinstance(value, str) and (key.endswith("token") or key in _STRICT_TOKEN_KEYS or _looks_like_token(value)):
        ev.token = ev.token or "token field in the body"
    return True


def _read_field(key: str, value: object, ev: _Evidence) -> None:
    text = value[:_MAX_MESSAGE] if isinstance(value, str) else None
    if _read_token(key, value, ev):
        return
    if not key:
        if text is not None and len(ev.messages) < 32:
            ev.messages.append(text)  # an item of a message list (`non_field_errors`, `errors`)
        return
    if key in _MFA_KEYS:
        if not _is_empty(value):
            ev.mfa = ev.mfa or "second-factor field in the body"
        return
    if _is_error_key(key):
        if not _is_empty(value):
            if text is not None:
                ev.statuses.append(text)  # `"error": "mfa_required"` is a second factor, not a failure
            ev.failure = ev.failure or "error field in the body"
        return
    if isinstance(value, bool) and key in _FLAG_KEYS:
        if value:
            ev.success = ev.success or "success flag"
        else:
            ev.failure = ev.failure or "success flag false"
        return
    if key in _STATUS_KEYS:
        if text is not None:
            ev.statuses.append(text)
        elif isinstance(value, int) and not isinstance(value, bool):
            if value in _CLIENT_FAILURES or (key in ("errcode", "errorcode", "retcode") and value != 0):
                ev.failure = ev.failure or "failure code in the body"
        return
    if key in _MESSAGE_KEYS:
        if text is not None and len(ev.messages) < 32:
            ev.messages.append(text)
        return
    if key in _RESULT_KEYS and _is_empty(value):
        ev.empty_credential = ev.empty_credential or "empty login result"
    elif key in _IDENTITY_KEYS_OUT:
        if _is_empty(value):
            ev.empty_credential = ev.empty_credential or "empty user field"
        else:
            ev.identity = True


_SECOND_STEP = ("mfa", "2fa", "twofactor", "otp", "passwordexpired", "newpasswordrequired", "changepassword")


def _read_statuses(ev: _Evidence) -> None:
    for status in ev.statuses[:16]:
        value = normalize_key(status[:64])
        if value in _FAILED_VALUES or any(word in value for word in ("invalid", "fail", "denied", "wrong", "incorrect")):
            ev.failure = ev.failure or "failure status in the body"
        elif any(word in value for word in _SECOND_STEP):
            ev.mfa = ev.mfa or "second-factor status"
        elif value.endswith(("error", "exception")):
            ev.failure = ev.failure or "failure status in the body"
        elif value in _OK_VALUES:
            ev.success = ev.success or "success status in the body"


def _visible_text(html: str) -> tuple[str, bool]:
    """The text of an HTML page outside tags, scripts and styles, and whether it holds a password input."""
    lower = html.lower()
    has_password = 'type="password"' in lower or "type='password'" in lower or "type=password" in lower
    parts: list[str] = []
    for chunk in lower.split("<"):
        tag, _, text = chunk.partition(">")
        if tag.startswith(("script", "style")):
            continue  # the text after <script> is code; after </script> the next chunk resumes
        if text.strip():
            parts.append(text)
    return " ".join(parts), has_password


def _session_cookie_set(exchange: HttpExchange) -> bool:
    for header in exchange.response_headers.get_all("set-cookie")[:50]:
        pair, _, attributes = header.partition(";")
        name, _, value = pair.partition("=")
        if not (is_session_cookie(name.strip()) or _is_jwt(value.strip())):
            continue
        attrs = attributes.lower().replace(" ", "")
        if _is_empty(value.strip().strip('"')) or "max-age=0" in attrs or "max-age=-" in attrs or "1970" in attrs:
            continue  # a session cleared on the way out
        return True
    return False


def _redirect(exchange: HttpExchange) -> LoginVerdict | None:
    location = (exchange.response_headers.get("location") or "").strip()
    if not location:
        return None
    target = location.lower()[:2048].split("#", 1)[0]
    path, _, query = target.partition("?")
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    if any(word in target for word in _MFA_REDIRECTS):
        return LoginVerdict(LoginOutcome.PENDING, "redirect to a second-factor page")
    own = exchange.path.lower().rstrip("/")
    if (any(word in path for word in _BACK_TO_LOGIN) or any(word in query for word in _FAILED_QUERY)
            or (len(own) > 1 and path.rstrip("/") == own)):
        return LoginVerdict(LoginOutcome.FAILED, "redirect back to the login page")
    return LoginVerdict(LoginOutcome.SUCCEEDED, "redirect into the app")


def judge_login_response(exchange: HttpExchange, doc: object | None = None) -> LoginVerdict:
    """Did this login exchange issue a credential? Reads the status, the response headers and at most
    MAX_OUTCOME_BODY bytes of the response body (`doc`: that body already parsed as JSON, if it was).

    In order: 429 or "too many attempts" (rate limited); a second-factor answer (pending); a structured
    failure (`"success": false`, `"status": "error"`, an `error` field); a failure status (400, 401, 403,
    422); a redirect (into the app, or back to the login page); a credential (a token in the body or a
    header); a failure message; a session cookie; a success flag, message or the signed-in user; a login
    form shown again; a credential field present but empty. Anything else is unknown.
    """
    status = exchange.status
    if status is None:
        return LoginVerdict(LoginOutcome.UNKNOWN, "no status")
    if status == 429:
        return LoginVerdict(LoginOutcome.RATE_LIMITED, "status 429")
    if status >= 500:
        return LoginVerdict(LoginOutcome.UNKNOWN, "server error")
    ev = _Evidence()
    body = exchange.response_body
    has_password_form = False
    if body is not None and body.data and not body.truncated and len(body.data) <= MAX_OUTCOME_BODY:
        if doc is None and body.data.lstrip()[:1] in (b"{", b"["):
            doc = parse_json(body.data)
        if doc is not None or body.data.strip() in (b"null", b"false"):
            _read_json(doc, ev)
            _read_statuses(ev)
        elif body.media_type in ("text/html", "application/xhtml+xml"):
            text, has_password_form = _visible_text(body.data.decode("utf-8", "replace"))
            ev.messages.append(text)
        elif body.media_type.startswith("text/") or body.media_type.endswith("xml") or not body.media_type:
            ev.messages.append(body.data.decode("utf-8", "replace"))
    said = _word_classes(ev.messages)  # free text only: `"error": "invalid_grant"` is structure, read above
    words = said | _word_classes(ev.statuses)
    if _RATE in words:
        return LoginVerdict(LoginOutcome.RATE_LIMITED, "too many attempts")
    if ev.mfa and not ev.token:  # a sign-in token issued is a success, whatever an `mfa` flag says
        return LoginVerdict(LoginOutcome.PENDING, ev.mfa)
    if (ev.failure or status in _CLIENT_FAILURES) and _MFA in said and _FAILED not in said and not ev.token:
        # Entra ID answers `invalid_grant` with "you must use multi-factor authentication" (AADSTS50076);
        # many APIs answer 401 or 403 "Two-factor authentication required" or "Verification code sent".
        return LoginVerdict(LoginOutcome.PENDING, "refusal that asks for a second factor")
    if ev.failure:
        return LoginVerdict(LoginOutcome.FAILED, ev.failure)
    if status in _CLIENT_FAILURES:
        return LoginVerdict(LoginOutcome.FAILED, f"status {status}")
    if 300 <= status < 400:
        verdict = _redirect(exchange)
        if verdict is not None:
            return verdict
    if ev.token:
        return LoginVerdict(LoginOutcome.SUCCEEDED, ev.token)
    if any(not _is_empty(exchange.response_headers.get(name) or "") for name in _RESPONSE_TOKEN_HEADERS):
        return LoginVerdict(LoginOutcome.SUCCEEDED, "token in a response header")
    if ev.success:
        return LoginVerdict(LoginOutcome.SUCCEEDED, ev.success)
    if _FAILED in words:
        return LoginVerdict(LoginOutcome.FAILED, "failure message")
    if 400 <= status < 500:
        return LoginVerdict(LoginOutcome.UNKNOWN, f"status {status}")
    if has_password_form:
        return LoginVerdict(LoginOutcome.FAILED, "login form shown again")
    if _MFA in words:
        return LoginVerdict(LoginOutcome.PENDING, "second-factor message")
    if _session_cookie_set(exchange):
        return LoginVerdict(LoginOutcome.SUCCEEDED, "session cookie set")
    if _SUCCESS in words:
        return LoginVerdict(LoginOutcome.SUCCEEDED, "success message")
    if ev.identity:
        return LoginVerdict(LoginOutcome.SUCCEEDED, "signed-in user returned")
    if ev.empty_credential:
        return LoginVerdict(LoginOutcome.FAILED, ev.empty_credential)
    return LoginVerdict(LoginOutcome.UNKNOWN, "no credential seen")
