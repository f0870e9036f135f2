"""An `AlertRouter` from a plain mapping (the gateway's YAML), every bad key named with its path:

    min_severity: high              # any AlertPolicy field; the defaults are AlertPolicy's
    repeat_interval_s: 300
    receivers:
      - {type: alertmanager, url: http://alertmanager:9093, generator_url: "https://jaeger/trace/{trace_id}"}
      - {type: webhook, url: https://hooks.slack.com/services/..., format: slack}
      - {type: webhook, url: https://soc.example/hook, headers: {Authorization: Bearer ...}}

A receiver's keys are its constructor's arguments (`WebhookAlerter`, `AlertmanagerAlerter`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from otel_apisec.alerts.alertmanager import AlertmanagerAlerter
from otel_apisec.alerts.delivery import Receiver
from otel_apisec.alerts.policy import AlertPolicy
from otel_apisec.alerts.router import AlertRouter
from otel_apisec.alerts.webhook import WebhookAlerter

__all__ = ["RECEIVER_TYPES", "parse_config", "router_from_config"]

RECEIVER_TYPES: dict[str, type] = {"webhook": WebhookAlerter, "alertmanager": AlertmanagerAlerter}
_POLICY_KEYS = tuple(spec.name for spec in fields(AlertPolicy))


def router_from_config(options: Mapping[str, Any], where: str = "alerts") -> AlertRouter:
    """Raises ValueError naming the bad key (`where.receivers[1].format: ...`)."""
    policy, receivers = parse_config(options, where)
    return AlertRouter(receivers, policy)


def parse_config(options: Mapping[str, Any], where: str = "alerts") -> tuple[AlertPolicy, list[Receiver]]:
    """Validate without starting anything (for a config check): the policy and the receivers."""
    if not isinstance(options, Mapping):
        raise ValueError(f"{where}: expected a mapping, not {type(options).__name__}")
    unknown = sorted(set(options) - {*_POLICY_KEYS, "receivers"})
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown} (allowed: receivers, {', '.join(_POLICY_KEYS)})")
    receivers = options.get("receivers")
    if not isinstance(receivers, list) or not receivers:
        raise ValueError(f"{where}.receivers: expected a non-empty list of receivers (type: webhook or alertmanager)")
    policy_options = {key: options[key] for key in _POLICY_KEYS if options.get(key) is not None}  # None: the default
    if isinstance(policy_options.get("group_by"), list):
        policy_options["group_by"] = tuple(policy_options["group_by"])
    try:
        policy = AlertPolicy(**policy_options)
    except ValueError as error:  # its message starts with the key
        raise ValueError(f"{where}.{error}") from None
    return policy, [_receiver(f"{where}.receivers[{index}]", spec) for index, spec in enumerate(receivers)]


def _receiver(where: str, spec: Any) -> Receiver:
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where}: expected a mapping with a type and a url, not {type(spec).__name__}")
    kind = spec.get("type")
    if kind not in RECEIVER_TYPES:
        raise ValueError(f"{where}.type: expected one of {sorted(RECEIVER_TYPES)}, not {kind!r}")
    factory: Any = RECEIVER_TYPES[kind]
    allowed = [name for name in inspect.signature(factory).parameters]
    arguments = {key: value for key, value in spec.items() if key != "type"}
    unknown = sorted(set(arguments) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown} for a {kind} receiver (allowed: {', '.join(allowed)})")
    if "url" not in arguments:
        raise ValueError(f"{where}.url: required")
    try:
        return factory(**arguments)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from None
