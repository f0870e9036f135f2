# moved to otel_apisec.testing.servers; kept for tests/test_gateway_*.py until it moves
from otel_apisec.testing.servers import *  # noqa: F403
