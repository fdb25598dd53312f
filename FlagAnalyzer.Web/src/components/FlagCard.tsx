import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { Activity, Power, PowerOff, Tag, User } from 'lucide-react';
import type { Flag } from '../api/types';
import { useChangeFlag, usePatchConfiguration, useRecordMetrics } from '../api/hooks';
import { ApiError } from '../api/client';
import { simulateBatch } from '../simulate';
import { Button, ErrorBanner, Pill, RiskBadge, When } from './ui';
import { flagState, flagStateClass } from './flagState';

/**
 * A flag with its controls: enable/disable, the rollout slider and "simulate metrics". With `environment`, the flag
 * shows (and its controls change) that environment's configuration; its home is changed through the change record,
 * as without, so the API predicts the change's risk.
 */
export function FlagCard({ flag, environment }: { flag: Flag; environment?: string }) {
  const elsewhere = !!environment && environment !== flag.targetEnvironment;
  const recorded = useChangeFlag();
  const patched = usePatchConfiguration(flag.id);
  const change = {
    mutate: (v: { flag: Flag; enabled?: boolean; rolloutPercentage?: number }) => {
      if (!elsewhere) return recorded.mutate(v);
      const { flag: _f, ...patch } = v;
      patched.mutate({ environment: environment!, patch, version: flag.version });
    },
    isPending: recorded.isPending || patched.isPending,
    error: recorded.error ?? patched.error,
  };
  const pending = patched.data?.kind === 'pending';
  const stale = patched.error instanceof ApiError && patched.error.status === 412;
  const metrics = useRecordMetrics();
  const [rollout, setRollout] = useState(flag.rolloutPercentage);
  const state = flagState(flag);
  useEffect(() => setRollout(flag.rolloutPercentage), [flag.rolloutPercentage]);

  const commitRollout = () => {
    if (rollout !== flag.rolloutPercentage) change.mutate({ flag, rolloutPercentage: rollout });
  };

  return (
    <article data-testid="flag-card" data-flag-name={flag.name} data-enabled={flag.enabled}
      className="flex flex-col gap-2 rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
      <div className="flex items-start justify-between gap-2">
        <div className="min-w-0">
          <Link to={`/flags/${flag.id}`} data-testid="flag-link" className="block truncate font-semibold text-indigo-700 hover:underline">{flag.name}</Link>
          {flag.description && <p className="truncate text-sm text-slate-600">{flag.description}</p>}
        </div>
        <span data-testid="flag-state" className={`shrink-0 rounded-full px-2 py-0.5 text-xs font-semibold ${flagStateClass[state.tone]}`} title={state.hint}>
          {state.text}
        </span>
      </div>
      {state.hint && <p data-testid="flag-state-hint" className="text-xs text-amber-800">{state.hint}</p>}
      <div className="flex flex-wrap items-center gap-1.5 text-xs">
        <Pill>{environment ?? flag.targetEnvironment}</Pill>
        {flag.owner && <Pill><User className="mr-1 h-3 w-3" />{flag.owner}</Pill>}
        {flag.tags.map((t) => <Pill key={t}><Tag className="mr-1 h-3 w-3" />{t}</Pill>)}
        <span className="ml-auto text-slate-500">v{flag.version} · <When at={flag.updatedAt} /></span>
      </div>
      <label className="flex items-center gap-2 text-sm">
        <span className="w-24 shrink-0 text-slate-600">Rollout <strong data-testid="rollout-value" className="text-slate-900">{rollout}%</strong></span>
        <input data-testid="rollout-slider" aria-label={`Rollout of ${flag.name}`} type="range" min={0} max={100} step={5} value={rollout}
          onChange={(e) => setRollout(Number(e.target.value))} onMouseUp={commitRollout} onKeyUp={commitRollout} onTouchEnd={commitRollout}
          className="flex-1" />
      </label>
      <div className="flex flex-wrap gap-2">
        <Button data-testid="toggle-flag" variant={flag.enabled ? 'secondary' : 'primary'} disabled={change.isPending}
          onClick={() => change.mutate({ flag, enabled: !flag.enabled })}>
          {flag.enabled ? <><PowerOff className="h-4 w-4" /> Disable</> : <><Power className="h-4 w-4" /> Enable</>}
        </Button>
        <Button data-testid="simulate-metrics" disabled={metrics.isPending} onClick={() => metrics.mutate(simulateBatch(flag))}>
          <Activity className="h-4 w-4" /> {metrics.isPending ? 'Sending…' : 'Simulate metrics'}
        </Button>
      </div>
      {metrics.isSuccess && (
        <p data-testid="simulate-result" className="text-xs text-slate-600">
          {metrics.data.accepted} samples recorded{metrics.data.anomalies.length ? `, ${metrics.data.anomalies.length} anomalies detected` : ''}.
        </p>
      )}
      {recorded.isSuccess && recorded.data.prediction && (
        <p data-testid="change-prediction" className="flex items-center gap-2 text-xs text-slate-600">
          Predicted risk <RiskBadge level={recorded.data.prediction.riskLevel} /> {recorded.data.prediction.riskScore.toFixed(0)}/100
        </p>
      )}
      {pending && <p role="status" data-testid="change-pending" className="text-xs text-amber-800">pending approval: {environment} is protected.</p>}
      {stale ? <p role="alert" data-testid="change-stale" className="text-xs text-amber-800">{environment} was changed elsewhere: reloaded, try again.</p>
        : <ErrorBanner error={change.error} what="Change failed" />}
      <ErrorBanner error={metrics.error} what="Metrics rejected" />
    </article>
  );
}
