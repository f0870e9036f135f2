"""The apisec gateway: OTLP receivers -> security processors -> exporters, for spans from any language.

Everything inside works on the OTLP protobuf messages themselves (`Export*ServiceRequest`), so
a span is decoded once on the way in and encoded once on the way out.

    service.py, config.py, runner.py, pipeline.py   the service, its config, the span walk, the chain
    components/                                     the component model (config base, factory, TLS)
    receivers/otlp/                                 OTLP/gRPC and OTLP/HTTP
    processors/{enrich,redact,filter,correlate}/    the security processors
    exporters/{otlp,findings,alerts,audit,ocsf,console}/
    factories.py                                    every component type, by config section

Each component folder holds its config class and `FACTORY` (`config.py`) and its implementation.
"""
