import { Link } from 'react-router';
import { Check, CheckCircle2 } from 'lucide-react';
import type { Anomaly } from '../api/types';
import { useAcknowledge } from '../api/hooks';
import { Button, ErrorBanner, Pill, RiskBadge, When } from './ui';
import { formatPValue } from './pValue';

export function AnomalyItem({ anomaly: a, flagName }: { anomaly: Anomaly; flagName?: string }) {
  const ack = useAcknowledge();
  return (
    <article id={a.id} data-testid="anomaly" data-status={a.status} data-flag-id={a.flagId} className="rounded-lg border border-slate-200 p-3">
      <div className="flex flex-wrap items-center gap-2">
        <RiskBadge level={a.severity} testId="anomaly-severity" />
        <span className="text-sm font-semibold" data-testid="anomaly-type">{a.type.replace('_', ' ')}</span>
        {a.variant && <Pill><span data-testid="anomaly-variant">variant {a.variant}</span></Pill>}
        <Link to={`/flags/${a.flagId}`} className="text-sm font-medium text-indigo-700 hover:underline">{flagName ?? a.flagId}</Link>
        <Pill><span data-testid="anomaly-status">{a.status}</span></Pill>
        <span className="ml-auto text-xs text-slate-500">detected <When at={a.detectedAt} /></span>
      </div>
      <p className="mt-1 text-sm text-slate-700">{a.message}</p>
      <div className="mt-1 flex flex-wrap gap-3 text-xs text-slate-600">
        <span>{a.metric}: {a.baselineValue.toFixed(2)} → <strong>{a.observedValue.toFixed(2)}</strong> ({a.changePercent > 0 ? '+' : ''}{a.changePercent.toFixed(0)}%)</span>
        <span>{formatPValue(a.pValue)}</span>
        <span>confidence {(a.confidence * 100).toFixed(0)}%</span>
        {a.acknowledgedBy && <span>acknowledged by {a.acknowledgedBy} <When at={a.acknowledgedAt} /></span>}
        {a.resolvedAt && <span className="inline-flex items-center gap-1 text-emerald-700"><CheckCircle2 className="h-3 w-3" /> resolved <When at={a.resolvedAt} /></span>}
      </div>
      {a.status === 'active' && (
        <div className="mt-2">
          <Button data-testid="acknowledge" disabled={ack.isPending} onClick={() => ack.mutate(a.id)}>
            <Check className="h-4 w-4" /> {ack.isPending ? 'Acknowledging…' : 'Acknowledge'}
          </Button>
        </div>
      )}
      {ack.error && <div className="mt-2"><ErrorBanner error={ack.error} what="Acknowledge failed" /></div>}
    </article>
  );
}
