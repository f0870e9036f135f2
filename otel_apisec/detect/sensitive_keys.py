"""Names of fields that hold secrets or personal data, whatever their value looks like.

Treblle's default masking list is the floor (password, pwd, secret, password_confirmation,
cc, card_number, ccv, ssn, credit_score); the rest covers credentials, keys and identifiers
seen in real APIs. Matching ignores case and separators: `Card-Number`, `cardNumber` and
`card_number` are the same key. Also the list later used to redact exported attributes.
"""

from __future__ import annotations

import functools

__all__ = ["SENSITIVE_KEYS", "is_sensitive_key", "normalize_key"]

SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        # Treblle's defaults
        "password", "pwd", "secret", "passwordconfirmation", "cc", "cardnumber", "ccv", "ssn",
        "creditscore",
        # credentials
        "passwd", "pass", "passphrase", "pin", "otp", "totp", "mfacode", "newpassword",
        "oldpassword", "currentpassword", "passwordhash", "hashedpassword", "salt",
        "clientsecret", "secretkey", "privatekey", "apikey", "apisecret", "accesskey",
        "accesskeyid", "secretaccesskey", "accesstoken", "refreshtoken", "idtoken", "authtoken",
        "sessiontoken", "sessionid", "token", "bearer", "authorization", "credentials",
        "signingkey", "encryptionkey", "webhooksecret",
        # payment
        "creditcard", "creditcardnumber", "ccnumber", "cardno", "pan", "cvv", "cvc", "cvv2",
        "securitycode", "cardexpiry", "expirydate", "iban", "accountnumber", "routingnumber",
        "bankaccount",
        # identity
        "socialsecuritynumber", "taxid", "tin", "nationalid", "passportnumber",
        "driverslicense", "dob", "dateofbirth", "birthdate",
    }
)


@functools.lru_cache(maxsize=4096)  # the same few hundred keys come back on every request
def normalize_key(name: str) -> str:
    """`Card-Number`, `cardNumber`, `card_number` -> `cardnumber`."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def is_sensitive_key(name: str) -> bool:
    return normalize_key(name) in SENSITIVE_KEYS
