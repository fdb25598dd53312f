import { useState } from 'react';
import { AlertOctagon } from 'lucide-react';
import { useAnomalies, useFlags } from '../api/hooks';
import { useEnvironmentChoice } from '../environments/useEnvironmentChoice';
import { AnomalyItem } from '../components/AnomalyItem';
import { Empty, ErrorBanner, Loading } from '../components/ui';

const tabs = [
  { id: 'open', label: 'Open' },
  { id: 'resolved', label: 'Resolved' },
  { id: 'all', label: 'All' },
] as const;

export default function Anomalies() {
  const [tab, setTab] = useState<(typeof tabs)[number]['id']>('open');
  const { environment } = useEnvironmentChoice();
  // anomalies are per environment (issue 26): the API narrows them to the chosen one
  const anomalies = useAnomalies({ status: tab, environment: environment || undefined });
  const items = anomalies.data?.items ?? [];
  const flags = useFlags({ limit: 500 });
  const names = new Map(flags.data?.items.map((f) => [f.id, f.name]));

  return (
    <div className="space-y-4" data-testid="anomalies-page">
      <div className="flex items-center justify-between">
        <h1 className="flex items-center gap-2 text-2xl font-bold"><AlertOctagon className="h-6 w-6" /> Anomalies</h1>
        <div className="flex rounded-lg bg-slate-100 p-1" role="tablist">
          {tabs.map((t) => (
            <button key={t.id} role="tab" aria-selected={tab === t.id} data-testid={`tab-${t.id}`} onClick={() => setTab(t.id)}
              className={`rounded-md px-3 py-1 text-sm font-medium ${tab === t.id ? 'bg-white shadow-sm' : 'text-slate-600'}`}>
              {t.label}
            </button>
          ))}
        </div>
      </div>
      {anomalies.isPending ? <Loading what="Loading anomalies" />
        : anomalies.error ? <ErrorBanner error={anomalies.error} what="Could not load anomalies" />
        : items.length === 0 ? (
          <Empty testId="anomalies-empty">{tab === 'open' ? 'No open anomalies — nothing is regressing.' : tab === 'resolved' ? 'No resolved anomalies yet.' : 'No anomalies recorded.'}</Empty>
        ) : (
          <div className="space-y-3" data-testid="anomaly-list">
            {items.map((a) => <AnomalyItem key={a.id} anomaly={a} flagName={names.get(a.flagId)} />)}
          </div>
        )}
    </div>
  );
}
