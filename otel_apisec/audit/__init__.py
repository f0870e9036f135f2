"""The audit trail: an append-only, hash-chained JSONL log of findings and alerts.

`AuditLog` writes it (a `FindingSink`), `verify` checks it, `otel-apisec audit verify` is the
command. Line format and digests: `otel_apisec.audit.format`; what the chain does and does not
prove: `otel_apisec.audit.chain`.
"""

from otel_apisec.audit.chain import DEFAULT_MAX_BYTES, AuditLog, AuditLogError
from otel_apisec.audit.files import ChainFilesError, chain_files
from otel_apisec.audit.format import GENESIS
from otel_apisec.audit.keys import KEY_ENV, AuditKeyError, key_from_env, key_from_file
from otel_apisec.audit.verify import NotAnAuditLogError, Problem, VerifyResult, verify

__all__ = [
    "DEFAULT_MAX_BYTES",
    "GENESIS",
    "KEY_ENV",
    "AuditKeyError",
    "AuditLog",
    "AuditLogError",
    "ChainFilesError",
    "NotAnAuditLogError",
    "Problem",
    "VerifyResult",
    "chain_files",
    "key_from_env",
    "key_from_file",
    "verify",
]
