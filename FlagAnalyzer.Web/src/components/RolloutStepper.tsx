import { Rocket } from 'lucide-react';
import { useRollout, useRolloutCommand } from '../api/hooks';
import type { RolloutAction, RolloutState, RolloutView } from '../api/types';
import { errorMessage } from '../api/client';
import { Button, Card, Empty, ErrorBanner, Loading, Pill } from './ui';

const stateStyle: Record<RolloutState, string> = {
  pending: 'bg-slate-100 text-slate-700',
  running: 'bg-indigo-100 text-indigo-800',
  paused: 'bg-amber-100 text-amber-800',
  completed: 'bg-emerald-100 text-emerald-800',
  rolled_back: 'bg-red-100 text-red-800',
  aborted: 'bg-slate-200 text-slate-700',
};

/** Which buttons a plan in this state offers (the API answers 409 to the others). */
export function actionsFor(state: RolloutState): RolloutAction[] {
  switch (state) {
    case 'pending': return ['start'];
    case 'running': return ['pause', 'promote', 'abort'];
    case 'paused': return ['resume', 'promote', 'abort'];
    default: return [];
  }
}

export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t >= 3600) return `${Math.floor(t / 3600)}h ${Math.floor((t % 3600) / 60)}m`;
  if (t >= 60) return `${Math.floor(t / 60)}m ${t % 60}s`;
  return `${t}s`;
}

const pct = (v: number | null, metric: string) =>
  v === null ? 'n/a' : metric.startsWith('latency') ? `${v.toFixed(1)} ms` : metric.includes('satisfaction') ? v.toFixed(2) : `${v.toFixed(2)} %`;

/** The plan as a stepper: the stages, where it stands, what is still missing, the verdicts and why it waits or stopped. */
export function RolloutStepperView({ view, onAction, busy }: { view: RolloutView; onAction?: (a: RolloutAction) => void; busy?: boolean }) {
  const { plan, evaluation } = view;
  const finished = plan.state === 'completed';
  const progress = plan.state === 'running' ? evaluation.progress : null;
  const why = plan.state === 'running' ? evaluation.reason : plan.reason;
  // each served treatment variant is compared with control: one row per variant and metric
  const byVariant = evaluation.verdicts.some((v) => v.variant);
  return (
    <div className="space-y-3" data-testid="rollout" data-state={plan.state} data-stage={plan.currentStage}>
      <div className="flex flex-wrap items-center gap-2">
        <span data-testid="rollout-state" className={`rounded-md px-2 py-0.5 text-xs font-semibold ${stateStyle[plan.state]}`}>{plan.state.replace('_', ' ')}</span>
        {plan.state !== 'pending' && <span className="text-sm text-slate-600">stage {plan.currentStage + 1} of {plan.stages.length}</span>}
      </div>
      <ol className="flex flex-wrap items-center gap-1" aria-label="stages">
        {plan.stages.map((s, i) => {
          const done = finished ? i <= plan.currentStage : i < plan.currentStage && plan.state !== 'pending';
          const current = i === plan.currentStage && plan.state !== 'pending' && !finished;
          const failed = current && (plan.state === 'rolled_back' || plan.state === 'aborted');
          const style = failed ? 'bg-red-600 text-white' : current ? 'bg-indigo-600 text-white' : done ? 'bg-emerald-600 text-white' : 'bg-slate-100 text-slate-600';
          return (
            <li key={i} data-testid="rollout-stage" data-current={current || undefined} data-done={done || undefined}
              className={`rounded-full px-2.5 py-1 text-xs font-medium ${style}`}>
              {s.percentage} %
            </li>
          );
        })}
      </ol>
      {progress && (
        <p className="text-sm text-slate-700" data-testid="rollout-progress">
          {progress.secondsLeft > 0 ? `${formatSeconds(progress.secondsLeft)} left` : 'minimum duration met'}
          {' · '}
          {progress.requestsLeft > 0 ? `${Math.ceil(progress.requestsLeft).toLocaleString('en')} requests per cohort left` : 'minimum requests met'}
          {' · '}treatment {progress.treatmentRequests.toLocaleString('en')}, control {progress.controlRequests.toLocaleString('en')}
        </p>
      )}
      {(evaluation.guardrails?.length ?? 0) > 0 && (
        <div className="text-xs text-slate-600" data-testid="rollout-guardrails">
          guarded by <span className="font-mono">{evaluation.guardrails!.join(', ')}</span>
          {!plan.guardrails && <span className="text-slate-400"> (default)</span>}
        </div>
      )}
      {progress && (evaluation.evidence?.length ?? 0) > 0 && (
        <ul className="space-y-0.5 text-xs" data-testid="rollout-evidence">
          {evaluation.evidence!.map((e) => (
            <li key={`${e.variant ?? ''}/${e.metric}`} data-testid="rollout-evidence-item" data-ready={e.ready || undefined}
              className={e.ready ? 'text-emerald-700' : 'text-amber-800'}>
              {e.ready
                ? `${e.metric}${e.variant ? ` of '${e.variant}'` : ''}: compared (control ${e.controlSamples}, ${e.variant ? `'${e.variant}'` : 'treatment'} ${e.treatmentSamples} samples at this stage)`
                : e.waiting}
            </li>
          ))}
        </ul>
      )}
      {why && (
        <p data-testid="rollout-reason"
          className={`rounded-lg px-3 py-2 text-sm ${plan.state === 'rolled_back' ? 'bg-red-50 text-red-900' : plan.state === 'paused' ? 'bg-amber-50 text-amber-900' : 'bg-slate-50 text-slate-700'}`}>
          {why}
        </p>
      )}
      {evaluation.verdicts.length > 0 && (
        <table className="w-full text-left text-xs" data-testid="rollout-verdicts">
          <thead className="text-slate-500">
            <tr>{byVariant && <th>variant</th>}<th>metric</th><th>control</th><th>{byVariant ? 'variant' : 'treatment'}</th><th>verdict</th><th>confidence</th></tr>
          </thead>
          <tbody>
            {evaluation.verdicts.map((v) => (
              <tr key={`${v.variant ?? ''}/${v.metric}`} data-testid="rollout-verdict" data-verdict={v.verdict} data-variant={v.variant ?? undefined} title={v.note}>
                {byVariant && <td className="font-mono" data-testid="rollout-verdict-variant">{v.variant}</td>}
                <td className="font-mono">{v.metric}</td>
                <td>{pct(v.controlValue, v.metric)}</td>
                <td>{pct(v.treatmentValue, v.metric)}</td>
                <td>{v.verdict.replaceAll('_', ' ')}{v.severity ? ` (${v.severity})` : ''}</td>
                <td>{(v.confidence * 100).toFixed(1)} %</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {onAction && actionsFor(plan.state).length > 0 && (
        <div className="flex flex-wrap gap-2">
          {actionsFor(plan.state).map((a) => (
            <Button key={a} data-testid={`rollout-${a}`} disabled={busy} variant={a === 'abort' ? 'danger' : a === 'start' || a === 'promote' ? 'primary' : 'secondary'}
              onClick={() => onAction(a)}>
              {a}
            </Button>
          ))}
        </div>
      )}
    </div>
  );
}

/** The flag page's rollout card: the plan live (rollout.updated and new metrics refresh it), or a button to create one. */
export function RolloutCard({ flagId, environment = '' }: { flagId: string; environment?: string }) {
  const rollout = useRollout(flagId, environment);
  const command = useRolloutCommand(flagId, environment);
  const finished = rollout.data && ['completed', 'rolled_back', 'aborted'].includes(rollout.data.plan.state);
  return (
    <Card title={environment ? `Guarded rollout in ${environment}` : 'Guarded rollout'} icon={<Rocket className="h-4 w-4" />} testId="rollout-card"
      actions={(!rollout.data || finished) && !rollout.isPending
        ? <Button data-testid="rollout-create" disabled={command.isPending} onClick={() => command.mutate('create')}>{finished ? 'New plan' : 'Plan a rollout'}</Button>
        : undefined}>
      {rollout.isPending ? <Loading what="Loading rollout" />
        : rollout.error ? <ErrorBanner error={rollout.error} what="Rollout" />
        : !rollout.data ? <Empty testId="rollout-empty">No rollout plan. A plan goes 1 → 5 → 25 → 50 → 100 %, advancing on evidence and rolling back on a regression.</Empty>
        : <RolloutStepperView view={rollout.data} busy={command.isPending} onAction={(a) => command.mutate(a)} />}
      {command.error && <p className="mt-2 text-sm text-red-700" data-testid="rollout-error">{errorMessage(command.error)}</p>}
    </Card>
  );
}

/** One line per rollout in progress, for the dashboard. */
export function RolloutSummary({ view }: { view: RolloutView }) {
  const stage = view.plan.stages[view.plan.currentStage];
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm" data-testid="rollout-in-progress">
      <strong>{view.flagName}</strong>
      <Pill className={stateStyle[view.plan.state]}>{view.plan.state}</Pill>
      <span className="text-slate-600">{stage?.percentage} % · stage {view.plan.currentStage + 1}/{view.plan.stages.length}</span>
      <span className="w-full text-xs text-slate-500">{view.plan.state === 'running' ? view.evaluation.reason : view.plan.reason}</span>
    </div>
  );
}
