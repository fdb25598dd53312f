import { Link } from 'react-router';
import { Bot, Sigma } from 'lucide-react';
import type { Prediction } from '../api/types';
import { Pill, RiskBadge, When } from './ui';
import { EvidenceValue } from './EvidenceValue';

const pct = (x: number) => `${x > 0 ? '+' : ''}${x.toFixed(1)}%`;
// the 95 % interval the statistical predictor adds (optional on the wire)
const range = (r?: number[] | null) => r && r.length === 2 ? ` (95 %: ${pct(r[0])} … ${pct(r[1])})` : '';
type Intervals = { errorRateChangeInterval?: number[] | null; latencyChangeInterval?: number[] | null };

/** A prediction with its numbers: risk, expected impact, recommendations, evidence and where it came from. */
export function PredictionCard({ prediction: p, flagName, showEvidence = false }: {
  prediction: Prediction; flagName?: string; showEvidence?: boolean;
}) {
  const llm = p.source.startsWith('llm');
  return (
    <article data-testid="prediction" data-flag-id={p.flagId} className="rounded-lg border border-slate-200 p-3">
      <div className="flex flex-wrap items-center gap-2">
        <RiskBadge level={p.riskLevel} />
        <span className="text-sm font-semibold">risk {p.riskScore.toFixed(0)}/100</span>
        {flagName !== undefined && (
          <Link to={`/flags/${p.flagId}`} data-testid="prediction-flag" className="text-sm font-medium text-indigo-700 hover:underline">{flagName}</Link>
        )}
        <Pill className={llm ? 'bg-violet-100 text-violet-800' : ''}>
          <span data-testid="prediction-source" className="inline-flex items-center gap-1">
            {llm ? <Bot className="h-3 w-3" /> : <Sigma className="h-3 w-3" />}{p.source}
          </span>
        </Pill>
        <span className="ml-auto text-xs text-slate-500"><When at={p.updatedAt ?? p.createdAt} /></span>
      </div>
      <div className="mt-2 grid grid-cols-3 gap-2 text-xs text-slate-600">
        <span>errors <strong className="text-slate-900">{pct(p.predictedImpact.errorRateChange)}</strong>{range((p.predictedImpact as Intervals).errorRateChangeInterval)}</span>
        <span>latency <strong className="text-slate-900">{pct(p.predictedImpact.latencyChange)}</strong>{range((p.predictedImpact as Intervals).latencyChangeInterval)}</span>
        <span>users <strong className="text-slate-900">{p.predictedImpact.userImpact}</strong></span>
      </div>
      {p.reasoning && <p className="mt-2 text-sm text-slate-700">{p.reasoning}</p>}
      {p.recommendations.length > 0 && (
        <ul className="mt-2 list-disc pl-5 text-sm text-slate-700">
          {p.recommendations.map((r, i) => <li key={i}>{r}</li>)}
        </ul>
      )}
      <details className="mt-2 text-xs" open={showEvidence} data-testid="prediction-evidence">
        <summary className="cursor-pointer text-slate-500">evidence · confidence {(p.confidence * 100).toFixed(0)}%</summary>
        <dl className="mt-1 grid grid-cols-[max-content_1fr] gap-x-3 gap-y-0.5 font-mono">
          {Object.entries(p.evidence ?? {}).map(([k, v]) => (
            <div key={k} className="contents"><dt className="text-slate-500">{k}</dt><dd className="break-all"><EvidenceValue value={v} /></dd></div>
          ))}
        </dl>
      </details>
    </article>
  );
}
