import { useState, type FormEvent } from 'react';
import { Plus } from 'lucide-react';
import { ApiError } from '../api/client';
import type { CreateFlagInput, Flag } from '../api/types';
import { Button, ErrorBanner } from './ui';

const inputCls = 'w-full rounded-lg border border-slate-300 px-2.5 py-1.5 text-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500';

function FieldError({ error, field }: { error: unknown; field: string }) {
  if (!(error instanceof ApiError)) return null;
  const messages = error.forField(field);
  if (field === 'tags') messages.push(...Object.entries(error.fieldErrors).filter(([k]) => k.startsWith('tags[')).flatMap(([, v]) => v));
  if (messages.length === 0) return null;
  return <p data-testid={`field-error-${field}`} className="mt-1 text-xs text-red-700">{messages.join(' ')}</p>;
}

/**
 * Create a flag. Validation is the API's: its problem+json messages are shown next to the fields they name
 * (the form does not second-guess the server's rules).
 */
export function CreateFlagForm({ onCreate, onDone }: {
  onCreate: (input: CreateFlagInput) => Promise<Flag>;
  onDone?: (flag: Flag) => void;
}) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [environment, setEnvironment] = useState('staging');
  const [owner, setOwner] = useState('');
  const [tags, setTags] = useState('');
  const [rollout, setRollout] = useState(0);
  const [autoRollback, setAutoRollback] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const flag = await onCreate({
        name: name.trim(),
        description,
        enabled: false,
        rolloutPercentage: rollout,
        targetEnvironment: environment.trim(),
        owner: owner.trim(),
        tags: tags.split(',').map((t) => t.trim()).filter(Boolean),
        autoRollback,
        changedBy: 'web-ui',
      });
      setName(''); setDescription(''); setTags(''); setRollout(0);
      onDone?.(flag);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const unplaced = error instanceof ApiError && Object.keys(error.fieldErrors).length > 0
    ? null : error;

  return (
    <form data-testid="create-flag-form" onSubmit={submit} className="grid gap-3 md:grid-cols-2" noValidate>
      <label className="text-sm">
        <span className="mb-1 block font-medium">Name</span>
        <input data-testid="flag-name" className={inputCls} value={name} onChange={(e) => setName(e.target.value)} placeholder="new-checkout-flow" />
        <FieldError error={error} field="name" />
      </label>
      <label className="text-sm">
        <span className="mb-1 block font-medium">Environment</span>
        <input data-testid="flag-environment" className={inputCls} list="environments" value={environment} onChange={(e) => setEnvironment(e.target.value)} />
        <datalist id="environments"><option value="development" /><option value="staging" /><option value="production" /></datalist>
        <FieldError error={error} field="targetEnvironment" />
      </label>
      <label className="text-sm md:col-span-2">
        <span className="mb-1 block font-medium">Description</span>
        <input data-testid="flag-description" className={inputCls} value={description} onChange={(e) => setDescription(e.target.value)} placeholder="Redesigned checkout experience" />
        <FieldError error={error} field="description" />
      </label>
      <label className="text-sm">
        <span className="mb-1 block font-medium">Owner</span>
        <input data-testid="flag-owner" className={inputCls} value={owner} onChange={(e) => setOwner(e.target.value)} placeholder="product-team" />
        <FieldError error={error} field="owner" />
      </label>
      <label className="text-sm">
        <span className="mb-1 block font-medium">Tags <span className="font-normal text-slate-500">(comma separated)</span></span>
        <input data-testid="flag-tags" className={inputCls} value={tags} onChange={(e) => setTags(e.target.value)} placeholder="checkout, ux" />
        <FieldError error={error} field="tags" />
      </label>
      <label className="text-sm">
        <span className="mb-1 block font-medium">Initial rollout: {rollout}%</span>
        <input data-testid="flag-rollout" type="range" min={0} max={100} step={5} value={rollout} onChange={(e) => setRollout(Number(e.target.value))} className="w-full" />
        <FieldError error={error} field="rolloutPercentage" />
      </label>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={autoRollback} onChange={(e) => setAutoRollback(e.target.checked)} />
        Roll back automatically on a confirmed regression
      </label>
      <div className="flex items-center gap-3 md:col-span-2">
        <Button type="submit" variant="primary" disabled={busy} data-testid="create-flag-submit">
          <Plus className="h-4 w-4" /> {busy ? 'Creating…' : 'Create flag'}
        </Button>
        {unplaced ? <ErrorBanner error={unplaced} what="Could not create the flag" /> : null}
        {error instanceof ApiError && Object.keys(error.fieldErrors).length > 0 && (
          <span data-testid="form-error" className="text-sm text-red-700">{error.title}</span>
        )}
      </div>
    </form>
  );
}
