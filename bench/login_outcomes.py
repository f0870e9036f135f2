"""Login outcomes from what the response says: a table of login answers written after public API
documentation styles, each with the outcome a person reading the docs would give it.

    .venv/bin/python bench/login_outcomes.py [-v]

Every exchange goes through the real Analyzer (`login_attempt`, as the auth detector sees it).
Reported: success taken as failure, failure taken as success, a pending login (a second factor
asked for) taken as a failure or a success and a failure taken as pending (all wrong outcomes), known
outcomes left unknown, and exchanges not recognised as a login at all. `-v` prints every row and its
reason.

Expected outcomes: True (a credential was issued), False (none, and the answer says so), PENDING
(a second factor is required: `LoginAttempt.pending`, `apisec.auth.login.pending`), None (the attempt
was rate limited, or nothing tells).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from otel_apisec.detect import Analyzer, DetectConfig
from otel_apisec.detect.auth_login import judge_login_response, login_attempt
from otel_apisec.model import HttpExchange
from otel_apisec.testing import make_exchange

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
OPAQUE = "2YotnFZFEjr1zCsicMWpAA"
JSON_CREDS = {"username": "jane", "password": "c0rrect-Horse"}
FORM_CREDS = "username=jane&password=c0rrect-Horse"
FORM = "application/x-www-form-urlencoded"
HTML = "text/html; charset=utf-8"
PENDING = "pending"


@dataclass(frozen=True)
class Row:
    style: str
    shape: str
    expected: bool | str | None
    exchange: HttpExchange


def api(url: str, status: int, response: object = None, **kw: object) -> HttpExchange:
    return make_exchange(url, "POST", json=kw.pop("request", JSON_CREDS), status=status, response_json=response, **kw)  # type: ignore[arg-type]


def form(url: str, status: int, **kw: object) -> HttpExchange:
    return make_exchange(url, "POST", body=FORM_CREDS, content_type=FORM, status=status, **kw)  # type: ignore[arg-type]


def page(title: str, text: str, password_input: bool) -> str:
    field = '<input type="password" name="password">' if password_input else ""
    return (f"<!doctype html><html><head><title>{title}</title><script>function e(){{console.error('invalid')}}"
            f"</script></head><body><form>{field}</form><p>{text}</p></body></html>")


TOKEN_URL = "https://auth.example.com/oauth/token"
LOGIN = "https://api.example.com/api/auth/login"
GQL = "https://api.example.com/graphql"
GQL_BODY = {"query": "mutation Login($email: String!, $password: String!) { login(email: $email, password: $password)"
                     " { token } }", "variables": {"email": "jane@example.com", "password": "c0rrect-Horse"}}
OAUTH_FORM = "grant_type=password&username=johndoe&password=A3ddj3w&client_id=s6BhdRkqt3"

ROWS = [
    # RFC 6749 section 5: the token endpoint (resource owner password grant).
    Row("RFC 6749", "access token response", True, make_exchange(
        TOKEN_URL, "POST", body=OAUTH_FORM, content_type=FORM, status=200,
        response_json={"access_token": OPAQUE, "token_type": "example", "expires_in": 3600,
                       "refresh_token": "tGzv3JOkF0XG5Qx2TlKWIA", "example_parameter": "example_value"})),
    *[Row("RFC 6749", f"error {error}", False, make_exchange(
        TOKEN_URL, "POST", body=OAUTH_FORM, content_type=FORM, status=status, response_json={"error": error}))
      for error, status in (("invalid_request", 400), ("invalid_client", 401), ("invalid_grant", 400),
                            ("unauthorized_client", 400), ("invalid_grant", 200))],
    # Auth0 /oauth/token.
    Row("Auth0", "tokens", True, api(TOKEN_URL, 200, {"access_token": JWT, "id_token": JWT, "scope": "openid",
                                                      "expires_in": 86400, "token_type": "Bearer"})),
    Row("Auth0", "wrong email or password", False, api(
        TOKEN_URL, 403, {"error": "invalid_grant", "error_description": "Wrong email or password."})),
    Row("Auth0", "user is blocked", False, api(
        TOKEN_URL, 401, {"error": "unauthorized", "error_description": "user is blocked"})),
    Row("Auth0", "mfa_required (pending, not success yet)", PENDING, api(
        TOKEN_URL, 403, {"error": "mfa_required", "error_description": "Multifactor authentication required",
                         "mfa_token": "Fe26.2*SERVER_1569494016*abc"})),
    Row("Auth0", "too_many_attempts 429", None, api(
        TOKEN_URL, 429, {"error": "too_many_attempts", "error_description": "Your account has been blocked"})),
    # Firebase Auth REST signInWithPassword.
    Row("Firebase", "idToken", True, api(
        "https://identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=AIza", 200,
        {"kind": "identitytoolkit#VerifyPasswordResponse", "localId": "ZY1rJK0eYLg", "email": "jane@example.com",
         "displayName": "", "idToken": JWT, "registered": True, "refreshToken": "AEu4IL3f", "expiresIn": "3600"},
        request={"email": "jane@example.com", "password": "pw-123456", "returnSecureToken": True})),
    *[Row("Firebase", message, False, api(
        "https://identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=AIza", 400,
        {"error": {"code": 400, "message": message, "errors": [{"message": message, "domain": "global",
                                                                  "reason": "invalid"}]}},
        request={"email": "jane@example.com", "password": "pw-123456", "returnSecureToken": True}))
      for message in ("INVALID_PASSWORD", "EMAIL_NOT_FOUND", "INVALID_LOGIN_CREDENTIALS", "USER_DISABLED")],
    Row("Firebase", "TOO_MANY_ATTEMPTS_TRY_LATER", None, api(
        "https://identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=AIza", 400,
        {"error": {"code": 400, "message": "TOO_MANY_ATTEMPTS_TRY_LATER"}},
        request={"email": "jane@example.com", "password": "pw-123456"})),
    Row("Firebase", "second factor pending", PENDING, api(
        "https://identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=AIza", 200,
        {"localId": "ZY1rJK0eYLg", "mfaPendingCredential": "AEu4IL3f", "mfaInfo": [{"phoneInfo": "+*******7890"}]},
        request={"email": "jane@example.com", "password": "pw-123456"})),
    # AWS Cognito InitiateAuth (USER_PASSWORD_AUTH).
    Row("Cognito", "AuthenticationResult", True, api(
        "https://cognito-idp.eu-west-1.amazonaws.com/login", 200,
        {"AuthenticationResult": {"AccessToken": JWT, "ExpiresIn": 3600, "IdToken": JWT, "RefreshToken": "eyJjdHki",
                                  "TokenType": "Bearer"}, "ChallengeParameters": {}})),
    Row("Cognito", "SOFTWARE_TOKEN_MFA challenge", PENDING, api(
        "https://cognito-idp.eu-west-1.amazonaws.com/login", 200,
        {"ChallengeName": "SOFTWARE_TOKEN_MFA", "ChallengeParameters": {}, "Session": "AYABeC1"})),
    Row("Cognito", "NotAuthorizedException", False, api(
        "https://cognito-idp.eu-west-1.amazonaws.com/login", 400,
        {"__type": "NotAuthorizedException", "message": "Incorrect username or password."})),
    # Okta Authentication API /api/v1/authn.
    Row("Okta", "SUCCESS sessionToken", True, api(
        "https://example.okta.com/api/v1/authn", 200,
        {"expiresAt": "2025-01-01T00:00:00.000Z", "status": "SUCCESS", "sessionToken": "20111hGAwd5",
         "_embedded": {"user": {"id": "00ub0oNGTSWTBKOLGLNR", "status": "ACTIVE"}}})),
    Row("Okta", "MFA_REQUIRED", PENDING, api(
        "https://example.okta.com/api/v1/authn", 200,
        {"stateToken": "007ucIX7PATyn94hsHfOLVaXAmOBkKHWnOOLG43bsb", "status": "MFA_REQUIRED",
         "_embedded": {"user": {"id": "00ub0oNGTSWTBKOLGLNR"}}})),
    Row("Okta", "PASSWORD_EXPIRED", PENDING, api(
        "https://example.okta.com/api/v1/authn", 200,
        {"stateToken": "007ucIX7PATyn94hsHfOLVaXAmOBkKHWnOOLG43bsb", "status": "PASSWORD_EXPIRED"})),
    Row("Okta", "LOCKED_OUT", False, api("https://example.okta.com/api/v1/authn", 200, {"status": "LOCKED_OUT"})),
    Row("Okta", "E0000004 Authentication failed", False, api(
        "https://example.okta.com/api/v1/authn", 401,
        {"errorCode": "E0000004", "errorSummary": "Authentication failed", "errorLink": "E0000004",
         "errorId": "oaeuHRrvMnuRga5", "errorCauses": []})),
    # Keycloak and Supabase (GoTrue) token endpoints.
    Row("Keycloak", "invalid user credentials", False, make_exchange(
        "https://kc.example.com/realms/shop/protocol/openid-connect/token", "POST", body=OAUTH_FORM,
        content_type=FORM, status=401,
        response_json={"error": "invalid_grant", "error_description": "Invalid user credentials"})),
    Row("Supabase", "session", True, api(
        "https://x.supabase.co/auth/v1/token?grant_type=password", 200,
        {"access_token": JWT, "token_type": "bearer", "expires_in": 3600, "refresh_token": "v1.abc",
         "user": {"id": "8ccaa7af", "email": "jane@example.com"}},
        request={"email": "jane@example.com", "password": "pw-123456"})),
    Row("Supabase", "invalid login credentials", False, api(
        "https://x.supabase.co/auth/v1/token?grant_type=password", 400,
        {"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"},
        request={"email": "jane@example.com", "password": "pw-123456"})),
    # Django REST framework: authtoken, SimpleJWT, dj-rest-auth.
    Row("DRF authtoken", "token", True, api(
        "https://api.example.com/api-token-auth/", 200, {"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"})),
    Row("DRF authtoken", "non_field_errors 400", False, api(
        "https://api.example.com/api-token-auth/", 400,
        {"non_field_errors": ["Unable to log in with provided credentials."]})),
    Row("DRF SimpleJWT", "access and refresh", True, api("https://api.example.com/api/token/", 200,
                                                        {"refresh": JWT, "access": JWT})),
    Row("DRF SimpleJWT", "no active account 401", False, api(
        "https://api.example.com/api/token/", 401, {"detail": "No active account found with the given credentials"})),
    Row("dj-rest-auth", "key", True, api("https://api.example.com/dj-rest-auth/login/", 200,
                                         {"key": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"})),
    # Django's LoginView (HTML): redirect with sessionid, or the form again.
    Row("Django LoginView", "302 to profile with sessionid", True, form(
        "https://www.example.com/accounts/login/", 302,
        response_headers=[("Location", "/accounts/profile/"),
                          ("Set-Cookie", "sessionid=q5v1; HttpOnly; Path=/; SameSite=Lax")])),
    Row("Django LoginView", "200 form again (no failure word)", False, form(
        "https://www.example.com/accounts/login/", 200, response_content_type=HTML,
        response_body=page("Log in", "Please enter a correct username and password. Note that both fields may be"
                           " case-sensitive.", True),
        response_headers=[("Set-Cookie", "csrftoken=abc; Path=/")])),
    # Laravel: Sanctum SPA (cookie), Sanctum token, Fortify two-factor, validation error.
    Row("Laravel Sanctum SPA", "204 with laravel_session", True, api(
        "https://app.example.com/login", 204,
        response_headers=[("Set-Cookie", "XSRF-TOKEN=eyJpdiI6; path=/"),
                          ("Set-Cookie", "laravel_session=eyJpdiI6Ikp; path=/; httponly")])),
    Row("Laravel Sanctum", "plain-text token", True, api(
        "https://app.example.com/api/login", 200, {"token": "1|Z8tWm5yWuFQsZ0CvHvVZ0k2k4M2nQ"})),
    Row("Laravel", "422 credentials do not match", False, api(
        "https://app.example.com/login", 422,
        {"message": "These credentials do not match our records.",
         "errors": {"email": ["These credentials do not match our records."]}})),
    Row("Laravel Fortify", "two_factor true (pending)", PENDING, api(
        "https://app.example.com/login", 200, {"two_factor": True})),
    Row("Laravel", "429 throttle", None, api(
        "https://app.example.com/login", 429, {"message": "Too Many Attempts."})),
    # Spring Security: form login and a JWT REST API.
    Row("Spring form login", "302 to / with JSESSIONID", True, form(
        "https://app.example.com/login", 302,
        response_headers=[("Location", "https://app.example.com/"),
                          ("Set-Cookie", "JSESSIONID=5F1; Path=/; HttpOnly")])),
    Row("Spring form login", "302 to /login?error", False, form(
        "https://app.example.com/login", 302, response_headers=[("Location", "https://app.example.com/login?error")])),
    Row("Spring JWT REST", "token, type, id", True, api(
        "https://api.example.com/api/auth/signin", 200,
        {"token": JWT, "type": "Bearer", "id": 1, "username": "jane", "roles": ["ROLE_USER"]})),
    Row("Spring JWT REST", "401 Bad credentials", False, api(
        "https://api.example.com/api/auth/signin", 401,
        {"path": "/api/auth/signin", "error": "Unauthorized", "message": "Bad credentials", "status": 401})),
    Row("Spring JWT REST", "200 wrapping a 401 body", False, api(
        "https://api.example.com/api/auth/signin", 200,
        {"timestamp": "2024-05-01T10:00:00Z", "status": 401, "message": "Bad credentials"})),
    # Rails: Devise (HTML and JSON), devise-jwt, devise_token_auth.
    Row("Devise HTML", "303 to / with session", True, form(
        "https://app.example.com/users/sign_in", 303,
        response_headers=[("Location", "https://app.example.com/"),
                          ("Set-Cookie", "_app_session=abc%3D%3D--1f; path=/; HttpOnly")])),
    Row("Devise HTML", "422 form again", False, form(
        "https://app.example.com/users/sign_in", 422, response_content_type=HTML,
        response_body=page("Sign in", "Invalid Email or password.", True))),
    Row("Devise HTML (old)", "200 form again with flash", False, form(
        "https://app.example.com/users/sign_in", 200, response_content_type=HTML,
        response_body=page("Sign in", "Invalid Email or password.", True),
        response_headers=[("Set-Cookie", "_app_session=abc%3D%3D--1f; path=/; HttpOnly")])),
    Row("Devise JSON", "201 user", True, api(
        "https://app.example.com/users/sign_in.json", 201, {"id": 1, "email": "jane@example.com"})),
    Row("Devise JSON", "401 error", False, api(
        "https://app.example.com/users/sign_in.json", 401, {"error": "Invalid Email or password."})),
    Row("devise-jwt", "Authorization response header", True, api(
        "https://api.example.com/users/sign_in", 200, {"id": 1, "email": "jane@example.com"},
        response_headers=[("Authorization", f"Bearer {JWT}")])),
    Row("devise_token_auth", "access-token headers", True, api(
        "https://api.example.com/auth/sign_in", 200,
        {"data": {"id": 1, "email": "jane@example.com", "provider": "email", "uid": "jane@example.com"}},
        response_headers=[("access-token", "wwwww"), ("client", "xxxxx"), ("uid", "jane@example.com")])),
    Row("devise_token_auth", "success false errors", False, api(
        "https://api.example.com/auth/sign_in", 401,
        {"success": False, "errors": ["Invalid login credentials. Please try again."]})),
    # GraphQL login mutations (200 either way).
    Row("GraphQL", "login token", True, make_exchange(
        GQL, "POST", json=GQL_BODY, response_json={"data": {"login": {"token": JWT}}})),
    Row("GraphQL", "errors array, login null", False, make_exchange(
        GQL, "POST", json=GQL_BODY, response_json={
            "errors": [{"message": "Invalid credentials", "locations": [{"line": 1, "column": 58}],
                        "path": ["login"], "extensions": {"code": "UNAUTHENTICATED"}}],
            "data": {"login": None}})),
    Row("GraphQL (Shopify)", "customerAccessTokenCreate", True, make_exchange(
        GQL, "POST", json=GQL_BODY, response_json={"data": {"customerAccessTokenCreate": {
            "customerAccessToken": {"accessToken": "c6f8e0a1b2c3d4e5f6a7b8c9", "expiresAt": "2025-01-01T00:00:00Z"},
            "customerUserErrors": []}}})),
    Row("GraphQL (Shopify)", "customerUserErrors", False, make_exchange(
        GQL, "POST", json=GQL_BODY, response_json={"data": {"customerAccessTokenCreate": {
            "customerAccessToken": None,
            "customerUserErrors": [{"code": "UNIDENTIFIED_CUSTOMER", "field": ["input", "password"],
                                    "message": "Unidentified customer"}]}}})),
    Row("GraphQL", "login null, no errors", False, make_exchange(
        GQL, "POST", json=GQL_BODY, response_json={"data": {"login": None}})),
    # Headless CMS and BaaS.
    Row("Strapi", "jwt and user", True, api(
        "https://cms.example.com/api/auth/local", 200, {"jwt": JWT, "user": {"id": 1, "username": "jane"}},
        request={"identifier": "jane@example.com", "password": "pw-123456"})),
    Row("Strapi", "ValidationError 400", False, api(
        "https://cms.example.com/api/auth/local", 400,
        {"data": None, "error": {"status": 400, "name": "ValidationError",
                                 "message": "Invalid identifier or password", "details": {}}},
        request={"identifier": "jane@example.com", "password": "pw-123456"})),
    Row("Directus", "data.access_token", True, api(
        "https://cms.example.com/auth/login", 200,
        {"data": {"access_token": OPAQUE, "expires": 900000, "refresh_token": "yuOJkjdPXMd"}},
        request={"email": "jane@example.com", "password": "pw-123456"})),
    Row("PocketBase", "token and record", True, api(
        "https://pb.example.com/api/collections/users/auth-with-password", 200,
        {"token": JWT, "record": {"id": "RECORD_ID", "email": "jane@example.com"}},
        request={"identity": "jane@example.com", "password": "pw-123456"})),
    Row("PocketBase", "Failed to authenticate 400", False, api(
        "https://pb.example.com/api/collections/users/auth-with-password", 400,
        {"code": 400, "message": "Failed to authenticate.", "data": {}},
        request={"identity": "jane@example.com", "password": "pw-123456"})),
    Row("Parse Server", "sessionToken", True, api(
        "https://parse.example.com/parse/login", 200,
        {"objectId": "g7y9tkhB7O", "username": "jane", "sessionToken": "r:pnktnjyb996sj4p156gjtp4im"})),
    Row("Parse Server", "404 Invalid username/password", False, api(
        "https://parse.example.com/parse/login", 404, {"code": 101, "error": "Invalid username/password."})),
    Row("Appwrite", "201 session object", True, api(
        "https://cloud.appwrite.io/v1/account/sessions/email", 201,
        {"$id": "5e5ea5c16897e", "userId": "5e5bb8c16897e", "expire": "2025-01-01T00:00:00.000+00:00",
         "provider": "email", "secret": ""}, request={"email": "jane@example.com", "password": "pw-123456"})),
    Row("Appwrite", "401 user_invalid_credentials", False, api(
        "https://cloud.appwrite.io/v1/account/sessions/email", 401,
        {"message": "Invalid credentials. Please check the email and password.", "code": 401,
         "type": "user_invalid_credentials", "version": "1.5.0"},
        request={"email": "jane@example.com", "password": "pw-123456"})),
    Row("RealWorld (Conduit)", "user with token", True, api(
        "https://api.example.com/api/users/login", 200,
        {"user": {"email": "jane@example.com", "token": JWT, "username": "jane", "bio": None, "image": None}},
        request={"user": {"email": "jane@example.com", "password": "pw-123456"}})),
    Row("RealWorld (Conduit)", "422 errors", False, api(
        "https://api.example.com/api/users/login", 422, {"errors": {"email or password": ["is invalid"]}},
        request={"user": {"email": "jane@example.com", "password": "pw-123456"}})),
    Row("Keystone v3", "201 X-Subject-Token", True, api(
        "https://keystone.example.com/v3/auth/tokens", 201,
        {"token": {"methods": ["password"], "expires_at": "2025-01-01T00:00:00.000000Z"}},
        request={"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "jane", "domain": {"id": "default"}, "password": "pw-123456"}}}}},
        response_headers=[("X-Subject-Token", "gAAAAABc")])),
    # Hand-rolled Express / Flask / PHP APIs: the "200 on failure" family.
    Row("Express tutorial", "auth true token", True, api(LOGIN, 200, {"auth": True, "token": JWT})),
    Row("Express tutorial", "auth false token null", False, api(LOGIN, 401, {"auth": False, "token": None})),
    Row("Express tutorial", "200 auth false token null", False, api(LOGIN, 200, {"auth": False, "token": None})),
    Row("Flask API", "200 status fail", False, api(
        LOGIN, 200, {"status": "fail", "message": "Password is not correct for the given username."})),
    Row("Flask API", "200 status success token", True, api(
        LOGIN, 200, {"auth_token": JWT, "message": "Successfully logged in.", "status": "success"})),
    Row("Flask API", "200 message invalid", False, api(LOGIN, 200, {"message": "Invalid username or password"})),
    Row("Flask API", "200 message logged in (cookie not captured)", True, api(
        LOGIN, 200, {"message": "Logged in successfully"})),
    Row("Express API", "200 success false", False, api(LOGIN, 200, {"success": False, "msg": "Wrong password"})),
    Row("Express API", "200 status error", False, api(LOGIN, 200, {"status": "error", "message": "User not found"})),
    Row("Express API", "200 ok true with connect.sid", True, api(
        LOGIN, 200, {"ok": True}, response_headers=[("Set-Cookie", "connect.sid=s%3Aabc.def; Path=/; HttpOnly")])),
    Row("Express API", "200 token null message", False, api(
        LOGIN, 200, {"token": None, "type": "Bearer", "message": "Invalid Credentials"})),
    Row("Passport form", "302 failureRedirect /login", False, form(
        "https://app.example.com/login", 302, response_headers=[("Location", "/login")])),
    Row("Passport form", "302 successRedirect /", True, form(
        "https://app.example.com/login", 302, response_headers=[("Location", "/"),
                                                              ("Set-Cookie", "connect.sid=s%3Aabc; Path=/")])),
    Row("PHP", "200 login page with PHPSESSID and 'Login failed'", False, form(
        "https://legacy.example.com/login.php", 200, response_content_type=HTML,
        response_body=page("Login", "Login failed", True),
        response_headers=[("Set-Cookie", "PHPSESSID=abc123; path=/")])),
    Row("PHP", "302 to index.php", True, form(
        "https://legacy.example.com/login.php", 302, response_headers=[("Location", "index.php")])),
    Row("WordPress", "200 wp-login error", False, form(
        "https://blog.example.com/wp-login.php", 200, response_content_type=HTML,
        response_body=page("Log In", "Error: The password you entered for the username jane is incorrect.", True))),
    Row("WordPress", "302 wp-admin", True, form(
        "https://blog.example.com/wp-login.php", 302, response_headers=[
            ("Location", "https://blog.example.com/wp-admin/"),
            ("Set-Cookie", "wordpress_logged_in_abc=jane%7C1700; path=/; HttpOnly")])),
    Row("OAuth authorize form", "302 to callback with code", True, form(
        "https://idp.example.com/login", 302,
        response_headers=[("Location", "https://client.example.com/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz")])),
    Row("OAuth authorize form", "302 to callback with error", False, form(
        "https://idp.example.com/login", 302,
        response_headers=[("Location", "https://client.example.com/cb?error=access_denied&state=xyz")])),
    Row("Form login", "302 to /two-factor", PENDING, form(
        "https://app.example.com/login", 302, response_headers=[("Location", "/two-factor/challenge")])),
    Row("Form login", "logout-style cookie clear then /login", False, form(
        "https://app.example.com/login", 302, response_headers=[
            ("Location", "/login?failed=1"), ("Set-Cookie", "session=; Max-Age=0; Path=/")])),
    # The same failure in many languages (200, a message field only).
    *[Row(f"i18n {lang}", "200 message", False, api(LOGIN, 200, {"message": text})) for lang, text in (
        ("de", "Anmeldung fehlgeschlagen: Benutzername oder Passwort falsch"),
        ("fr", "Identifiant ou mot de passe incorrect"),
        ("fr", "Échec de la connexion"),
        ("es", "Usuario o contraseña inválidos"),
        ("pt", "Usuário ou senha incorretos"),
        ("it", "Nome utente o password errati"),
        ("nl", "Gebruikersnaam of wachtwoord onjuist"),
        ("ru", "Неверный логин или пароль"),
        ("zh", "用户名或密码错误"),
        ("ja", "メールアドレスまたはパスワードが正しくありません"),
        ("ko", "아이디 또는 비밀번호가 잘못되었습니다"),
        ("pl", "Nieprawidłowy login lub hasło"),
        ("tr", "Kullanıcı adı veya şifre hatalı"),
    )],
    *[Row(f"i18n {lang}", "200 message, cookie", True, api(
        LOGIN, 200, {"message": text}, response_headers=[("Set-Cookie", "sid=abc123; Path=/; HttpOnly")]))
      for lang, text in (("de", "Anmeldung erfolgreich"), ("fr", "Connexion réussie"), ("es", "Inicio de sesión exitoso"),
                         ("pt", "Login realizado com sucesso"), ("ru", "Вход выполнен успешно"), ("zh", "登录成功"))],
    Row("Chinese API style", "code 0 data.token", True, api(
        LOGIN, 200, {"code": 0, "msg": "登录成功", "data": {"token": OPAQUE}})),
    Row("Chinese API style", "code 10001 data null", False, api(
        LOGIN, 200, {"code": 10001, "msg": "用户名或密码错误", "data": None})),
    Row("Japanese API style", "result NG", False, api(
        LOGIN, 200, {"result": "NG", "message": "認証に失敗しました"})),
    # ASP.NET Core Identity and Microsoft Entra ID (ROPC).
    Row("ASP.NET Identity", "302 to / with Identity cookie", True, form(
        "https://app.example.com/Account/Login", 302, response_headers=[
            ("Location", "/"), ("Set-Cookie", ".AspNetCore.Identity.Application=CfDJ8; path=/; httponly")])),
    Row("ASP.NET Identity", "200 'Invalid login attempt.' form", False, form(
        "https://app.example.com/Account/Login", 200, response_content_type=HTML,
        response_body=page("Log in", "Invalid login attempt.", True))),
    Row("ASP.NET Identity", "302 LoginWith2fa", PENDING, form(
        "https://app.example.com/Account/Login", 302,
        response_headers=[("Location", "/Account/LoginWith2fa?ReturnUrl=%2F")])),
    Row("ASP.NET Identity", "302 Lockout", False, form(
        "https://app.example.com/Account/Login", 302, response_headers=[("Location", "/Account/Lockout")])),
    Row("Entra ID ROPC", "AADSTS50126 invalid credentials", False, make_exchange(
        "https://login.microsoftonline.com/common/oauth2/v2.0/token", "POST", body=OAUTH_FORM, content_type=FORM,
        status=400, response_json={"error": "invalid_grant", "error_codes": [50126], "error_description":
                                   "AADSTS50126: Error validating credentials due to invalid username or password."})),
    Row("Entra ID ROPC", "AADSTS50076 MFA required", PENDING, make_exchange(
        "https://login.microsoftonline.com/common/oauth2/v2.0/token", "POST", body=OAUTH_FORM, content_type=FORM,
        status=400, response_json={"error": "invalid_grant", "suberror": "basic_action", "error_description":
                                   "AADSTS50076: Due to a configuration change made by your administrator, or because"
                                   " you moved to a new location, you must use multi-factor authentication."})),
    # Hard cases: words and fields that could mislead.
    Row("hard", "token plus 'failed attempts' notice", True, api(
        LOGIN, 200, {"token": JWT, "message": "Welcome back! 3 failed attempts since your last login."})),
    Row("hard", "success true plus '0 failed' message", True, api(
        LOGIN, 200, {"success": True, "message": "Signed in. 0 failed login attempts."})),
    Row("hard", "token and user with status disabled 2FA", True, api(
        LOGIN, 200, {"access_token": OPAQUE, "user": {"id": 3, "status": "active", "two_factor_enabled": False,
                                                     "valid": False, "error_count": 2}})),
    Row("hard", "error null and token", True, api(LOGIN, 200, {"error": None, "errors": [], "token": OPAQUE})),
    Row("hard", "dashboard HTML with session, script says error", True, form(
        "https://app.example.com/login", 200, response_content_type=HTML,
        response_body=page("Dashboard", "Your orders", False),
        response_headers=[("Set-Cookie", "session=eyJfaWQiOiJhYmMifQ.Zx; HttpOnly; Path=/")])),
    Row("hard", "bare failure HTML without a form", False, form(
        "https://legacy.example.com/login.php", 200, response_content_type=HTML,
        response_body="<html><body><h1>Login failed</h1><a href=/login.php>Back</a></body></html>")),
    Row("hard", "csrf_token only and 'please log in'", False, api(
        LOGIN, 200, {"csrf_token": "Yx9dQk2LmN4pR7sT1vW3zA5bC8eF0gHj", "message": "Please log in"})),
    Row("hard", "PHPSESSID on an unclear 200 JSON", None, api(
        LOGIN, 200, {"page": "login"}, response_headers=[("Set-Cookie", "PHPSESSID=abc123; path=/")])),
    Row("hard", "access field that is a scope", None, api(LOGIN, 200, {"access": "read-only", "plan": "free"})),
    Row("hard", "plain-text 401", False, make_exchange(
        LOGIN, "POST", json=JSON_CREDS, status=401, response_body="Invalid email or password.",
        response_content_type="text/plain")),
    Row("hard", "401 with WWW-Authenticate, no body", False, api(
        LOGIN, 401, response_headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')])),
    Row("hard", "200 'Unsuccessful login'", False, api(LOGIN, 200, {"message": "Unsuccessful login"})),
    Row("hard", "200 German 'nicht erfolgreich'", False, api(LOGIN, 200, {"message": "Anmeldung nicht erfolgreich"})),
    Row("hard", "200 Russian 'неуспешно'", False, api(LOGIN, 200, {"message": "Вход неуспешен"})),
    Row("hard", "200 'Invalid 2FA code' (second step failed)", False, api(
        LOGIN, 200, {"success": False, "message": "Invalid 2FA code"})),
    Row("hard", "verification code sent (pending)", PENDING, api(
        LOGIN, 200, {"message": "A verification code was sent. Enter the one-time password (OTP)."})),
    # A second factor asked for on a refusal status or a 200 (pending, never a failure), and the second
    # step itself failing (a failure).
    Row("GitHub REST (Basic)", "401 must specify two-factor OTP code", PENDING, api(
        "https://api.github.com/authorizations", 401,
        {"message": "Must specify two-factor authentication OTP code.",
         "documentation_url": "https://docs.github.com/rest/overview/other-authentication-methods"},
        response_headers=[("X-GitHub-OTP", "required; sms")])),
    Row("GitHub REST (Basic)", "401 bad credentials", False, api(
        "https://api.github.com/authorizations", 401,
        {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})),
    Row("django-otp / DRF", "403 detail 'OTP required'", PENDING, api(LOGIN, 403, {"detail": "OTP required."})),
    Row("django-otp / DRF", "403 detail 'Invalid OTP'", False, api(LOGIN, 403, {"detail": "Invalid OTP."})),
    Row("REST API", "401 error two_factor_required", PENDING, api(
        LOGIN, 401, {"error": "two_factor_required", "message": "Two-factor authentication is required"})),
    Row("REST API", "403 code MFA_REQUIRED", PENDING, api(
        LOGIN, 403, {"code": "MFA_REQUIRED", "message": "Multi-factor authentication required"})),
    Row("REST API", "401 plain text 'verification code sent'", PENDING, make_exchange(
        LOGIN, "POST", json=JSON_CREDS, status=401, response_body="Verification code sent to your email.",
        response_content_type="text/plain")),
    Row("REST API", "401 challenge totp", PENDING, api(
        LOGIN, 401, {"challenge": "totp", "message": "Enter the code from your authenticator app"})),
    Row("REST API", "401 'wrong verification code'", False, api(
        LOGIN, 401, {"message": "Wrong verification code"})),
    Row("REST API", "401 error invalid_otp", False, api(LOGIN, 401, {"error": "invalid_otp"})),
    Row("REST API", "200 OTP_SENT", PENDING, api(
        LOGIN, 200, {"status": "OTP_SENT", "message": "An OTP has been sent to your phone"})),
    Row("REST API", "200 requires_2fa with a challenge id", PENDING, api(
        LOGIN, 200, {"requires_2fa": True, "challenge_id": "c-5f1e2a"})),
    Row("Steam web login", "success false, requires_twofactor", PENDING, api(
        "https://steamcommunity.com/login/dologin/", 200,
        {"success": False, "requires_twofactor": True, "message": ""})),
    Row("Discord", "token null, mfa true, ticket", PENDING, api(
        "https://discord.com/api/v9/auth/login", 200,
        {"token": None, "mfa": True, "sms": False, "ticket": "WzE0NjQ5MTI2MjI0NTg3NTQ2MSwibG9naW4iXQ"},
        request={"login": "jane@example.com", "password": "c0rrect-Horse"})),
    Row("Discord", "400 invalid login", False, api(
        "https://discord.com/api/v9/auth/login", 400,
        {"code": 50035, "errors": {"login": {"_errors": [{"code": "INVALID_LOGIN", "message":
                                                          "Login or password is invalid."}]}},
         "message": "Invalid Form Body"},
        request={"login": "jane@example.com", "password": "c0rrect-Horse"})),
    Row("Instagram-style", "400 two_factor_required", PENDING, api(
        LOGIN, 400, {"message": "", "two_factor_required": True, "two_factor_info": {"username": "jane"},
                     "status": "fail", "error_type": "two_factor_required"})),
    Row("Instagram-style", "400 bad_password", False, api(
        LOGIN, 400, {"message": "The password you entered is incorrect.", "status": "fail",
                     "error_type": "bad_password"})),
    Row("i18n de", "401 'Bestätigungscode gesendet'", PENDING, api(
        LOGIN, 401, {"message": "Ein Bestätigungscode wurde an Ihr Telefon gesendet"})),
    Row("i18n es", "403 'código de verificación'", PENDING, api(
        LOGIN, 403, {"mensaje": "Introduce el código de verificación enviado a tu correo"})),
    Row("hard", "401 'unauthorized', a request ID with 2fa inside", False, api(
        LOGIN, 401, {"message": "Unauthorized", "request_id": "2fa9c31e-7b"})),
    Row("hard", "401 'footprint' in a message", False, api(
        LOGIN, 401, {"message": "Access denied for this device footprint"})),
    # What nothing settles.
    Row("no body captured", "200, no body, no headers", None, api(LOGIN, 200)),
    Row("no body captured", "204, no headers", None, api(LOGIN, 204)),
    Row("server error", "500", None, api(LOGIN, 500, {"error": "internal"})),
    Row("body over the bound", "40 KB profile", None, api(LOGIN, 200, {"profile": {"bio": "x" * 40_000}})),
]


def main(verbose: bool) -> int:
    analyzer = Analyzer(DetectConfig(hmac_key=b"bench"))
    wrong_fail: list[Row] = []
    wrong_success: list[Row] = []
    left_unknown: list[Row] = []
    guessed: list[Row] = []
    not_login: list[Row] = []
    pending_settled: list[Row] = []
    settled_pending: list[Row] = []
    for row in ROWS:
        ctx = analyzer.context(row.exchange)
        attempt = login_attempt(row.exchange, ctx)
        got: bool | str | None = None
        if attempt is None:
            not_login.append(row)
        else:
            got = PENDING if attempt.pending else attempt.succeeded
        if row.expected is True and got is False:
            wrong_fail.append(row)
        elif row.expected is False and got is True:
            wrong_success.append(row)
        elif row.expected == PENDING and got in (True, False):
            pending_settled.append(row)
        elif got == PENDING and row.expected in (True, False):
            settled_pending.append(row)
        elif row.expected is not None and got is None:
            left_unknown.append(row)
        elif row.expected is None and got is not None:
            guessed.append(row)
        if verbose:
            verdict = judge_login_response(row.exchange)
            mark = "ok " if got == row.expected else "BAD"
            print(f"{mark} {row.style:24} {row.shape:46} expected={row.expected!s:5} got={got!s:5} "
                  f"{verdict.outcome.value}: {verdict.reason}")
    succ = sum(r.expected is True for r in ROWS)
    fail = sum(r.expected is False for r in ROWS)
    pend = sum(r.expected == PENDING for r in ROWS)
    unk = sum(r.expected is None for r in ROWS)
    print(f"login answers: {len(ROWS)} ({succ} succeeded, {fail} failed, {pend} pending, {unk} rate-limited/unknown),"
          f" {len({r.style for r in ROWS})} styles")
    for title, rows in (("success taken as failure", wrong_fail), ("failure taken as success", wrong_success),
                        ("pending taken as settled", pending_settled), ("settled taken as pending", settled_pending),
                        ("known outcome left unknown", left_unknown), ("unknown given an outcome", guessed),
                        ("not recognised as a login", not_login)):
        print(f"  {title:28} {len(rows):3}" + "".join(f"\n      {r.style}: {r.shape}" for r in rows))
    return 1 if wrong_fail or wrong_success or pending_settled or settled_pending else 0


if __name__ == "__main__":
    sys.exit(main("-v" in sys.argv[1:]))
