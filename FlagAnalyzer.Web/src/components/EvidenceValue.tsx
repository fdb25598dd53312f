import { Link } from 'react-router';

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3).replace(/\.?0+$/, '');
}

function isAnomalyRef(v: unknown): v is { id: string; flagId?: string; type?: string; metric?: string; severity?: string; changePercent?: number } {
  return typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string' && String((v as { id: string }).id).startsWith('anm_');
}

/**
 * One evidence value as a person reads it: numbers trimmed, [low, high] pairs as a range, objects as labelled
 * values (mean 1.622 · volatility 0.772), open anomalies as links to the anomalies page — never raw JSON.
 */
export function EvidenceValue({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <>—</>;
  if (typeof value === 'number') return <>{num(value)}</>;
  if (typeof value !== 'object') return <>{String(value)}</>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <>none</>;
    if (value.length === 2 && value.every((x) => typeof x === 'number')) return <>{num(value[0])} … {num(value[1])}</>;
    return (
      <ul className="space-y-0.5">
        {value.map((x, i) => (
          <li key={isAnomalyRef(x) ? x.id : i}>
            {isAnomalyRef(x)
              ? <Link data-testid="evidence-anomaly" to={`/anomalies#${x.id}`} className="text-indigo-700 hover:underline">
                  {[x.severity, x.type?.replace('_', ' '), x.metric].filter(Boolean).join(' ')}
                  {typeof x.changePercent === 'number' ? ` (${x.changePercent > 0 ? '+' : ''}${x.changePercent.toFixed(0)}%)` : ''}
                </Link>
              : <EvidenceValue value={x} />}
          </li>
        ))}
      </ul>
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return (
    <span className="inline-flex flex-wrap gap-x-3">
      {entries.map(([k, v]) => (
        <span key={k}><span className="text-slate-500">{k}</span> <EvidenceValue value={v} /></span>
      ))}
    </span>
  );
}
