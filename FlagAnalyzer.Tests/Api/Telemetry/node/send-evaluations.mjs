// Sends flag evaluations the way today's OpenTelemetry conventions record them (LogsRealExporterTests): the OpenFeature
// server SDK evaluates inside a request's child span with the OpenFeature EventHook (@openfeature/open-telemetry-hooks),
// which emits a feature_flag.evaluation log record carrying the active span's trace and span ids; the records leave
// through the OpenTelemetry JS logs SDK and its OTLP/HTTP protobuf exporter, the spans (with no span events) through the
// trace SDK and its OTLP/HTTP JSON exporter. Both processors hold everything until the end, then flush in the order asked,
// so the records and the spans reach FlagAnalyzer in separate exports, one kind entirely before the other.
// Plan: per variant `perVariant` requests ending in the given second; "on" takes 40 ms and every 5th fails, "off" 20 ms.
// usage: node send-evaluations.mjs <url of /v1/traces> <url of /v1/logs> <flag> <end of the requests, unix ms> <spans-first|logs-first> <ingest key>
//        [deployment.environment.name of the resource both providers share]
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { EventHook } from '@openfeature/open-telemetry-hooks';

const [tracesUrl, logsUrl, flag, endArg, order, key, environment] = process.argv.slice(2);
const end0 = Number(endArg);
const perVariant = 50;

const results = { spans: 0, records: 0, failed: 0, served: { on: 0, off: 0 } };
function counting(otlp, what) {
  return {
    export(items, done) {
      otlp.export(items, result => {
        if (result.code === 0) results[what] += items.length; else { results.failed++; console.error(result.error); }
        done(result);
      });
    },
    shutdown: () => otlp.shutdown(),
    forceFlush: () => otlp.forceFlush(),
  };
}
const headers = { 'X-API-Key': key };
// nothing leaves before the explicit flushes below: a long delay and queues larger than the traffic
const batch = { maxQueueSize: 100000, maxExportBatchSize: 512, scheduledDelayMillis: 600000 };
const resource = resourceFromAttributes({ 'service.name': 'node-checkout', ...(environment ? { 'deployment.environment.name': environment } : {}) });

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracerProvider = new TracerProvider({
  resource,
  spanProcessors: [new BatchSpanProcessor({ exporter: counting(new OTLPTraceExporter({ url: tracesUrl, timeoutMillis: 20000, headers }), 'spans'), ...batch })],
});
const loggerProvider = new LoggerProvider({
  resource,
  processors: [new BatchLogRecordProcessor({ exporter: counting(new OTLPLogExporter({ url: logsUrl, timeoutMillis: 20000, headers }), 'records'), ...batch })],
});
logs.setGlobalLoggerProvider(loggerProvider);
const tracer = tracerProvider.getTracer('flaganalyzer-tests');

await OpenFeature.setProviderAndWait(new InMemoryProvider({
  [flag]: { variants: { on: true, off: false }, defaultVariant: 'off', disabled: false, contextEvaluator: ctx => ctx.group },
}));
OpenFeature.addHooks(new EventHook());
const client = OpenFeature.getClient();

for (const variant of ['off', 'on']) {
  for (let i = 0; i < perVariant; i++) {
    const end = end0 + i;
    const latency = variant === 'on' ? 40 : 20;
    const failing = variant === 'on' && i % 5 === 0;
    const root = tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER, startTime: end - latency }, ROOT_CONTEXT);
    const child = tracer.startSpan('evaluate flag', { kind: SpanKind.INTERNAL, startTime: end - latency + 1 }, trace.setSpan(ROOT_CONTEXT, root));
    const details = await context.with(trace.setSpan(ROOT_CONTEXT, child),
      () => client.getBooleanDetails(flag, false, { targetingKey: `user-${variant}-${i}`, group: variant }));
    results.served[details.variant]++;
    child.end(end - latency + 2);
    root.setAttribute('http.response.status_code', failing ? 500 : 200);
    if (failing) root.setStatus({ code: SpanStatusCode.ERROR });
    root.end(end);
  }
}
const first = order === 'logs-first' ? loggerProvider : tracerProvider;
const second = order === 'logs-first' ? tracerProvider : loggerProvider;
await first.forceFlush();
await second.forceFlush();
await tracerProvider.shutdown();
await loggerProvider.shutdown();
console.log(JSON.stringify(results));
process.exit(results.failed === 0 ? 0 : 1);
