"""Known-weak HMAC secrets and passwords, built in so a weak JWT key or Basic password is caught
without any data file. Hand-written from well-known defaults (framework samples, tutorials,
vendor defaults, keyboard walks, the most common passwords); `DetectConfig.weak_secrets` adds more.

Findings only ever say "in the known-weak list", never which entry matched.
"""

from __future__ import annotations

__all__ = ["WEAK_SECRETS", "WEAK_SECRET_BYTES", "is_weak_password"]

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

WEAK_SECRETS: frozenset[str] = frozenset(_JWT_SAMPLES + _PASSWORDS)
"""Every built-in weak secret or password (a few hundred entries)."""

WEAK_SECRET_BYTES: tuple[bytes, ...] = tuple(sorted(s.encode("utf-8") for s in WEAK_SECRETS))
"""The same list as HMAC keys, encoded once at import."""

_LOWER_WEAK: frozenset[str] = frozenset(s.lower() for s in WEAK_SECRETS)


def is_weak_password(password: str, extra: frozenset[str] = frozenset()) -> bool:
    """In the built-in list ignoring case (`PASSWORD` is as weak as `password`), or in `extra`."""
    lowered = password.lower()
    return lowered in _LOWER_WEAK or password in extra or lowered in extra
