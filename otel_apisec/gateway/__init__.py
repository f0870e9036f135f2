"""The apisec gateway: OTLP receivers -> security processors -> exporters, for spans from any language.

Everything inside works on the OTLP protobuf messages themselves (`Export*ServiceRequest`), so
a span is decoded once on the way in and encoded once on the way out.
"""
