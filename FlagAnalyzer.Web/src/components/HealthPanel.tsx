import { Activity } from 'lucide-react';
import { useHealth } from '../api/hooks';
import { Card, ErrorBanner, Loading } from './ui';

const color: Record<string, string> = {
  Healthy: 'bg-emerald-500',
  Degraded: 'bg-amber-500',
  Unhealthy: 'bg-red-500',
};

/** The service's own words from /health for the parts a user cares about: storage, cache, the LLM and access control. */
export function HealthPanel() {
  const health = useHealth();
  return (
    <Card title="Health" icon={<Activity className="h-4 w-4" />} testId="health">
      {health.isPending ? <Loading what="Checking health" /> : health.error ? <ErrorBanner error={health.error} what="Health" /> : (
        <ul className="space-y-2 text-sm">
          {/* the store's check is named after it: sqlite (the default) or postgres */}
          {[health.data?.checks?.postgres ? 'postgres' : 'sqlite', 'cache', 'llm', 'auth'].map((name) => {
            const c = health.data?.checks?.[name];
            // access control that is off (or has no key yet) is never a mere warning
            const alarm = name === 'auth' && !!c && c.status !== 'Healthy';
            return (
              <li key={name} data-testid={`health-${name}`} data-status={c?.status ?? 'unknown'} className="flex items-start gap-2">
                <span className={`mt-1.5 h-2.5 w-2.5 shrink-0 rounded-full ${alarm ? 'bg-red-600' : c ? color[c.status] ?? 'bg-slate-400' : 'bg-slate-300'}`} />
                <span>
                  <strong className="font-medium">{name}</strong>{' '}
                  <span className={alarm ? 'font-semibold text-red-700' : 'text-slate-600'}>{c ? `${c.status}${c.description ? ` — ${c.description}` : ''}` : 'not reported yet'}</span>
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </Card>
  );
}
