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


# A key longer than this cannot be one of the above, whatever its separators: a query of 100,000
# distinct pairs (each key checked by several masking rules) must cost microseconds a key.
_MAX_KEY_CHARS = 64


@functools.lru_cache(maxsize=4096)  # the same few hundred keys come back on every request
def normalize_key(name: str) -> str:
    """`Card-Number`, `cardNumber`, `card_number` -> `cardnumber`."""
    lower = name.lower()
    if lower.isalnum():  # most keys: one C-speed check instead of a loop over characters
        return lower
    return "".join(ch for ch in lower if ch.isalnum())


def is_sensitive_key(name: str) -> bool:
    return len(name) <= _MAX_KEY_CHARS and normalize_key(name) in SENSITIVE_KEYS
