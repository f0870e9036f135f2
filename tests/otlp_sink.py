# moved to otel_apisec.testing.sink; kept for tests/test_gateway_*.py until it moves
from otel_apisec.testing.sink import *  # noqa: F403
