# moved to otel_apisec.sdk.settings; kept for tests/test_gateway_config.py until it moves
from otel_apisec.sdk.settings import *  # noqa: F403
