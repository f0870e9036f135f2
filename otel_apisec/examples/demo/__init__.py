"""`make demo`: otel-apisec's main job, live, with no Docker and no backend.

- `app.py`: a small Flask API with the usual mistakes (run under `opentelemetry-instrument`);
- `openapi.yaml`: its contract (a shadow endpoint missing, a deprecated one still served);
- `traffic.py`: the traffic player (normal users and a handful of attacks);
- `run.py`: starts the gateway with its console and the app, plays the traffic, prints a summary.

    python -m otel_apisec.examples.demo.run            # until Ctrl-C
    DEMO_SECONDS=45 python -m otel_apisec.examples.demo.run
"""
