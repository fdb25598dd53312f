// The browser side of OfrepWebInteropTests: the real OpenFeature web SDK with the OFREP web provider, bundled by esbuild.
// Polling is off (pollInterval 0) and nothing is cached in localStorage, so after the first answer only the provider's
// event stream can make the page show a change.
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

const params = new URLSearchParams(location.hash.slice(1));
const flags = params.get('flags').split(',');
window.__changes = [];

function render(client) {
  for (const key of flags) {
    const d = client.getBooleanDetails(key, false);
    const el = document.getElementById(key) ?? document.body.appendChild(Object.assign(document.createElement('p'), { id: key }));
    if (el.textContent !== String(d.value)) {
      el.textContent = String(d.value);
      window.__changes.push({ key, value: d.value, at: Date.now() });
    }
  }
}

const provider = new OFREPWebProvider({
  baseUrl: params.get('api'),
  headers: [['Authorization', `Bearer ${params.get('key')}`]],
  pollInterval: 0,
  cacheMode: 'disabled',
  changeDetection: 'sse',
});
await OpenFeature.setContext({ targetingKey: 'browser-user' });
await OpenFeature.setProviderAndWait(provider);
const client = OpenFeature.getClient();
client.addHandler(ProviderEvents.ConfigurationChanged, () => render(client));
render(client);
document.body.dataset.ready = 'true';
