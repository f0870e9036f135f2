"""The correlators' state stores: bounded in-memory (the default) and Redis (shared by replicas).
Both implement `otel_apisec.correlate.api.StateStore`."""
