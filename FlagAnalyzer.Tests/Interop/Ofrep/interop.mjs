// Drives the real OpenFeature JS server SDK with the OFREP provider against FlagAnalyzer.
// Run by OfrepInteropTests with FLAGANALYZER_URL set; prints one JSON object with every evaluation's details.
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const baseUrl = process.env.FLAGANALYZER_URL;
if (!baseUrl) throw new Error('FLAGANALYZER_URL is not set');

const sdkKey = process.env.FLAGANALYZER_SDK_KEY;
const adminKey = process.env.FLAGANALYZER_ADMIN_KEY;
await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl, headers: { Authorization: `Bearer ${sdkKey}` } }));
const client = OpenFeature.getClient();
const user = { targetingKey: 'user-1', email: 'rachel@faas.com' };

const pick = (d) => ({ value: d.value, variant: d.variant, reason: d.reason, errorCode: d.errorCode });
const results = {
  boolean: pick(await client.getBooleanDetails('interopBool', false, user)),
  string: pick(await client.getStringDetails('headerColor', 'none', user)),
  number: pick(await client.getNumberDetails('interop.number', 0, user)),
  object: pick(await client.getObjectDetails('interop_object', {}, user)),
  split: pick(await client.getBooleanDetails('interop-split', false, user)),
  targeting: pick(await client.getStringDetails('interop-plan', 'none', { targetingKey: 'user-2', plan: 'pro' })),
  notFound: pick(await client.getBooleanDetails('no-such-flag', false, user)),
};

// a change made through the API is what the SDK gets next
const flag = await (await fetch(`${baseUrl}/api/flags/interop-bool`, { headers: { 'X-API-Key': adminKey } })).json();
const patched = await fetch(`${baseUrl}/api/flags/${flag.id}`, {
  method: 'PATCH',
  headers: { 'Content-Type': 'application/json', 'X-API-Key': adminKey },
  body: JSON.stringify({ enabled: false }),
});
if (!patched.ok) throw new Error(`PATCH failed: ${patched.status}`);
results.afterChange = pick(await client.getBooleanDetails('interopBool', true, user));

await OpenFeature.close();
console.log(JSON.stringify(results));
