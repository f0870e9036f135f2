"""The rule catalog, one module per family; importing this package registers every rule.

Each rule is one `define("APISEC-<FAMILY>-NNN", ...)` call with a literal ID, so a search for the
ID finds its definition. IDs are stable and never reused.
"""

from otel_apisec.detect.rules import abuse, auth, crs, exposure, injection, pii, posture, secrets, tokens

__all__ = ["abuse", "auth", "crs", "exposure", "injection", "pii", "posture", "secrets", "tokens"]
