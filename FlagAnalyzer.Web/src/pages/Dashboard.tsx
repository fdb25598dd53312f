import { Link } from 'react-router';
import { AlertOctagon, Flag as FlagIcon, Rocket, Sparkles } from 'lucide-react';
import { useActiveRollouts, useAnomalies, useFlagList, usePredictions } from '../api/hooks';
import { useEnvironmentChoice } from '../environments/useEnvironmentChoice';
import { AnomalyItem } from '../components/AnomalyItem';
import { HealthPanel } from '../components/HealthPanel';
import { PredictionCard } from '../components/PredictionCard';
import { RolloutSummary } from '../components/RolloutStepper';
import { Card, Empty, ErrorBanner, Loading, Pill } from '../components/ui';

function Stat({ label, value, testId }: { label: string; value: string | number; testId: string }) {
  return (
    <div className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm">
      <div className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</div>
      <div data-testid={testId} className="mt-1 text-2xl font-bold">{value}</div>
    </div>
  );
}

export default function Dashboard() {
  const { environment } = useEnvironmentChoice();
  const env = environment || undefined;
  // one environment: each flag's on/off and % there; anomalies, predictions and rollouts are that environment's (issue 26)
  const flags = useFlagList({ limit: 100, environment: env });
  const anomalies = useAnomalies({ status: 'active', environment: env });
  const anomalyItems = anomalies.data?.items ?? [];
  const predictions = usePredictions({ limit: 10, environment: env });
  const predictionItems = predictions.data?.items ?? [];
  const rollouts = useActiveRollouts(environment);
  const inProgress = rollouts.data?.items ?? [];
  const names = new Map(flags.data?.items.map((f) => [f.id, f.name]));

  const flagCount = flags.data ? `${flags.data.items.length}${flags.data.nextCursor ? '+' : ''}` : '…';
  const enabledCount = flags.data ? flags.data.items.filter((f) => f.enabled).length : '…';

  return (
    <div className="space-y-6" data-testid="dashboard">
      <div className="grid grid-cols-2 gap-4 md:grid-cols-4">
        <Stat label="Flags" value={flagCount} testId="stat-flags" />
        <Stat label="Enabled" value={enabledCount} testId="stat-enabled" />
        <Stat label="Active anomalies" value={anomalies.data ? anomalyItems.length : '…'} testId="stat-anomalies" />
        <Stat label="Recent predictions" value={predictions.data ? predictionItems.length : '…'} testId="stat-predictions" />
      </div>

      <div className="grid gap-6 lg:grid-cols-3">
        <div className="space-y-6 lg:col-span-2">
          {inProgress.length > 0 && (
            <Card title="Rollouts in progress" icon={<Rocket className="h-4 w-4" />} testId="rollouts-in-progress">
              <ul className="space-y-3">
                {inProgress.map((r) => <li key={r.plan.id}><Link to={`/flags/${r.plan.flagId}`} className="block hover:bg-slate-50"><RolloutSummary view={r} /></Link></li>)}
              </ul>
            </Card>
          )}
          <Card title="Latest predictions" icon={<Sparkles className="h-4 w-4" />} testId="latest-predictions">
            {predictions.isPending ? <Loading what="Loading predictions" />
              : predictions.error ? <ErrorBanner error={predictions.error} what="Predictions" />
              : predictionItems.length === 0 ? <Empty testId="predictions-empty">No predictions yet — enable a flag or move its rollout to get one.</Empty>
              : <div className="space-y-3">{predictionItems.map((p) => <PredictionCard key={p.id} prediction={p} flagName={names.get(p.flagId) ?? p.flagId} />)}</div>}
          </Card>
          <Card title="Active anomalies" icon={<AlertOctagon className="h-4 w-4" />} testId="active-anomalies"
            actions={<Link to="/anomalies" className="text-sm text-indigo-700 hover:underline">all anomalies</Link>}>
            {anomalies.isPending ? <Loading what="Loading anomalies" />
              : anomalies.error ? <ErrorBanner error={anomalies.error} what="Anomalies" />
              : anomalyItems.length === 0 ? <Empty testId="anomalies-empty">No active anomalies.</Empty>
              : <div className="space-y-3">{anomalyItems.map((a) => <AnomalyItem key={a.id} anomaly={a} flagName={names.get(a.flagId)} />)}</div>}
          </Card>
        </div>
        <div className="space-y-6">
          <HealthPanel />
          <Card title="Flags" icon={<FlagIcon className="h-4 w-4" />} testId="dashboard-flags"
            actions={<Link to="/flags" className="text-sm text-indigo-700 hover:underline">manage</Link>}>
            {flags.isPending ? <Loading what="Loading flags" />
              : flags.error || !flags.data ? <ErrorBanner error={flags.error} what="Flags" />
              : flags.data.items.length === 0 ? <Empty testId="flags-empty">No flags yet. <Link to="/flags" className="text-indigo-700 underline">Create one</Link>.</Empty>
              : (
                <ul className="max-h-96 divide-y divide-slate-100 overflow-auto text-sm">
                  {flags.data.items.map((f) => (
                    <li key={f.id} data-testid="dashboard-flag" className="flex items-center gap-2 py-1.5">
                      <span className={`h-2 w-2 rounded-full ${f.enabled ? 'bg-emerald-500' : 'bg-slate-300'}`} />
                      <Link to={`/flags/${f.id}`} className="truncate font-medium text-slate-800 hover:text-indigo-700">{f.name}</Link>
                      <span className="ml-auto flex gap-1"><Pill>{flags.environment || f.targetEnvironment}</Pill><Pill>{f.rolloutPercentage}%</Pill></span>
                    </li>
                  ))}
                </ul>
              )}
          </Card>
        </div>
      </div>
    </div>
  );
}
