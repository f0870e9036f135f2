# moved to otel_apisec.correlate.stores.memory; kept for otel_apisec.gateway until it moves
from otel_apisec.correlate.stores.memory import *  # noqa: F403
