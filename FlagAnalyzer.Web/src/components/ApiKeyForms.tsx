import { useState, type FormEvent } from 'react';
import { Check, Copy, KeyRound } from 'lucide-react';
import { ApiError } from '../api/client';
import type { ApiKey, CreateApiKeyInput, CreatedApiKey, Environment } from '../api/types';
import { Button, ErrorBanner, Pill, When } from './ui';

const inputCls = 'rounded-lg border border-slate-300 px-2.5 py-1.5 text-sm focus:border-indigo-500 focus:outline-none';

export const ROLES = ['admin', 'editor', 'viewer', 'sdk', 'ingest'] as const;

/** Create a key with a role and an optional environment scope; the API's validation messages show as they come. */
export function CreateKeyForm({ environments, onCreate }: {
  environments: Environment[];
  onCreate: (input: CreateApiKeyInput) => Promise<CreatedApiKey>;
}) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<string>('viewer');
  const [environment, setEnvironment] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onCreate({ name: name.trim(), role, environment: environment || null });
      setName('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? Object.entries(error.fieldErrors) : [];
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-3" data-testid="create-key-form">
      <label className="flex flex-col gap-1 text-sm font-medium text-slate-700">Name
        <input data-testid="key-name" className={inputCls} value={name} onChange={(e) => setName(e.target.value)} placeholder="checkout service (staging)" />
      </label>
      <label className="flex flex-col gap-1 text-sm font-medium text-slate-700">Role
        <select data-testid="key-role" className={inputCls} value={role} onChange={(e) => setRole(e.target.value)}>
          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
      </label>
      <label className="flex flex-col gap-1 text-sm font-medium text-slate-700">Scope
        <select data-testid="key-environment" className={inputCls} value={environment} onChange={(e) => setEnvironment(e.target.value)}>
          <option value="">every environment</option>
          {environments.filter((e) => !e.retired).map((e) => <option key={e.name} value={e.name}>{e.name}</option>)}
        </select>
      </label>
      <Button type="submit" variant="primary" disabled={busy} data-testid="create-key-submit"><KeyRound className="h-4 w-4" /> Create key</Button>
      {fieldErrors.length > 0
        ? <ul className="w-full text-xs text-red-700" data-testid="key-errors">{fieldErrors.map(([f, m]) => <li key={f}>{f}: {m.join(' ')}</li>)}</ul>
        : error ? <div className="w-full"><ErrorBanner error={error} what="Could not create the key" /></div> : null}
    </form>
  );
}

/** A new key's secret: shown this once (the API keeps only a hash), with a copy button. */
export function SecretOnce({ created, onDismiss }: { created: CreatedApiKey; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }
  return (
    <div role="alert" data-testid="key-secret-panel" className="space-y-2 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm">
      <p className="font-medium text-amber-900">Copy the secret of “{created.key.name}” now: it is shown this once and cannot be read again.</p>
      <div className="flex items-center gap-2">
        <code data-testid="key-secret" className="flex-1 break-all rounded bg-white px-2 py-1 font-mono text-xs ring-1 ring-amber-200">{created.secret}</code>
        <Button onClick={copy} data-testid="copy-secret">{copied ? <><Check className="h-4 w-4" /> Copied</> : <><Copy className="h-4 w-4" /> Copy</>}</Button>
        <Button onClick={onDismiss} data-testid="dismiss-secret">Done</Button>
      </div>
    </div>
  );
}

/** One key as a table row; revoking asks for confirmation first, in place. */
export function KeyRow({ apiKey, onRevoke }: { apiKey: ApiKey; onRevoke: (id: string) => Promise<unknown> }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const revoked = apiKey.isRevoked;

  async function revoke() {
    setError(null);
    try {
      await onRevoke(apiKey.id);
      setConfirming(false);
    } catch (e) {
      setError(e);
    }
  }

  return (
    <tr data-testid="key-row" data-key-name={apiKey.name} data-revoked={revoked} className={revoked ? 'text-slate-400' : ''}>
      <td className="py-2 pr-3 font-medium">{apiKey.name}<div className="font-mono text-xs text-slate-400">{apiKey.prefix}…</div></td>
      <td className="pr-3" data-testid="key-row-role"><Pill>{apiKey.role}</Pill></td>
      <td className="pr-3" data-testid="key-row-scope">{apiKey.environment ?? <span className="text-slate-500">every environment</span>}</td>
      <td className="pr-3 text-xs"><When at={apiKey.createdAt} /></td>
      <td className="pr-3 text-xs">{apiKey.lastUsedAt ? <When at={apiKey.lastUsedAt} /> : <span className="text-slate-400">never</span>}</td>
      <td className="text-right">
        {revoked ? <span data-testid="key-row-revoked" className="text-xs">revoked <When at={apiKey.revokedAt} /></span>
          : confirming ? (
            <span className="inline-flex items-center gap-2">
              <span className="text-xs text-slate-600">Revoke “{apiKey.name}”? Apps using it stop working.</span>
              <Button variant="danger" onClick={revoke} data-testid="confirm-revoke">Revoke</Button>
              <Button onClick={() => setConfirming(false)} data-testid="cancel-revoke">Cancel</Button>
            </span>
          ) : <Button onClick={() => setConfirming(true)} data-testid="revoke-key">Revoke</Button>}
        {error ? <div className="mt-1 text-left"><ErrorBanner error={error} what="Could not revoke" /></div> : null}
      </td>
    </tr>
  );
}
