"""Regression cases for the data-exposure rules (APISEC-EXP-*)."""

from __future__ import annotations

from otel_apisec.testing import make_exchange
from tests.cases import Case

USERS = "https://api.example.com/v1/users"


def records(count: int) -> list[dict]:
    return [{"id": i, "name": f"user {i}", "created_at": "2024-01-02T03:04:05Z"} for i in range(count)]


CASES = [
    Case(
        "APISEC-EXP-001",
        True,
        "user object returns its password hash",
        make_exchange(
            f"{USERS}/me", response_json={"user": {"id": 7, "password_hash": "$2b$12$abcdefghijklmnopqrstuv"}}
        ),
        "response.body.$.user.password_hash",
    ),
    Case(
        "APISEC-EXP-001",
        True,
        "list returns card numbers (camelCase key)",
        make_exchange(USERS, response_json={"items": [{"id": 1, "cardNumber": "4111111111111111"}]}),
        "response.body.$.items[0].cardNumber",
    ),
    Case(
        "APISEC-EXP-001",
        False,
        "masked password and empty api key",
        make_exchange(
            f"{USERS}/me", response_json={"id": 7, "password": "********", "api_key": "", "pin": None}
        ),
    ),
    Case(
        "APISEC-EXP-001",
        False,
        "login response returns the issued token",
        make_exchange(
            "https://api.example.com/auth/login",
            "POST",
            json={"username": "jane", "password": "pw-long-123"},
            response_json={
                "access_token": "opaque-abc",
                "refresh_token": "opaque-def",
                "token_type": "bearer",
            },
        ),
    ),
    Case(
        "APISEC-EXP-001",
        False,
        "keys that only resemble sensitive names",
        make_exchange(
            USERS, response_json={"password_policy": "strict", "token_type": "bearer", "has_pin": True}
        ),
    ),
    Case(
        "APISEC-EXP-002",
        True,
        "150 records under data",
        make_exchange(USERS, response_json={"data": records(150)}),
        "response.body.$.data",
    ),
    Case(
        "APISEC-EXP-002",
        True,
        "top-level array of 100 records",
        make_exchange(USERS, response_json=records(100)),
        "response.body.$",
    ),
    Case(
        "APISEC-EXP-002",
        False,
        "page of 99 records",
        make_exchange(USERS, response_json={"data": records(99)}),
    ),
    Case(
        "APISEC-EXP-002",
        False,
        "500 scalar IDs",
        make_exchange(USERS, response_json={"ids": list(range(500))}),
    ),
]
