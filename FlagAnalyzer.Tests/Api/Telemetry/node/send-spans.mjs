// Sends the test traffic of TracesRealExporterTests through the OpenTelemetry JS SDK and its OTLP/HTTP (JSON)
// trace exporter: per interval, requests of the control ("off") and treatment ("on") variants, each a server span
// with a child span carrying a feature_flag.evaluation event. The plan is the same as Traffic.cs in C#.
// usage: node send-spans.mjs <url of /v1/traces> <flag> <end of the first interval's requests, unix ms> <regression 0|1> <ingest key>
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

const [url, flag, firstEndArg, regressionArg, key] = process.argv.slice(2);
const firstEnd = Number(firstEndArg);
const regression = regressionArg === '1';
const intervals = 6, perVariant = 200, intervalMs = 1000;

const results = { batches: 0, failed: 0, spans: 0 };
const otlp = new OTLPTraceExporter({ url, timeoutMillis: 20000, headers: { 'X-API-Key': key } });
const exporter = {
  export(spans, done) {
    otlp.export(spans, result => {
      results.batches++;
      if (result.code === 0) results.spans += spans.length; else { results.failed++; console.error(result.error); }
      done(result);
    });
  },
  shutdown: () => otlp.shutdown(),
  forceFlush: () => otlp.forceFlush(),
};
const provider = new TracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'node-checkout' }),
  spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: 100000, maxExportBatchSize: 512, scheduledDelayMillis: 50 })],
});
const tracer = provider.getTracer('flaganalyzer-tests');

for (let k = 0; k < intervals; k++) {
  for (const variant of ['off', 'on']) {
    for (let i = 0; i < perVariant; i++) {
      const end = firstEnd + k * intervalMs + (i % 100);
      const latency = 20 + (i % 7);
      const failing = variant === 'on' && regression ? i % 50 < 3 : i % 50 < 1;
      const root = tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER, startTime: end - latency }, ROOT_CONTEXT);
      const child = tracer.startSpan('evaluate flag', { kind: SpanKind.INTERNAL, startTime: end - latency + 1 }, trace.setSpan(ROOT_CONTEXT, root));
      child.addEvent('feature_flag.evaluation', { 'feature_flag.key': flag, 'feature_flag.result.variant': variant }, end - latency + 1);
      child.end(end - latency + 2);
      root.setAttribute('http.response.status_code', failing ? 500 : 200);
      if (failing) root.setStatus({ code: SpanStatusCode.ERROR });
      root.end(end);
    }
  }
}
await provider.forceFlush();
await provider.shutdown();
console.log(JSON.stringify(results));
process.exit(results.failed === 0 ? 0 : 1);
