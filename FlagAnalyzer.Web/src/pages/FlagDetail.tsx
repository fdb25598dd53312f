import { Link, useParams } from 'react-router';
import { ArrowLeft, History, LineChart as ChartIcon, Sparkles, AlertOctagon } from 'lucide-react';
import { useAnomalies, useChanges, useFlag, useMetrics, usePredictions } from '../api/hooks';
import { useEnvironmentChoice } from '../environments/useEnvironmentChoice';
import { EnvironmentRows } from '../components/EnvironmentRows';
import type { FlagChange } from '../api/types';
import { AnomalyItem } from '../components/AnomalyItem';
import { EvaluateAs, ExposuresCard, VariantsEditor } from '../components/EvaluationPanel';
import { SdkStreamsCard } from '../components/SdkStreamsCard';
import { FlagCard } from '../components/FlagCard';
import { MetricChart } from '../components/MetricChart';
import { PredictionCard } from '../components/PredictionCard';
import { RolloutCard } from '../components/RolloutStepper';
import { Card, Empty, ErrorBanner, Loading, Pill, When } from '../components/ui';

function Diff({ change }: { change: FlagChange }) {
  const prev = change.previousValue ?? {};
  const next = change.newValue ?? {};
  const fields = [...new Set([...Object.keys(prev), ...Object.keys(next)])];
  if (change.changeType === 'created' || change.changeType === 'deleted' || fields.length === 0) return null;
  const show = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));
  return (
    <ul className="mt-1 font-mono text-xs text-slate-600">
      {fields.map((f) => (
        <li key={f}>{f}: <span className="text-red-700 line-through">{show(prev[f])}</span> → <span className="text-emerald-700">{show(next[f])}</span></li>
      ))}
    </ul>
  );
}

export default function FlagDetail() {
  const { id = '' } = useParams();
  const flag = useFlag(id);
  const flagId = flag.data?.id;
  // the header's environment ('' = all): what hangs off the flag is read in it; all shows the flag's home
  const { environment } = useEnvironmentChoice();
  const env = environment || undefined;
  const metrics = useMetrics(flagId, environment);
  const changes = useChanges(flagId, environment);
  const predictions = usePredictions({ flagId, limit: 20, environment: env });
  const anomalies = useAnomalies({ status: 'all', flagId, environment: env }, !!flagId);

  if (flag.isPending) return <Loading what="Loading flag" />;
  if (flag.error) return <div className="space-y-3"><Link to="/flags" className="text-sm text-indigo-700">← flags</Link><ErrorBanner error={flag.error} what="Flag" /></div>;

  const samples = metrics.data?.items ?? [];
  const changeList = changes.data?.items ?? [];

  return (
    <div className="space-y-6" data-testid="flag-detail">
      <Link to="/flags" className="inline-flex items-center gap-1 text-sm text-indigo-700 hover:underline"><ArrowLeft className="h-4 w-4" /> Flags</Link>
      <div className="grid gap-6 lg:grid-cols-3">
        <div className="lg:col-span-1"><FlagCard flag={flag.data} /></div>
        <div className="lg:col-span-2">
          <Card title={env ? `Metrics over time in ${env}` : 'Metrics over time'} icon={<ChartIcon className="h-4 w-4" />} testId="metrics-card">
            {metrics.isPending ? <Loading what="Loading metrics" />
              : metrics.error ? <ErrorBanner error={metrics.error} what="Metrics" />
              : samples.length === 0 ? <Empty testId="metrics-empty">No metrics yet — use “Simulate metrics” or POST /api/metrics.</Empty>
              : (
                <div className="space-y-4">
                  <h3 className="text-sm font-medium text-slate-700">Error rate</h3>
                  <MetricChart testId="chart-errors" samples={samples} changes={changeList} unit="%"
                    series={[{ key: 'errorRate', label: 'error rate' }]} />
                  <h3 className="text-sm font-medium text-slate-700">Latency (P99 solid, P50 dashed)</h3>
                  <MetricChart testId="chart-latency" samples={samples} changes={changeList} unit="ms"
                    series={[{ key: 'latencyP50', label: 'P50', dashed: true }, { key: 'latencyP99', label: 'P99' }]} />
                  <p className="text-xs text-slate-500" data-testid="metrics-count">{samples.length} samples, one dot each; control is grey, each treatment variant its own colour; dashed vertical lines mark flag changes.</p>
                </div>
              )}
          </Card>
        </div>
      </div>

      <EnvironmentRows flag={flag.data} chosen={environment} />
      {flagId && <RolloutCard flagId={flagId} environment={environment} />}
      <div className="grid gap-6 lg:grid-cols-3">
        <VariantsEditor key={`${flag.data.id}:${flag.data.version}`} flag={flag.data} />
        <EvaluateAs flag={flag.data} />
        <ExposuresCard flag={flag.data} environment={environment} />
        <SdkStreamsCard flag={flag.data} environment={environment || flag.data.targetEnvironment} />
      </div>

      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Change timeline" icon={<History className="h-4 w-4" />} testId="change-timeline">
          {changes.isPending ? <Loading what="Loading changes" />
            : changes.error ? <ErrorBanner error={changes.error} what="Changes" />
            : changeList.length === 0 ? <Empty>No changes recorded.</Empty>
            : (
              <ol className="relative space-y-3 border-l border-slate-200 pl-4">
                {changeList.map((c) => (
                  <li key={c.id} data-testid="change" data-change-type={c.changeType}>
                    <span className="absolute -left-1.5 mt-1.5 h-3 w-3 rounded-full border-2 border-white bg-indigo-500" />
                    <div className="flex flex-wrap items-center gap-2 text-sm">
                      <strong>{c.changeType.replace('_', ' ')}</strong>
                      <span className="text-slate-600">by <span data-testid="change-by">{c.changedBy}</span>
                        {c.actorName && c.actorName !== c.changedBy && (
                          <span data-testid="change-actor" title={c.actorKeyId ?? undefined}> (key: {c.actorName})</span>
                        )}
                      </span>
                      <Pill>{c.environment}</Pill>
                      <span className="text-xs text-slate-500"><When at={c.timestamp} /></span>
                    </div>
                    {c.reason && <p className="text-xs text-slate-600">{c.reason}</p>}
                    <Diff change={c} />
                  </li>
                ))}
              </ol>
            )}
        </Card>
        <div className="space-y-6">
          <Card title="Predictions" icon={<Sparkles className="h-4 w-4" />} testId="flag-predictions">
            {predictions.isPending ? <Loading what="Loading predictions" />
              : predictions.error ? <ErrorBanner error={predictions.error} what="Predictions" />
              : predictions.data.items.length === 0 ? <Empty>No predictions for this flag yet.</Empty>
              : <div className="space-y-3">{predictions.data.items.map((p, i) => <PredictionCard key={p.id} prediction={p} showEvidence={i === 0} />)}</div>}
          </Card>
          <Card title="Anomalies" icon={<AlertOctagon className="h-4 w-4" />} testId="flag-anomalies">
            {anomalies.isPending ? <Loading what="Loading anomalies" />
              : anomalies.error ? <ErrorBanner error={anomalies.error} what="Anomalies" />
              : anomalies.data.items.length === 0 ? <Empty>No anomalies for this flag.</Empty>
              : <div className="space-y-3">{anomalies.data.items.map((a) => <AnomalyItem key={a.id} anomaly={a} flagName={flag.data.name} />)}</div>}
          </Card>
        </div>
      </div>
    </div>
  );
}
