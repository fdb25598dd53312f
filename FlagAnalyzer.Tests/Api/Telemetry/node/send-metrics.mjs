// Evaluates a flag through the OpenFeature server SDK with the OpenFeature metrics hook (@openfeature/open-telemetry-hooks)
// and exports the hook's counters with the OpenTelemetry JS metrics SDK and its OTLP/HTTP (JSON) metrics exporter, as an
// application whose flags another source serves would. The flag is served from the SDK's in-memory provider, split by
// targeting key, so FlagAnalyzer learns of the evaluations only through /v1/metrics. Prints what it served.
// usage: node send-metrics.mjs <url of /v1/metrics> <flag> <evaluations> <ingest key> [deployment.environment.name of the resource]
import { metrics } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { MetricsHook } from '@openfeature/open-telemetry-hooks';

const [url, flag, evaluationsArg, key, environment] = process.argv.slice(2);
const evaluations = Number(evaluationsArg);

const results = { exports: 0, failed: 0 };
const otlp = new OTLPMetricExporter({ url, timeoutMillis: 20000, headers: { 'X-API-Key': key } });
const exporter = {
  export(batch, done) {
    otlp.export(batch, result => {
      results.exports++;
      if (result.code !== 0) { results.failed++; console.error(result.error); }
      done(result);
    });
  },
  forceFlush: () => otlp.forceFlush(),
  shutdown: () => otlp.shutdown(),
  selectAggregationTemporality: kind => otlp.selectAggregationTemporality(kind),
};
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60000 });
const resource = resourceFromAttributes({ 'service.name': 'node-checkout', ...(environment ? { 'deployment.environment.name': environment } : {}) });
const meterProvider = new MeterProvider({ resource, readers: [reader] });
metrics.setGlobalMeterProvider(meterProvider);

await OpenFeature.setProviderAndWait(new InMemoryProvider({
  [flag]: {
    variants: { on: true, off: false },
    defaultVariant: 'off',
    disabled: false,
    // a 30 % split by targeting key
    contextEvaluator: ctx => (Number(ctx.targetingKey.slice(5)) % 10 < 3 ? 'on' : 'off'),
  },
}));
OpenFeature.addHooks(new MetricsHook());
const client = OpenFeature.getClient();

const served = { on: 0, off: 0 };
for (let i = 0; i < evaluations; i++) {
  const details = await client.getBooleanDetails(flag, false, { targetingKey: `user-${i}` });
  served[details.variant]++;
}
await meterProvider.forceFlush();
await meterProvider.shutdown();
console.log(JSON.stringify({ served, ...results }));
process.exit(results.failed === 0 && results.exports > 0 ? 0 : 1);
