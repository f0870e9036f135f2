# moved to otel_apisec.sdk.telemetry; kept for otel_apisec.gateway until it moves
from otel_apisec.sdk.telemetry import *  # noqa: F403
