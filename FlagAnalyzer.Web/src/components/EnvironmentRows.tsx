import { useEffect, useId, useState } from 'react';
import { ArrowUpRight, Hourglass, Layers } from 'lucide-react';
import { ApiError, errorMessage } from '../api/client';
import type { ConfigurationOutcome, FlagConfiguration, PendingChangeRequest } from '../api/environments';
import type { Flag } from '../api/types';
import { useAnomalies, useConfigurations, useEnvironments, usePatchConfiguration, usePromote, usePromotionDiff, useRollout } from '../api/hooks';
import { Button, Card, Empty, ErrorBanner, Loading, Pill, When } from './ui';
import { PendingApproval } from './PendingApproval';

const show = (v: unknown) => (v === undefined ? '—' : v === null ? 'null' : typeof v === 'string' ? v : JSON.stringify(v));

/** What a row says after its last change: nothing, a stale refusal (412), or a change waiting for approval (202). */
type RowNotice = { kind: 'stale' } | { kind: 'pending'; changeRequest: PendingChangeRequest } | null;

function noticeOf(outcome: ConfigurationOutcome): RowNotice {
  return outcome.kind === 'pending' ? { kind: 'pending', changeRequest: outcome.changeRequest } : null;
}

/** The diff a promotion would apply, read when the dialog opens, and the button that applies it. */
export function PromoteDialog({ flag, from, to, onClose, onDone }: {
  flag: Pick<Flag, 'id' | 'name'>; from: string; to: string; onClose: () => void; onDone: (outcome: ConfigurationOutcome) => void;
}) {
  const titleId = useId();
  const diff = usePromotionDiff(flag.id, to, from, true);
  const promote = usePromote(flag.id);
  return (
    <div className="fixed inset-0 z-20 flex items-center justify-center bg-slate-900/30 p-4">
      <div role="dialog" aria-modal="true" aria-labelledby={titleId} data-testid="promote-dialog"
        onKeyDown={(e) => { if (e.key === 'Escape') onClose(); }}
        className="w-full max-w-lg space-y-3 rounded-xl bg-white p-4 shadow-xl">
        <h2 id={titleId} className="text-lg font-semibold">Promote {flag.name} from {from} to {to}</h2>
        {diff.isPending ? <Loading what="Reading what would change" />
          : diff.error ? <ErrorBanner error={diff.error} what="Diff" />
          : diff.data.changes.length === 0 ? <Empty testId="promote-no-changes">{to} already holds {from}’s configuration: nothing would change.</Empty>
          : (
            <table className="w-full text-left text-sm" aria-label={`Changes to ${to}`} data-testid="promote-diff">
              <thead className="text-xs text-slate-500"><tr><th scope="col">field</th><th scope="col">{to} now</th><th scope="col">after (from {from})</th></tr></thead>
              <tbody className="font-mono text-xs">
                {diff.data.changes.map((c) => (
                  <tr key={c.field} data-testid="promote-change" data-field={c.field}>
                    <td>{c.field}</td>
                    <td className="text-red-700">{show(c.from)}</td>
                    <td className="text-emerald-700">{show(c.to)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        {diff.data && <p className="text-xs text-slate-500">Copies {from} at revision {diff.data.fromRevision}.</p>}
        <ErrorBanner error={promote.error} what="Promotion failed" />
        <div className="flex justify-end gap-2">
          {/* focus starts on the harmless choice: Enter on open cancels rather than promotes */}
          <Button onClick={onClose} autoFocus>Cancel</Button>
          <Button variant="primary" data-testid="promote-apply" disabled={!diff.data || diff.data.changes.length === 0 || promote.isPending}
            onClick={() => promote.mutate({ to, from }, { onSuccess: (outcome) => { onDone(outcome); onClose(); } })}>
            {promote.isPending ? 'Promoting…' : `Promote to ${to}`}
          </Button>
        </div>
      </div>
    </div>
  );
}

function EnvironmentRow({ flag, configuration, previous, home, chosen, color }: {
  flag: Flag; configuration: FlagConfiguration; previous?: string; home: boolean; chosen: boolean; color?: string;
}) {
  const env = configuration.environment;
  const patch = usePatchConfiguration(flag.id);
  const rollout = useRollout(flag.id, env);
  const anomalies = useAnomalies({ status: 'open', flagId: flag.id, environment: env });
  const [notice, setNotice] = useState<RowNotice>(null);
  const [promoting, setPromoting] = useState(false);
  const [percent, setPercent] = useState(String(configuration.rolloutPercentage));
  useEffect(() => setPercent(String(configuration.rolloutPercentage)), [configuration.rolloutPercentage, configuration.version]);

  const change = (p: { enabled?: boolean; rolloutPercentage?: number }) => {
    setNotice(null);
    patch.mutate({ environment: env, patch: p, version: configuration.version }, {
      onSuccess: (outcome) => setNotice(noticeOf(outcome)),
      onError: (e) => { if (e instanceof ApiError && e.status === 412) setNotice({ kind: 'stale' }); },
    });
  };
  const commitPercent = () => {
    const n = Number(percent);
    if (percent.trim() !== '' && Number.isFinite(n) && n !== configuration.rolloutPercentage) change({ rolloutPercentage: n });
  };
  const plan = rollout.data?.plan;
  const openCount = anomalies.data?.items.length;

  return (
    <tr data-testid="env-row" data-environment={env} data-enabled={configuration.enabled} aria-current={chosen ? 'true' : undefined}
      className={`border-t border-slate-100 align-top ${chosen ? 'bg-indigo-50/50' : ''}`}>
      <th scope="row" className="py-2 pr-3 text-left font-medium">
        <span className="flex items-center gap-1.5">
          <span className="h-2 w-2 rounded-full" style={{ background: color ?? '#64748b' }} aria-hidden />
          {env}{home && <Pill>home</Pill>}
        </span>
      </th>
      <td className="py-2 pr-3">
        <button type="button" role="switch" aria-checked={configuration.enabled} aria-label={`Enabled in ${env}`} data-testid="env-toggle"
          disabled={patch.isPending} onClick={() => change({ enabled: !configuration.enabled })}
          className={`relative inline-flex h-5 w-9 items-center rounded-full transition disabled:opacity-50 ${configuration.enabled ? 'bg-emerald-500' : 'bg-slate-300'}`}>
          <span className={`inline-block h-4 w-4 rounded-full bg-white shadow transition ${configuration.enabled ? 'translate-x-4' : 'translate-x-0.5'}`} />
        </button>
        <span className="ml-2 text-xs text-slate-600" data-testid="env-state">{configuration.enabled ? 'on' : 'off'}</span>
      </td>
      <td className="py-2 pr-3">
        <input type="number" min={0} max={100} step={1} aria-label={`Rollout in ${env} (%)`} data-testid="env-rollout"
          value={percent} disabled={patch.isPending} onChange={(e) => setPercent(e.target.value)}
          onBlur={commitPercent} onKeyDown={(e) => { if (e.key === 'Enter') commitPercent(); }}
          className="w-16 rounded border border-slate-300 px-1.5 py-0.5 text-sm" /> %
      </td>
      <td className="py-2 pr-3 text-xs" data-testid="env-plan">{rollout.isPending ? '…' : plan ? plan.state.replace('_', ' ') : 'no plan'}</td>
      <td className="py-2 pr-3 text-xs" data-testid="env-anomalies">
        {openCount === undefined ? '…' : <span className={openCount > 0 ? 'font-semibold text-red-700' : 'text-slate-600'}>{openCount}</span>}
      </td>
      <td className="py-2 pr-3 text-xs text-slate-600">
        <span data-testid="env-version">v{configuration.version}</span> · <When at={configuration.updatedAt} />
      </td>
      <td className="py-2 text-right">
        {previous && (
          <Button data-testid="env-promote" aria-label={`Promote from ${previous} to ${env}`} onClick={() => setPromoting(true)}>
            <ArrowUpRight className="h-4 w-4" /> Promote from {previous}
          </Button>
        )}
        {promoting && previous && (
          <PromoteDialog flag={flag} from={previous} to={env} onClose={() => setPromoting(false)} onDone={(o) => setNotice(noticeOf(o))} />
        )}
        {notice?.kind === 'stale' && (
          <p role="alert" data-testid="env-stale" className="mt-1 text-left text-xs text-amber-800">
            {env} was changed elsewhere: reloaded, now showing its current configuration. Apply your change again if it still holds.
          </p>
        )}
        {notice?.kind !== 'pending' && <PendingApproval flagId={flag.id} environment={env} />}
        {notice?.kind === 'pending' && (
          <p role="status" data-testid="env-pending" className="mt-1 flex items-center gap-1 text-left text-xs text-amber-800">
            <Hourglass className="h-3.5 w-3.5" /> pending approval{notice.changeRequest.id ? ` (${notice.changeRequest.id})` : ''}: {env} is protected, the change applies once approved.
          </p>
        )}
        {patch.error && !(patch.error instanceof ApiError && patch.error.status === 412) && (
          <p role="alert" data-testid="env-error" className="mt-1 text-left text-xs text-red-700">{errorMessage(patch.error)}</p>
        )}
      </td>
    </tr>
  );
}

/** The flag page's table: one row per environment in promotion order, each changed and promoted on its own. */
export function EnvironmentRows({ flag, chosen }: { flag: Flag; chosen: string }) {
  const configurations = useConfigurations(flag.id);
  const environments = useEnvironments();
  const colors = new Map(environments.data?.items.map((e) => [e.name, e.color]));
  const items = configurations.data?.items ?? [];
  return (
    <Card title="Environments" icon={<Layers className="h-4 w-4" />} testId="env-rows">
      {configurations.isPending ? <Loading what="Loading environments" />
        : configurations.error ? <ErrorBanner error={configurations.error} what="Environments" />
        : items.length === 0 ? <Empty>This flag has no configuration in any environment.</Empty>
        : (
          <div className="overflow-x-auto">
            <table className="w-full text-sm" aria-label={`${flag.name} in each environment`}>
              <thead className="text-left text-xs text-slate-500">
                <tr>
                  <th scope="col">environment</th><th scope="col">enabled</th><th scope="col">rollout</th><th scope="col">plan</th>
                  <th scope="col">open anomalies</th><th scope="col">version</th><th scope="col"><span className="sr-only">actions</span></th>
                </tr>
              </thead>
              <tbody>
                {items.map((c, i) => (
                  <EnvironmentRow key={c.environment} flag={flag} configuration={c} previous={i > 0 ? items[i - 1].environment : undefined}
                    home={c.environment === flag.targetEnvironment} chosen={c.environment === chosen} color={colors.get(c.environment)} />
                ))}
              </tbody>
            </table>
          </div>
        )}
    </Card>
  );
}
