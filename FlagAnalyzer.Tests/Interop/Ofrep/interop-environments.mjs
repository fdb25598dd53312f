// Issue 26 item 7: the real OpenFeature JS server SDK with the OFREP provider, one provider per environment (a staging
// and a production sdk key, as two applications would hold them), evaluating the same key; then a promotion staging →
// production through the API, and what the production SDK gets next. Prints one JSON object.
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const baseUrl = process.env.FLAGANALYZER_URL;
if (!baseUrl) throw new Error('FLAGANALYZER_URL is not set');
const adminKey = process.env.FLAGANALYZER_ADMIN_KEY;
const provider = (key) => new OFREPProvider({ baseUrl, headers: { Authorization: `Bearer ${key}` } });
await OpenFeature.setProviderAndWait('staging', provider(process.env.FLAGANALYZER_STAGING_KEY));
await OpenFeature.setProviderAndWait('production', provider(process.env.FLAGANALYZER_PRODUCTION_KEY));
const staging = OpenFeature.getClient('staging');
const production = OpenFeature.getClient('production');
const user = { targetingKey: 'user-1' };

const pick = (d) => ({ value: d.value, variant: d.variant, reason: d.reason, errorCode: d.errorCode });
const results = {
  staging: pick(await staging.getStringDetails('checkoutTheme', 'none', user)),
  production: pick(await production.getStringDetails('checkoutTheme', 'none', user)),
};

const promoted = await fetch(`${baseUrl}/api/flags/checkout-theme/environments/production/promote`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', 'X-API-Key': adminKey },
  body: JSON.stringify({ from: 'staging' }),
});
if (!promoted.ok) throw new Error(`promote failed: ${promoted.status} ${await promoted.text()}`);
results.productionAfterPromotion = pick(await production.getStringDetails('checkoutTheme', 'none', user));
results.stagingAfterPromotion = pick(await staging.getStringDetails('checkoutTheme', 'none', user));

await OpenFeature.close();
console.log(JSON.stringify(results));
