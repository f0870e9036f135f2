# moved to otel_apisec.testing.redis; kept for tests/test_gateway_*.py until it moves
from otel_apisec.testing.redis import *  # noqa: F403
