"""Delivery over HTTP for every sender (OTLP exporter, alert receivers, OCSF webhook): one
keep-alive client (`HttpSession`), one retry policy (`RetryPolicy`, `retry`), one safe form of
a URL for logs and one rule for credentials in it (`safe_url`, `parse_endpoint`)."""

from otel_apisec.delivery.http import HttpSession, Response, check_headers, client_ssl_context
from otel_apisec.delivery.retry import RETRYABLE_STATUSES, DeliveryError, RetryPolicy, retry, status_error
from otel_apisec.urls import Endpoint, parse_endpoint, safe_url, with_credentials

__all__ = [
    "RETRYABLE_STATUSES",
    "DeliveryError",
    "Endpoint",
    "HttpSession",
    "Response",
    "RetryPolicy",
    "check_headers",
    "client_ssl_context",
    "parse_endpoint",
    "retry",
    "safe_url",
    "status_error",
    "with_credentials",
]
