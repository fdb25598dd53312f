import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Webhook as WebhookIcon } from 'lucide-react';
import { Button, Card, Empty, ErrorBanner, Loading, Pill, When } from '../components/ui';
import { ApiError } from '../api/client';
import { webhookEvents, webhooksApi, type Webhook } from '../api/webhooks';

const listKey = ['webhooks'] as const;

function CreateWebhook() {
  const qc = useQueryClient();
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [format, setFormat] = useState<'json' | 'slack'>('json');
  const [environments, setEnvironments] = useState('');
  const [events, setEvents] = useState<string[]>(['flag.changed']);
  const create = useMutation({
    mutationFn: () => webhooksApi.create({
      url, secret, format, events,
      environments: environments.split(',').map((e) => e.trim()).filter(Boolean),
    }),
    onSuccess: () => { setSecret(''); setUrl(''); void qc.invalidateQueries({ queryKey: listKey }); },
  });
  const fieldError = (f: string) => create.error instanceof ApiError ? create.error.forField(f).join(' ') : '';
  return (
    <form className="grid gap-2 md:grid-cols-2" data-testid="create-webhook" onSubmit={(e) => { e.preventDefault(); create.mutate(); }}>
      <label className="text-sm">URL<input className="mt-1 w-full rounded border px-2 py-1" data-testid="webhook-url" value={url} onChange={(e) => setUrl(e.target.value)} />
        {fieldError('url') && <span className="text-xs text-red-700" data-testid="error-url">{fieldError('url')}</span>}</label>
      {/* the secret is typed once: the API never shows it again */}
      <label className="text-sm">Secret (shown never again)<input type="password" autoComplete="off" className="mt-1 w-full rounded border px-2 py-1" data-testid="webhook-secret" value={secret} onChange={(e) => setSecret(e.target.value)} />
        {fieldError('secret') && <span className="text-xs text-red-700">{fieldError('secret')}</span>}</label>
      <label className="text-sm">Environments (comma-separated, empty: all)<input className="mt-1 w-full rounded border px-2 py-1" data-testid="webhook-environments" value={environments} onChange={(e) => setEnvironments(e.target.value)} /></label>
      <label className="text-sm">Format<select className="mt-1 w-full rounded border px-2 py-1" data-testid="webhook-format" value={format} onChange={(e) => setFormat(e.target.value as 'json' | 'slack')}>
        <option value="json">JSON (signed)</option><option value="slack">Slack / Teams text</option></select></label>
      <fieldset className="flex flex-wrap gap-3 text-sm md:col-span-2"><legend className="sr-only">Events</legend>
        {webhookEvents.map((ev) => (
          <label key={ev} className="flex items-center gap-1"><input type="checkbox" data-testid={`event-${ev}`} checked={events.includes(ev)}
            onChange={(e) => setEvents(e.target.checked ? [...events, ev] : events.filter((x) => x !== ev))} />{ev}</label>
        ))}
      </fieldset>
      <div className="md:col-span-2"><Button type="submit" variant="primary" data-testid="create-webhook-submit" disabled={create.isPending}>Create webhook</Button></div>
      {create.error && !(create.error instanceof ApiError && Object.keys(create.error.fieldErrors).length) && <ErrorBanner error={create.error} what="Could not create the webhook" />}
    </form>
  );
}

function Deliveries({ hook }: { hook: Webhook }) {
  const qc = useQueryClient();
  const key = ['webhooks', hook.id, 'deliveries'];
  const q = useQuery({ queryKey: key, queryFn: () => webhooksApi.deliveries(hook.id), refetchInterval: 5000 });
  const redeliver = useMutation({
    mutationFn: (deliveryId: string) => webhooksApi.redeliver(hook.id, deliveryId),
    onSuccess: () => void qc.invalidateQueries({ queryKey: key }),
  });
  if (q.isPending) return <Loading what="Loading deliveries" />;
  if (q.error) return <ErrorBanner error={q.error} what="Could not load deliveries" />;
  if (q.data.items.length === 0) return <Empty testId="no-deliveries">No deliveries yet.</Empty>;
  return (
    <table className="w-full text-sm" data-testid={`deliveries-${hook.id}`}>
      <thead><tr className="text-left text-slate-500"><th>Event</th><th>State</th><th>Status</th><th>Duration</th><th>Attempts</th><th>When</th><th /></tr></thead>
      <tbody>
        {q.data.items.map((d) => {
          const last = d.attemptLog[d.attemptLog.length - 1];
          return (
            <tr key={d.id} data-testid="delivery-row">
              <td>{d.event}</td>
              <td><Pill>{d.state}</Pill></td>
              <td data-testid="delivery-status">{last ? (last.statusCode ?? last.error ?? '—') : '—'}</td>
              <td data-testid="delivery-duration">{last ? `${Math.round(last.durationMs)} ms` : '—'}</td>
              <td>{d.attempts}</td>
              <td><When at={d.createdAt} /></td>
              <td><Button data-testid={`redeliver-${d.id}`} onClick={() => redeliver.mutate(d.id)} disabled={redeliver.isPending}>Redeliver</Button></td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export default function Webhooks() {
  const qc = useQueryClient();
  const q = useQuery({ queryKey: listKey, queryFn: webhooksApi.list });
  const [open, setOpen] = useState<string | null>(null);
  const remove = useMutation({ mutationFn: webhooksApi.remove, onSuccess: () => void qc.invalidateQueries({ queryKey: listKey }) });
  const enable = useMutation({ mutationFn: webhooksApi.enable, onSuccess: () => void qc.invalidateQueries({ queryKey: listKey }) });
  return (
    <div className="space-y-4">
      <h1 className="text-xl font-bold">Webhooks</h1>
      <Card title="New webhook" icon={<WebhookIcon className="h-4 w-4" />}><CreateWebhook /></Card>
      <Card title="Webhooks">
        {q.isPending ? <Loading what="Loading webhooks" /> : q.error ? <ErrorBanner error={q.error} what="Could not load webhooks (admin keys only)" />
          : q.data.items.length === 0 ? <Empty testId="no-webhooks">No webhooks yet.</Empty> : (
            <ul className="divide-y" data-testid="webhook-list">
              {q.data.items.map((w) => (
                <li key={w.id} className="space-y-2 py-3" data-testid="webhook-row">
                  <div className="flex flex-wrap items-center gap-2">
                    <span className="font-mono text-sm">{w.url}</span>
                    <Pill>{w.format}</Pill>
                    {w.enabled ? <Pill className="bg-emerald-50 text-emerald-700">enabled</Pill>
                      : <Pill className="bg-red-50 text-red-700"><span data-testid="webhook-disabled">disabled{w.disabledReason ? `: ${w.disabledReason}` : ''}</span></Pill>}
                    <span className="text-xs text-slate-500">{w.events.join(', ')} · {w.environments?.join(', ') ?? 'all environments'}</span>
                    <span className="flex-1" />
                    {!w.enabled && <Button data-testid={`enable-${w.id}`} onClick={() => enable.mutate(w.id)}>Enable</Button>}
                    <Button data-testid={`log-${w.id}`} onClick={() => setOpen(open === w.id ? null : w.id)}>Delivery log</Button>
                    <Button data-testid={`delete-${w.id}`} onClick={() => { if (window.confirm(`Delete the webhook to ${w.url}?`)) remove.mutate(w.id); }}>Delete</Button>
                  </div>
                  {open === w.id && <Deliveries hook={w} />}
                </li>
              ))}
            </ul>
          )}
      </Card>
    </div>
  );
}
