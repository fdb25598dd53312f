import { useState } from 'react';
import { FlaskConical, Split, Target } from 'lucide-react';
import { ApiError, api, errorMessage } from '../api/client';
import { useExposures, useSaveEvaluation } from '../api/hooks';
import type { Evaluation, Flag } from '../api/types';
import { Button, Card, Empty, ErrorBanner, Loading, Pill } from './ui';

const pretty = (v: unknown) => JSON.stringify(v ?? null, null, 2);

function parseJson(text: string): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** Variants, default/off variant and flagd targeting, saved together; the API's messages appear by JSON path. */
export function VariantsEditor({ flag }: { flag: Flag }) {
  const [variants, setVariants] = useState(pretty(flag.variants ?? { on: true, off: false }));
  const [defaultVariant, setDefault] = useState(flag.defaultVariant ?? 'on');
  const [offVariant, setOff] = useState(flag.offVariant ?? 'off');
  const [targeting, setTargeting] = useState(flag.targeting ? pretty(flag.targeting) : '');
  const [local, setLocal] = useState<string | null>(null);
  const save = useSaveEvaluation();

  const submit = () => {
    setLocal(null);
    const v = parseJson(variants);
    if (v.error) return setLocal(`variants: ${v.error}`);
    const t = targeting.trim() ? parseJson(targeting) : { value: {} };
    if (t.error) return setLocal(`targeting: ${t.error}`);
    save.mutate({
      flag,
      patch: {
        variants: v.value as Record<string, unknown>, defaultVariant, offVariant,
        targeting: t.value as Record<string, unknown>,
      },
    });
  };

  const fieldErrors = save.error instanceof ApiError ? Object.entries(save.error.fieldErrors) : [];
  return (
    <Card title="Variants and targeting" icon={<Target className="h-4 w-4" />} testId="variants-editor">
      <div className="space-y-3 text-sm">
        <p className="text-xs text-slate-500">OpenFeature key <code data-testid="flag-key">{flag.key ?? flag.name}</code></p>
        <label className="block">
          <span className="text-xs font-medium text-slate-600">Variants (name → value, one type)</span>
          <textarea data-testid="variants-json" className="mt-1 h-24 w-full rounded-lg border border-slate-300 p-2 font-mono text-xs"
            value={variants} onChange={(e) => setVariants(e.target.value)} />
        </label>
        <div className="flex gap-3">
          <label className="flex-1">
            <span className="text-xs font-medium text-slate-600">Default variant</span>
            <input data-testid="default-variant" className="mt-1 w-full rounded-lg border border-slate-300 px-2 py-1"
              value={defaultVariant} onChange={(e) => setDefault(e.target.value)} />
          </label>
          <label className="flex-1">
            <span className="text-xs font-medium text-slate-600">Off variant</span>
            <input data-testid="off-variant" className="mt-1 w-full rounded-lg border border-slate-300 px-2 py-1"
              value={offVariant} onChange={(e) => setOff(e.target.value)} />
          </label>
        </div>
        <label className="block">
          <span className="text-xs font-medium text-slate-600">Targeting (flagd JSONLogic; empty for none)</span>
          <textarea data-testid="targeting-json" className="mt-1 h-32 w-full rounded-lg border border-slate-300 p-2 font-mono text-xs"
            placeholder='{"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on"]}'
            value={targeting} onChange={(e) => setTargeting(e.target.value)} />
        </label>
        <Button variant="primary" data-testid="save-evaluation" disabled={save.isPending} onClick={submit}>Save</Button>
        {local && <p role="alert" data-testid="evaluation-error" className="text-xs text-red-700">{local}</p>}
        {fieldErrors.length > 0 ? (
          <ul role="alert" data-testid="evaluation-error" className="space-y-1 text-xs text-red-700">
            {fieldErrors.map(([path, messages]) => <li key={path}><code>{path}</code>: {messages.join(', ')}</li>)}
          </ul>
        ) : save.error ? <ErrorBanner error={save.error} what="Save" /> : null}
        {save.isSuccess && !save.isPending && <p data-testid="evaluation-saved" className="text-xs text-emerald-700">Saved (version {save.data.version}).</p>}
      </div>
    </Card>
  );
}

/** "Evaluate as…": the value, variant and reason an SDK would get for a typed context (OFREP, like an SDK). */
export function EvaluateAs({ flag }: { flag: Flag }) {
  const [context, setContext] = useState('{\n  "targetingKey": "user-1"\n}');
  const [result, setResult] = useState<Evaluation | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async () => {
    setError(null);
    const c = parseJson(context);
    if (c.error || typeof c.value !== 'object' || c.value === null || Array.isArray(c.value)) {
      setResult(null);
      return setError(`context must be a JSON object${c.error ? `: ${c.error}` : ''}`);
    }
    try {
      setResult(await api.evaluate(flag.key ?? flag.name, c.value as Record<string, unknown>));
    } catch (e) {
      setResult(null);
      setError(errorMessage(e));
    }
  };

  return (
    <Card title="Evaluate as…" icon={<FlaskConical className="h-4 w-4" />} testId="evaluate-as">
      <div className="space-y-3 text-sm">
        <textarea data-testid="context-json" className="h-24 w-full rounded-lg border border-slate-300 p-2 font-mono text-xs"
          value={context} onChange={(e) => setContext(e.target.value)} />
        <Button data-testid="evaluate" onClick={() => void run()}>Evaluate</Button>
        {error && <p role="alert" className="text-xs text-red-700">{error}</p>}
        {result && (
          <dl data-testid="evaluation-result" className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-xs">
            {result.errorCode ? (
              <><dt className="text-slate-500">error</dt><dd data-testid="evaluation-error-code">{result.errorCode}{result.errorDetails ? ` — ${result.errorDetails}` : ''}</dd></>
            ) : (
              <>
                <dt className="text-slate-500">value</dt><dd data-testid="evaluation-value" className="font-mono">{JSON.stringify(result.value)}</dd>
                <dt className="text-slate-500">variant</dt><dd data-testid="evaluation-variant">{result.variant}</dd>
                <dt className="text-slate-500">reason</dt><dd data-testid="evaluation-reason"><Pill>{result.reason}</Pill></dd>
              </>
            )}
          </dl>
        )}
      </div>
    </Card>
  );
}

/** Served variants (last 24 h) and the sample-ratio check of the served split against the rollout. */
export function ExposuresCard({ flag, environment = '' }: { flag: Flag; environment?: string }) {
  const exposures = useExposures(flag.id, environment);
  const total = exposures.data?.variants.reduce((s, v) => s + v.count, 0) ?? 0;
  const srm = exposures.data?.srm;
  return (
    <Card title="Exposures (24 h)" icon={<Split className="h-4 w-4" />} testId="exposures">
      {exposures.isPending ? <Loading what="Loading exposures" />
        : exposures.error ? <ErrorBanner error={exposures.error} what="Exposures" />
        : total === 0 ? <Empty testId="exposures-empty">No evaluations served yet — SDKs evaluate at /ofrep/v1/evaluate/flags/{flag.key ?? flag.name}.</Empty>
        : (
          <div className="space-y-2 text-sm">
            <ul className="space-y-1">
              {exposures.data.variants.map((v) => (
                <li key={v.variant} data-testid="exposure" data-variant={v.variant} className="flex items-center gap-2">
                  <span className="w-24 truncate font-mono text-xs">{v.variant}</span>
                  <span className="h-2 rounded bg-indigo-500" style={{ width: `${Math.max(2, (v.count / total) * 100)}%` }} />
                  <span className="text-xs text-slate-600">{v.count} ({((v.count / total) * 100).toFixed(1)} %)</span>
                </li>
              ))}
            </ul>
            {srm && (
              <p data-testid="exposure-srm" className={`text-xs ${srm.mismatch ? 'text-red-700' : 'text-slate-600'}`}>
                {srm.mismatch ? 'Sample-ratio mismatch: ' : 'Split as promised: '}
                {srm.defaultVariant} {srm.defaultCount} vs {srm.offVariant} {srm.offCount}, expected {(srm.expectedDefaultShare * 100).toFixed(2)} % (p = {srm.pValue.toPrecision(2)})
              </p>
            )}
          </div>
        )}
    </Card>
  );
}
