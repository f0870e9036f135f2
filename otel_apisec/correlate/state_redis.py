# moved to otel_apisec.correlate.stores.redis; kept for otel_apisec.gateway until it moves
from otel_apisec.correlate.stores.redis import *  # noqa: F403
