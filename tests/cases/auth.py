"""Regression cases for the authentication rules (APISEC-AUTH-*)."""

from __future__ import annotations

import base64

from otel_apisec.testing import make_exchange
from tests.cases import Case


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


LOGIN = "https://api.example.com/api/v1/auth/login"
CREDS = {"username": "jane", "password": "c0rrect-Horse-battery"}

CASES = [
    Case(
        "APISEC-AUTH-001",
        True,
        "login rejected with 401",
        make_exchange(LOGIN, "POST", json=CREDS, status=401, response_json={"error": "invalid credentials"}),
        "request.path",
    ),
    Case(
        "APISEC-AUTH-001",
        True,
        "form login answered 200 with success false",
        make_exchange(
            "https://shop.example.com/account/signin",
            "POST",
            body="email=a%40b.c&password=x1y2z3w4",
            content_type="application/x-www-form-urlencoded",
            response_json={"success": False},
        ),
        "request.path",
    ),
    Case(
        "APISEC-AUTH-001",
        False,
        "login succeeded and returned a token",
        make_exchange(
            LOGIN,
            "POST",
            json=CREDS,
            status=200,
            response_json={"access_token": "opaque", "expires_in": 3600},
        ),
    ),
    # Login outcome from what the response says (issue 14): failures answered 200, in structure or words.
    Case(
        "APISEC-AUTH-001",
        True,
        "login answered 200 with status fail and a message",
        make_exchange(LOGIN, "POST", json=CREDS, status=200,
                      response_json={"status": "fail", "message": "Password is not correct for the given username."}),
        "request.path",
    ),
    Case(
        "APISEC-AUTH-001",
        True,
        "OAuth2 token endpoint answered invalid_grant",
        make_exchange(
            "https://auth.example.com/oauth/token", "POST",
            body="grant_type=password&username=johndoe&password=A3ddj3w", content_type="application/x-www-form-urlencoded",
            status=400, response_json={"error": "invalid_grant", "error_description": "Wrong email or password."},
        ),
        "request.path",
    ),
    Case(
        "APISEC-AUTH-001",
        True,
        "GraphQL login mutation answered 200 with an errors array",
        make_exchange(
            "https://api.example.com/graphql", "POST",
            json={"query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                  "variables": {"email": "jane@example.com", "password": "c0rrect-Horse"}},
            response_json={"errors": [{"message": "Invalid credentials"}], "data": {"login": None}},
        ),
        "request.path",
    ),
    *[
        Case("APISEC-AUTH-001", True, f"login answered 200 with a {lang} failure message",
             make_exchange(LOGIN, "POST", json=CREDS, status=200, response_json={"message": text}), "request.path")
        for lang, text in (("German", "Anmeldung fehlgeschlagen"), ("French", "Mot de passe incorrect"),
                           ("Spanish", "Contraseña inválida"), ("Portuguese", "Senha incorreta"),
                           ("Italian", "Password errata"), ("Dutch", "Wachtwoord onjuist"),
                           ("Russian", "Неверный пароль"), ("Chinese", "密码错误"),
                           ("Japanese", "パスワードが正しくありません"))
    ],
    Case(
        "APISEC-AUTH-001",
        True,
        "form login redirected back to the login page",
        make_exchange("https://app.example.com/login", "POST", body="username=jane&password=x1y2z3w4",
                      content_type="application/x-www-form-urlencoded", status=302,
                      response_headers=[("Location", "/login?error")]),
        "request.path",
    ),
    Case(
        "APISEC-AUTH-001",
        True,
        "form login shown again with 200",
        make_exchange("https://app.example.com/accounts/login/", "POST", body="username=jane&password=x1y2z3w4",
                      content_type="application/x-www-form-urlencoded", status=200, response_content_type="text/html",
                      response_body='<form><p>Please enter a correct username and password.</p>'
                                    '<input type="password" name="password"></form>'),
        "request.path",
    ),
    Case(
        "APISEC-AUTH-001",
        False,
        "form login redirected into the app with a session cookie",
        make_exchange("https://app.example.com/login", "POST", body="username=jane&password=x1y2z3w4",
                      content_type="application/x-www-form-urlencoded", status=302,
                      response_headers=[("Location", "/dashboard"), ("Set-Cookie", "JSESSIONID=5F1; HttpOnly")]),
    ),
    Case(
        "APISEC-AUTH-001",
        False,
        "JWT issued with a 'failed attempts' notice beside it",
        make_exchange(LOGIN, "POST", json=CREDS, status=200, response_json={
            "token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.dGhpcy1pcy1hLXNpZ25hdHVyZQ",
            "message": "Welcome back! 3 failed attempts since your last login."}),
    ),
    Case(
        "APISEC-AUTH-001",
        False,
        "second factor required (pending, not a failure)",
        make_exchange(LOGIN, "POST", json=CREDS, status=200,
                      response_json={"status": "MFA_REQUIRED", "stateToken": "007ucIX7PATyn94hsHfOLVaXAmOBkKHWnOOLG43bsb"}),
    ),
    Case(
        "APISEC-AUTH-001",
        False,
        "401 asking for a two-factor OTP code (pending, not a failure)",
        make_exchange(LOGIN, "POST", json=CREDS, status=401,
                      response_json={"message": "Must specify two-factor authentication OTP code."}),
    ),
    Case(
        "APISEC-AUTH-001",
        False,
        "403 'verification code sent' (pending, not a failure)",
        make_exchange(LOGIN, "POST", json=CREDS, status=403,
                      response_json={"detail": "A verification code was sent to your phone."}),
    ),
    Case(
        "APISEC-AUTH-001",
        True,
        "401 'invalid OTP' (the second step failed)",
        make_exchange(LOGIN, "POST", json=CREDS, status=401, response_json={"detail": "Invalid OTP."}),
        "request.path",
    ),
    Case(
        "APISEC-AUTH-001",
        False,
        "rate limited with 429 (the password was not checked)",
        make_exchange(LOGIN, "POST", json=CREDS, status=429, response_json={"message": "Too Many Attempts."}),
    ),
    Case(
        "APISEC-AUTH-001",
        False,
        "success message with a session cookie, in German",
        make_exchange(LOGIN, "POST", json=CREDS, status=200, response_json={"message": "Anmeldung erfolgreich"},
                      response_headers=[("Set-Cookie", "sid=abc123; Path=/; HttpOnly")]),
    ),
    Case(
        "APISEC-AUTH-002",
        True,
        "API key in the query string",
        make_exchange(
            "https://api.example.com/v1/weather?city=Oslo&api_key=3f9a1c2e7b",
        ),
        "request.query.api_key",
    ),
    Case(
        "APISEC-AUTH-002",
        True,
        "password in the query string",
        make_exchange("https://api.example.com/v1/login?user=jane&password=hunter22"),
        "request.query.password",
    ),
    Case(
        "APISEC-AUTH-002",
        False,
        "blank api_key and credential-sounding names",
        make_exchange("https://api.example.com/v1/weather?api_key=&token_type=bearer&password_policy=strict"),
    ),
    Case(
        "APISEC-AUTH-003",
        True,
        "Basic credentials over plain HTTP",
        make_exchange("http://api.example.com/v1/reports", headers=basic("svc", "Long-and-random-42")),
        "request.header.authorization",
    ),
    Case(
        "APISEC-AUTH-003",
        True,
        "API key header over plain HTTP",
        make_exchange("http://api.example.com/v1/reports", headers={"X-API-Key": "k-123456789"}),
        "request.header.x-api-key",
    ),
    Case(
        "APISEC-AUTH-003",
        False,
        "plain HTTP hop behind a TLS-terminating proxy",
        make_exchange(
            "http://api.example.com/v1/reports",
            headers={**basic("svc", "Long-and-random-42"), "X-Forwarded-Proto": "https"},
        ),
    ),
    Case(
        "APISEC-AUTH-004",
        True,
        "Basic admin:admin accepted",
        make_exchange("https://api.example.com/admin", headers=basic("admin", "admin")),
        "request.header.authorization",
    ),
    Case(
        "APISEC-AUTH-004",
        True,
        "Basic password shorter than 8 accepted",
        make_exchange("https://api.example.com/admin", headers=basic("ops", "Zx9!q")),
        "request.header.authorization",
    ),
    Case(
        "APISEC-AUTH-004",
        True,
        "login succeeded with a known-weak password",
        make_exchange(
            LOGIN,
            "POST",
            json={"email": "jane@example.com", "password": "Password1"},
            status=200,
            response_json={"token": "2YotnFZFEjr1zCsicMWpAA"},
        ),
        "request.body",
    ),
    Case(
        "APISEC-AUTH-004",
        False,
        "Basic admin:admin rejected (a guess, not a weak account)",
        make_exchange("https://api.example.com/admin", headers=basic("admin", "admin"), status=401),
    ),
    Case(
        "APISEC-AUTH-004",
        False,
        "Basic with a long random password",
        make_exchange("https://api.example.com/admin", headers=basic("ops", "vT7#pQ2m!Lx9wR4z")),
    ),
    Case(
        "APISEC-AUTH-005",
        True,
        "anonymous DELETE succeeded",
        make_exchange("https://api.example.com/v1/orders/17", "DELETE", status=204),
        "request.path",
    ),
    Case(
        "APISEC-AUTH-005",
        False,
        "authenticated DELETE",
        make_exchange(
            "https://api.example.com/v1/orders/17",
            "DELETE",
            status=204,
            headers={"Authorization": "Bearer 2YotnFZFEjr1zCsicMWpAA"},
        ),
    ),
    Case(
        "APISEC-AUTH-005",
        False,
        "anonymous DELETE rejected",
        make_exchange("https://api.example.com/v1/orders/17", "DELETE", status=401),
    ),
    Case(
        "APISEC-AUTH-005",
        False,
        "anonymous POST to a contact form",
        make_exchange("https://api.example.com/v1/contact", "POST", json={"message": "hi"}, status=201),
    ),
]
