"""Known-weak HMAC secrets and passwords, built in so a weak JWT key or Basic password is caught
without any configuration, and the sliced, memoized check of a JWT against them.

The list is most-likely-first: hand-written JWT samples and framework defaults (docs, tutorials,
templates, unset environment variables), hand-written common passwords and vendor defaults, then
`otel_apisec/data/weak_secrets.txt` (19,000 entries: the most common leaked passwords and common
English words, ranked; generated from the `zxcvbn` PyPI package, MIT, see `weak_secrets.NOTICE`).
`DetectConfig.weak_secrets` adds more, tried first.

Cost: one HMAC per candidate (about 1.6 us for HS256 on a 150-byte signing input), so a whole pass
over ~20k candidates costs tens of milliseconds. A token is therefore tried in slices of at most
`SLICE_BYTES` hashed per sighting (about 2,500 candidates, ~4 ms, for an ordinary token; fewer for a
big one), resuming where the last sighting stopped; the answer is memoized per token. A session
token is seen many times, so its whole list is tried within a few requests, the likeliest secrets
on the first.

Findings only ever say "in the known-weak list", never which entry matched.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import resources

from otel_apisec.detect.api import DetectContext
from otel_apisec.detect.token_jwt import ParsedJwt, hmac_secret_in

__all__ = [
    "BUILTIN_SECRET_BYTES",
    "SLICE_BYTES",
    "WEAK_SECRETS",
    "candidates",
    "is_weak_password",
    "slice_size",
    "weak_secret_used",
]

_JWT_SAMPLES = (
    # secrets copied from JWT docs, tutorials and framework templates
    "secret", "Secret", "SECRET", "secret123", "secret1", "secretkey", "secret_key", "secret-key",
    "secretKey", "SecretKey", "SECRET_KEY", "mysecret", "mySecret", "my_secret", "my-secret",
    "mysecretkey", "mySecretKey", "my_secret_key", "my-secret-key", "your-256-bit-secret",
    "your-384-bit-secret", "your-512-bit-secret", "your_jwt_secret", "your-jwt-secret",
    "yoursecret", "your_secret", "your-secret", "your_secret_key", "your-secret-key",
    "jwt", "jwtsecret", "jwt_secret", "jwt-secret", "JWT_SECRET", "jwtSecret", "jwtkey", "jwt_key",
    "jwt-key", "jwtpass", "jwttoken", "jwt_token", "token", "tokensecret", "token_secret",
    "token-secret", "supersecret", "super_secret", "super-secret", "supersecretkey",
    "super-secret-key", "super_secret_key", "topsecret", "top_secret", "verysecret",
    "very_secret", "shhhhh", "shhhhhhared-secret", "shared-secret", "sharedsecret",
    "shared_secret", "key", "Key", "KEY", "mykey", "my_key", "my-key", "private", "privatekey",
    "private_key", "private-key", "signingkey", "signing_key", "signing-key", "hmac", "hmacsecret",
    "hmac_secret", "hmac-secret", "hs256", "HS256", "sign", "signature", "auth", "authsecret",
    "auth_secret", "auth-secret", "authkey", "auth_key", "apisecret", "api_secret", "api-secret",
    "apikey", "api_key", "api-key", "appsecret", "app_secret", "app-secret", "appkey", "app_key",
    "app-key", "accesstokensecret", "access_token_secret", "refreshtokensecret",
    "refresh_token_secret", "sessionsecret", "session_secret", "session-secret",
    "keyboard cat", "keyboardcat", "change-me", "change_me", "changeme", "ChangeMe", "CHANGEME",
    "changethis", "change_this", "change-this", "changeit", "replaceme", "replace_me",
    "replace-me", "todo", "TODO", "fixme", "default", "Default", "defaultsecret",
    "default_secret", "default-secret", "dev", "devsecret", "dev_secret", "dev-secret",
    "development", "test", "Test", "TEST", "testing", "testsecret", "test_secret", "test-secret",
    "testkey", "test_key", "test-key", "demo", "example", "sample", "local", "localsecret",
    "staging", "production", "prod", "notasecret", "not-a-secret", "not_a_secret", "nosecret",
    "insecure", "unsafe", "s3cr3t", "s3cret", "secr3t", "$ecret", "gfg_jwt_secret_key",
    "a-string-secret-at-least-256-bits-long", "thisismysecret", "this_is_my_secret",
    "thisisasecret", "ThisIsMySecret", "this-is-a-secret", "thisisatestsecret",
    "cookie-secret", "cookie_secret", "cookiesecret", "encryption_key", "encryptionkey",
    "django-insecure", "rails_secret", "laravel", "flask", "express", "nodejs", "node",
    "spring", "springboot", "java", "python", "golang", "dotnet", "keycloak", "auth0", "okta",
    "firebase", "supabase", "hasura", "strapi", "parse", "loopback", "nestjs", "fastapi",
    "12345678901234567890123456789012", "00000000000000000000000000000000",
    "0123456789abcdef", "0123456789ABCDEF", "0123456789abcdef0123456789abcdef",
    "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz123456", "abcdef", "abcdef123456",
    "aaaaaaaa", "xxxxxxxx", "xxxxxxxxxxxxxxxx", "secretsecret", "secretsecretsecret",
    "secretpassword", "secret_password", "password_secret", "pass_secret",
)

_PASSWORDS = (
    # the most common passwords and vendor defaults
    "password", "Password", "PASSWORD", "password1", "Password1", "password123", "Password123",
    "password!", "Password!", "Password1!", "Passw0rd", "passw0rd", "P@ssw0rd", "P@ssword",
    "p@ssw0rd", "p@ssword", "pa55word", "pass", "pass123", "pass1234", "passwd", "passwort",
    "motdepasse", "contrasena", "senha", "123456", "1234567", "12345678", "123456789",
    "1234567890", "12345", "1234", "123", "12", "1", "0", "00000", "000000", "0000000", "00000000",
    "111111", "11111111", "121212", "123123", "123321", "654321", "666666", "696969", "777777",
    "888888", "999999", "112233", "1q2w3e", "1q2w3e4r", "1q2w3e4r5t", "1qaz2wsx", "q1w2e3r4",
    "qwerty", "Qwerty", "QWERTY", "qwerty1", "qwerty12", "qwerty123", "qwertyuiop", "qwer1234",
    "asdf", "asdfgh", "asdfghjkl", "asdf1234", "zxcvbn", "zxcvbnm", "1qazxsw2", "azerty",
    "abc123", "abcd1234", "abc", "abcd", "abcde", "abcdefg", "abcdefgh", "a1b2c3", "a1b2c3d4",
    "aa123456", "admin", "Admin", "ADMIN", "admin1", "admin12", "admin123", "Admin123",
    "admin@123", "administrator", "adminadmin", "root", "toor", "rootroot", "root123", "user",
    "user1", "user123", "username", "guest", "guest123", "login", "welcome", "Welcome1",
    "welcome1", "welcome123", "letmein", "letmein1", "trustno1", "iloveyou", "monkey",
    "dragon", "master", "sunshine", "princess", "football", "baseball", "soccer", "hockey",
    "superman", "batman", "starwars", "shadow", "michael", "jennifer", "jordan", "hunter",
    "hunter2", "ranger", "buster", "tigger", "charlie", "daniel", "ashley", "bailey", "access",
    "freedom", "whatever", "computer", "internet", "killer", "pepper", "ginger", "cheese",
    "summer", "winter", "spring2024", "Summer2024", "Winter2024", "Summer2023", "Spring2023",
    "Autumn2023", "Fall2023", "2023", "2024", "2025", "Company123", "company", "secure",
    "security", "system", "manager", "oracle", "mysql", "postgres", "postgresql", "sa",
    "sysadmin", "support", "service", "operator", "public", "private1", "cisco", "tomcat",
    "jenkins", "docker", "vagrant", "ubuntu", "raspberry", "alpine", "elastic", "kibana",
    "rabbitmq", "redis", "mongo", "mongodb", "couchdb", "minio", "minioadmin", "minio123",
    "grafana", "prometheus", "nagios", "zabbix", "ansible", "openstack", "solarwinds",
    "changeme1", "changeme123", "Changeme1", "temp", "temp123", "temppass", "temporary",
    "letmein123", "qazwsx", "zaq12wsx", "passpass", "testtest", "test123", "test1234",
    "Test1234", "testing123", "demo123", "demodemo", "default1", "nopassword", "none", "null",
    "blank", "empty", "open", "opensesame", "god", "love", "sex", "fuckyou", "666", "7777777",
    "987654321", "9876543210", "147258369", "159753", "11111", "55555", "555555", "1111",
    "0000", "1212", "2000", "4321", "6969", "lol123", "michelle", "jessica", "matrix",
    "mustang", "harley", "ferrari", "corvette", "mercedes", "chelsea", "arsenal", "liverpool",
    "yankees", "cowboys", "eagles", "snoopy", "pokemon", "naruto", "minecraft", "myspace1",
    "linkedin", "facebook", "google", "apple", "samsung", "microsoft", "windows", "linux",
)

_FRAMEWORK_SAMPLES = (
    # secrets printed in framework and library docs, READMEs and tutorials, and what an unset or
    # misquoted environment variable turns into
    "", " ", "undefined", "null", "None", "nil", "[object Object]", "process.env.JWT_SECRET",
    "process.env.SECRET", "${JWT_SECRET}", "$JWT_SECRET", "%JWT_SECRET%", "{{JWT_SECRET}}",
    "env.JWT_SECRET", "JWT_SECRET_KEY", "jwt_secret_key", "jwt-secret-key", "JWTSecret", "JwtSecret",
    "jwtPrivateKey", "jwt_private_key", "SECRET_KEY_BASE", "secret_key_base", "APP_KEY", "APP_SECRET",
    "AllYourBase", "my_secret_key", "my$ecretK3y", "example_key", "secret key", "secret-key-here",
    "your-secret-key-here", "your_secret_key_here", "your-secret-here", "your_jwt_secret_key",
    "your-jwt-secret-key", "put-your-secret-here", "enter-your-secret", "insert-secret-here",
    "super-secret-jwt-key", "supersecretjwtkey", "super_secret_jwt_key", "mysupersecretkey",
    "MySuperSecretKey", "my-super-secret-key", "my_super_secret_key", "mysupersecret",
    "ThisIsMySecretKey", "thisismysecretkey", "this is my custom Secret key for authentication",
    "ThisIsASecretKey", "this-is-a-very-secret-key", "secretOrPrivateKey", "secretOrKey",
    "somesecret", "some-secret", "some_secret", "some-secret-key", "anysecret", "any-secret",
    "myjwts3cr3t", "myJwtSecret", "myjwtsecret", "my-jwt-secret", "my_jwt_secret",
    "bezKoderSecretKey", "bezkoder-secret-key", "javainuse", "javainuse-secret-key", "techgeeknext",
    "secretkey123", "secretKey123", "Secret123", "SecretKey123", "secret@123", "Secret@123",
    "jwt_secret_123", "jwtsecret123", "secret-jwt", "SuperSecretPassword", "supersecretpassword",
    "super-secret-password", "qwertyuiopasdfghjklzxcvbnm123456",
    "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
    "DO NOT USE THIS VALUE. INSTEAD, CREATE A COMPLEX SECRET AND KEEP IT SAFE OUTSIDE OF THE SOURCE CODE.",
    "django-insecure-secret-key", "django-secret-key", "django_secret_key", "django", "Django",
    "flask-secret-key", "flask_secret_key", "flasksecret", "dev-secret-key", "development-secret",
    "rails", "rails-secret", "laravel-secret", "laravel_secret", "symfony", "ThisTokenIsNotSoSecretChangeIt",
    "express-secret", "express_secret", "nodejs-secret", "spring-secret", "springsecret", "mysecretpassword",
    "gin-jwt", "gin", "golang-secret", "go-secret", "echo", "fiber", "koa", "sails", "meteor",
    "keycloak-secret", "auth0-secret", "client_secret", "clientsecret", "client-secret",
    "oauth", "oauth2", "oauth_secret", "openid", "graphql", "apollo", "prisma", "directus",
    "payload", "ghost", "wordpress", "drupal", "joomla", "magento", "shopify", "odoo", "moodle",
    "admin_secret", "adminsecret", "root_secret", "user_secret", "password_reset_secret",
    "reset_secret", "refresh_secret", "access_secret", "refreshsecret", "accesssecret",
    "refresh-token-secret", "access-token-secret", "ACCESS_TOKEN_SECRET", "REFRESH_TOKEN_SECRET",
    "TOKEN_SECRET", "TOKEN_KEY", "tokenkey", "token_key", "token-key", "SECRET_TOKEN", "secret_token",
    "secrettoken", "secret-token", "my_token_secret", "mytokensecret", "signing_secret",
    "signingsecret", "signing-secret", "SIGNING_KEY", "HMAC_SECRET", "hmackey", "hmac_key",
    "hmac-key", "HS256_SECRET", "hs256-secret", "HS512", "hs512", "HS384", "hs384",
)

def _load_data() -> tuple[str, ...]:
    """The generated list shipped in `otel_apisec/data`; none when the file is missing (a broken
    install loses coverage, never detection as a whole)."""
    try:
        text = resources.files("otel_apisec").joinpath("data/weak_secrets.txt").read_text("utf-8")
    except (OSError, ModuleNotFoundError):
        return ()
    return tuple(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"))


def _ordered(*groups: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for group in groups:
        for value in group:
            if value not in seen:
                seen.add(value)
                out.append(value)
    return tuple(out)


_FLASK_SAMPLE = b'_5#y2L"F4Q8z\n\xec]/'  # Flask's quickstart `secret_key` example (bytes, not UTF-8)
_HAND_WRITTEN = _ordered(_JWT_SAMPLES, _FRAMEWORK_SAMPLES, _PASSWORDS)
_ORDERED = _ordered(_HAND_WRITTEN, _load_data())

WEAK_SECRETS: frozenset[str] = frozenset(_ORDERED)
"""Every built-in weak secret or password (about 20,000 entries)."""

BUILTIN_SECRET_BYTES: tuple[bytes, ...] = (*(s.encode("utf-8", "surrogatepass") for s in _ORDERED), _FLASK_SAMPLE)
"""The whole built-in list as HMAC keys, encoded once at import, most likely first."""

_LOWER_WEAK: frozenset[str] = frozenset(s.lower() for s in WEAK_SECRETS)


def is_weak_password(password: str, extra: frozenset[str] = frozenset()) -> bool:
    """In the built-in list ignoring case (`PASSWORD` is as weak as `password`), or in `extra`."""
    lowered = password.lower()
    return lowered in _LOWER_WEAK or password in extra or lowered in extra


@lru_cache(maxsize=8)
def candidates(extra: frozenset[str] = frozenset()) -> tuple[bytes, ...]:
    """HMAC keys to try, in order: the configured `extra` secrets (sorted), then the built-in list.
    Cached per `extra` set: an Analyzer's config builds it once."""
    builtin = set(BUILTIN_SECRET_BYTES)
    configured = sorted({s.encode("utf-8", "surrogatepass") for s in extra} - builtin)
    return (*configured, *BUILTIN_SECRET_BYTES)


SLICE_BYTES = 1 << 20
"""Bytes hashed per sighting of a token at most (signing input plus HMAC padding, per candidate):
about 2,500 candidates (~4 ms) for a 150-byte signing input, 67 for a 15 KiB one (~0.7 ms)."""
_HMAC_OVERHEAD = 256
"""Bytes an HMAC costs besides the message: the inner and outer key blocks and the call itself."""
_MIN_SLICE = 16


def slice_size(parsed: ParsedJwt) -> int:
    """Candidates tried per sighting of this token: `SLICE_BYTES` worth, at least a few."""
    return max(_MIN_SLICE, SLICE_BYTES // (len(parsed.signing_input) + _HMAC_OVERHEAD))


def weak_secret_used(
    parsed: ParsedJwt, alg: str, token_hash: str, ctx: DetectContext, afford: Callable[[int, DetectContext], bool]
) -> bool:
    """True once a known-weak secret is found to sign this token; the answer is memoized by token hash.

    Each sighting tries the next slice of `candidates()` (see `slice_size`) and remembers where it
    stopped, so a token costs at most one slice per request, and nothing once answered. A slice is
    paid for with `afford(count, ctx)` (the Analyzer's HMAC rate limit): when it refuses, nothing is
    tried and nothing remembered, and a later sighting goes on from the same place.
    """
    key = f"tokens.weak_secret:{token_hash}"
    cached = ctx.memo.get(key)
    if isinstance(cached, bool):
        return cached
    done = cached if isinstance(cached, int) and cached > 0 else 0
    keys = candidates(ctx.config.weak_secrets)
    stop = min(len(keys), done + slice_size(parsed))
    if stop <= done:
        ctx.memo.put(key, False)
        return False
    if not afford(stop - done, ctx):
        return False
    weak = hmac_secret_in(parsed, alg, keys[done:stop])
    ctx.memo.put(key, True if weak else (False if stop >= len(keys) else stop))
    return weak
