import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { Plus, Search, X } from 'lucide-react';
import { useCreateFlag, useEnvironments, useFlagList } from '../api/hooks';
import { rememberEnvironment, useEnvironmentChoice } from '../environments/useEnvironmentChoice';
import { CreateFlagForm } from '../components/CreateFlagForm';
import { FlagCard } from '../components/FlagCard';
import { Button, Card, Empty, ErrorBanner, Loading } from '../components/ui';

const filterCls = 'rounded-lg border border-slate-300 px-2.5 py-1.5 text-sm focus:border-indigo-500 focus:outline-none';

export default function Flags() {
  const [params, setParams] = useSearchParams();
  const [creating, setCreating] = useState(false);
  const [limit, setLimit] = useState(60);
  const { environment, setEnvironment } = useEnvironmentChoice();
  const environments = useEnvironments();
  const filter = {
    q: params.get('q') ?? undefined,
    environment: environment || undefined,
    owner: params.get('owner') ?? undefined,
    tag: params.get('tag') ?? undefined,
    enabled: params.get('enabled') === null ? undefined : params.get('enabled') === 'true',
    limit,
  };
  const flags = useFlagList(filter);
  const create = useCreateFlag();

  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value); else next.delete(key);
    setParams(next, { replace: true });
  };
  const anyFilter = !!environment || ['q', 'owner', 'tag', 'enabled'].some((k) => params.get(k));

  return (
    <div className="space-y-4">
      <div className="flex items-center justify-between">
        <h1 className="text-2xl font-bold">Feature flags</h1>
        <Button variant="primary" data-testid="create-flag-button" onClick={() => setCreating((c) => !c)}>
          {creating ? <><X className="h-4 w-4" /> Close</> : <><Plus className="h-4 w-4" /> Create Flag</>}
        </Button>
      </div>

      {creating && (
        <Card title="New flag">
          <CreateFlagForm onCreate={(input) => create.mutateAsync(input)} onDone={() => setCreating(false)} />
        </Card>
      )}

      <div className="flex flex-wrap items-center gap-2" data-testid="flag-filters">
        <label className="relative">
          <Search className="absolute left-2 top-2 h-4 w-4 text-slate-400" />
          <input data-testid="filter-q" aria-label="Search flags" className={`${filterCls} pl-8`} placeholder="Search name or description" value={params.get('q') ?? ''} onChange={(e) => set('q', e.target.value)} />
        </label>
        <select data-testid="filter-environment" aria-label="Environment" className={filterCls} value={environment} onChange={(e) => setEnvironment(e.target.value)}>
          <option value="">all environments</option>
          {(environments.data?.items ?? []).map((e) => <option key={e.name} value={e.name}>{e.name}</option>)}
        </select>
        <input data-testid="filter-owner" aria-label="Owner" className={filterCls} placeholder="owner" value={params.get('owner') ?? ''} onChange={(e) => set('owner', e.target.value)} />
        <input data-testid="filter-tag" aria-label="Tag" className={filterCls} placeholder="tag" value={params.get('tag') ?? ''} onChange={(e) => set('tag', e.target.value)} />
        <select data-testid="filter-enabled" aria-label="State" className={filterCls} value={params.get('enabled') ?? ''} onChange={(e) => set('enabled', e.target.value)}>
          <option value="">enabled or not</option>
          <option value="true">enabled</option>
          <option value="false">disabled</option>
        </select>
        {anyFilter && <Button onClick={() => { rememberEnvironment(''); setParams({}, { replace: true }); }}><X className="h-4 w-4" /> Clear</Button>}
      </div>

      {flags.isPending ? <Loading what="Loading flags" />
        : flags.error || !flags.data ? <ErrorBanner error={flags.error} what="Could not load flags" />
        : flags.data.items.length === 0 ? (
          <Empty testId="flags-empty">{anyFilter ? 'No flag matches these filters.' : 'No flags yet — create the first one.'}</Empty>
        ) : (
          <>
            <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-3" data-testid="flag-list">
              {flags.data.items.map((f) => <FlagCard key={f.id} flag={f} environment={flags.environment || undefined} />)}
            </div>
            {flags.data.nextCursor && limit < 500 && (
              <div className="text-center"><Button onClick={() => setLimit((l) => Math.min(500, l + 60))}>Show more</Button></div>
            )}
          </>
        )}
    </div>
  );
}
