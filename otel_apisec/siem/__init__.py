"""SIEM export: finding records as OCSF Detection Finding events (class 2004), as JSONL to a
file or in batches to a webhook. `otel_apisec.siem.schema` validates events against the
official OCSF schema (needs the `siem` extra)."""

from otel_apisec.siem.ocsf import OCSF_VERSION, to_ocsf
from otel_apisec.siem.sinks import OcsfFileSink, OcsfWebhookSink

__all__ = ["OCSF_VERSION", "OcsfFileSink", "OcsfWebhookSink", "to_ocsf"]
