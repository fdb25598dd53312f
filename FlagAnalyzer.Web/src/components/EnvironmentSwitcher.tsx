import { Layers } from 'lucide-react';
import { useEnvironments } from '../api/hooks';
import { useEnvironmentChoice } from '../environments/useEnvironmentChoice';

/** The header's environment switcher: "all" plus each environment in promotion order (retired ones marked). */
export function EnvironmentSwitcher() {
  const environments = useEnvironments();
  const { environment, setEnvironment } = useEnvironmentChoice();
  const items = environments.data?.items ?? [];
  const color = items.find((e) => e.name === environment)?.color;

  return (
    <label className="flex items-center gap-1.5 text-sm text-slate-600">
      <Layers className="h-4 w-4" style={color ? { color } : undefined} aria-hidden />
      <span className="sr-only">Environment</span>
      <select data-testid="env-switcher" aria-label="Environment shown on every page" value={environment}
        onChange={(e) => setEnvironment(e.target.value)}
        className="rounded-lg border border-slate-300 bg-white px-2 py-1 text-sm focus:border-indigo-500 focus:outline-none"
        style={color ? { borderColor: color } : undefined}>
        <option value="">all environments</option>
        {items.map((e) => <option key={e.name} value={e.name}>{e.name}{e.retired ? ' (retired)' : ''}</option>)}
      </select>
    </label>
  );
}
