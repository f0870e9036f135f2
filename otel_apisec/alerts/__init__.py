"""Alerts from findings: deduplicated and grouped, sent to webhooks (generic JSON or
Slack) and to Prometheus Alertmanager (API v2).

    router = AlertRouter([AlertmanagerAlerter("http://alertmanager:9093"),
                          WebhookAlerter("https://hooks.slack.com/services/...", format="slack")],
                         AlertPolicy(min_severity="high"))
    router.emit(finding.record())   # FindingSink: never blocks on I/O, never raises
    router.close(timeout_s=5)
"""

from otel_apisec.alerts.alert import Alert
from otel_apisec.alerts.alertmanager import AlertmanagerAlerter
from otel_apisec.alerts.config import router_from_config
from otel_apisec.alerts.delivery import Receiver
from otel_apisec.alerts.grouping import AlertGrouper
from otel_apisec.alerts.policy import AlertPolicy
from otel_apisec.alerts.router import AlertRouter
from otel_apisec.alerts.webhook import WebhookAlerter
from otel_apisec.delivery import DeliveryError

__all__ = [
    "Alert",
    "AlertGrouper",
    "AlertPolicy",
    "AlertRouter",
    "AlertmanagerAlerter",
    "DeliveryError",
    "Receiver",
    "WebhookAlerter",
    "router_from_config",
]
