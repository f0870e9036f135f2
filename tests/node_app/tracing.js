'use strict';
// OpenTelemetry setup, loaded before the app (`node --require ./tracing.js app.js`) so that the
// http instrumentation patches node:http before anything requires it. Only the official
// @opentelemetry/* packages: this is what a Node.js service sending to the gateway looks like.
//
// Configured by the standard environment variables: OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), OTEL_SERVICE_NAME, OTEL_BSP_SCHEDULE_DELAY.

const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BatchSpanProcessor, NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME || 'users-node' }),
  // HTTP/protobuf; the exporter appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT.
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
});
provider.register();

registerInstrumentations({
  instrumentations: [
    new HttpInstrumentation({
      // Header capture is off by default; the gateway can only analyse what the agent records.
      headersToSpanAttributes: {
        server: {
          requestHeaders: ['authorization', 'x-api-key', 'cookie', 'user-agent'],
          responseHeaders: ['content-type', 'www-authenticate', 'set-cookie'],
        },
      },
    }),
  ],
});

/** Flush every ended span and stop the exporter; the app calls this on SIGTERM. */
function shutdownTracing() {
  return provider.shutdown();
}

module.exports = { shutdownTracing };
