import { useState } from 'react';
import { KeyRound } from 'lucide-react';
import { useApiKeys, useCreateApiKey, useEnvironments, useRevokeApiKey } from '../api/hooks';
import type { CreatedApiKey } from '../api/types';
import { CreateKeyForm, KeyRow, SecretOnce } from '../components/ApiKeyForms';
import { Card, Empty, ErrorBanner, Loading } from '../components/ui';

/** API keys (admins): who may do what, in which environment; create with a scope, revoke with confirmation. */
export default function Keys() {
  const keys = useApiKeys();
  const environments = useEnvironments();
  const create = useCreateApiKey();
  const revoke = useRevokeApiKey();
  const [created, setCreated] = useState<CreatedApiKey | null>(null);

  return (
    <div className="space-y-4" data-testid="keys-page">
      <h1 className="flex items-center gap-2 text-2xl font-bold"><KeyRound className="h-6 w-6" /> API keys</h1>
      <Card title="New key">
        <div className="space-y-3">
          <CreateKeyForm environments={environments.data?.items ?? []} onCreate={async (input) => {
            const answer = await create.mutateAsync(input);
            setCreated(answer);
            return answer;
          }} />
          {created && <SecretOnce created={created} onDismiss={() => setCreated(null)} />}
        </div>
      </Card>
      <Card title="Keys">
        {keys.isPending ? <Loading what="Loading keys" />
          : keys.error ? <ErrorBanner error={keys.error} what="Could not load keys" />
          : keys.data.items.length === 0 ? <Empty testId="keys-empty">No keys yet.</Empty>
          : (
            <table className="w-full text-left text-sm" data-testid="key-list">
              <thead className="text-xs uppercase text-slate-500">
                <tr><th className="pb-2">Name</th><th>Role</th><th>Scope</th><th>Created</th><th>Last used</th><th /></tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {keys.data.items.map((k) => <KeyRow key={k.id} apiKey={k} onRevoke={(id) => revoke.mutateAsync(id)} />)}
              </tbody>
            </table>
          )}
      </Card>
    </div>
  );
}
