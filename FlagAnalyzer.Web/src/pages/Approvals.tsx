import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ShieldCheck } from 'lucide-react';
import { Button, Card, Empty, ErrorBanner, Loading, Pill, When } from '../components/ui';
import { changeRequestsApi, type ChangeRequest, type ChangeRequestState } from '../api/changeRequests';
import { changeRequestKeys, useChangeRequests, useMayDecide } from '../changeRequests/hooks';
import { useAuth } from '../auth/AuthGate';

const stateStyle: Record<string, string> = {
  pending: 'bg-amber-50 text-amber-800', applied: 'bg-emerald-50 text-emerald-800', rejected: 'bg-red-50 text-red-800',
  cancelled: 'bg-slate-100 text-slate-600', conflicted: 'bg-orange-50 text-orange-800',
};

const show = (v: unknown) => v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** The fields a request moves, before and after. */
export function DiffTable({ request }: { request: ChangeRequest }) {
  return (
    <table className="w-full text-sm" data-testid={`diff-${request.id}`}>
      <thead><tr className="text-left text-xs text-slate-500"><th className="py-1">Field</th><th>Now</th><th>Requested</th></tr></thead>
      <tbody>
        {request.diff.map((d) => (
          <tr key={d.field} className="border-t border-slate-100" data-testid={`diff-row-${d.field}`}>
            <td className="py-1 font-mono text-xs">{d.field}</td>
            <td className="text-red-700 line-through decoration-red-300">{show(d.from)}</td>
            <td className="font-medium text-emerald-700">{show(d.to)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function RequestCard({ request, highlighted }: { request: ChangeRequest; highlighted: boolean }) {
  const qc = useQueryClient();
  const me = useAuth()?.me;
  const mayDecide = useMayDecide()(request);
  const isAuthor = request.state === 'pending' && !!me && (me.keyId ? request.author.keyId === me.keyId : request.author.keyId === null);
  const [comment, setComment] = useState('');
  const decide = useMutation({
    mutationFn: (action: 'approve' | 'reject' | 'cancel') => action === 'approve' ? changeRequestsApi.approve(request.id)
      : action === 'reject' ? changeRequestsApi.reject(request.id, comment) : changeRequestsApi.cancel(request.id),
    // a 409 (conflicted, or decided meanwhile) changed the request too: refetch either way
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: changeRequestKeys.all });
      void qc.invalidateQueries({ queryKey: ['flag'] });
      void qc.invalidateQueries({ queryKey: ['flags'] });
    },
  });
  return (
    <li className={`space-y-2 rounded-lg border p-3 ${highlighted ? 'border-indigo-400 ring-2 ring-indigo-100' : 'border-slate-200'}`}
      data-testid={`change-request-${request.id}`} data-state={request.state}>
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <Link className="font-semibold text-indigo-700 hover:underline" to={`/flags/${encodeURIComponent(request.flag.id)}`}>{request.flag.name}</Link>
        <Pill>{request.environment}</Pill>
        <span className={`rounded-md px-1.5 py-0.5 text-xs font-medium ${stateStyle[request.state] ?? ''}`} data-testid="change-request-state">{request.state}</span>
        <span className="text-slate-500">by {request.author.name} <When at={request.createdAt} /></span>
        {request.decidedBy && <span className="text-slate-500">· {request.state} by {request.decidedBy.name} <When at={request.decidedAt} /></span>}
      </div>
      <DiffTable request={request} />
      {request.comment && <p className="text-sm italic text-slate-600" data-testid="change-request-comment">“{request.comment}”</p>}
      {mayDecide && (
        <div className="flex flex-wrap items-center gap-2">
          <Button variant="primary" data-testid={`approve-${request.id}`} disabled={decide.isPending} onClick={() => decide.mutate('approve')}>Approve and apply</Button>
          <input className="min-w-48 flex-1 rounded border px-2 py-1 text-sm" placeholder="Comment (optional)" aria-label="Comment"
            data-testid={`comment-${request.id}`} value={comment} onChange={(e) => setComment(e.target.value)} />
          <Button variant="danger" data-testid={`reject-${request.id}`} disabled={decide.isPending} onClick={() => decide.mutate('reject')}>Reject</Button>
        </div>
      )}
      {isAuthor && (
        <div className="flex items-center gap-2 text-sm text-slate-500">
          Waiting for another key to approve.
          <Button data-testid={`cancel-${request.id}`} disabled={decide.isPending} onClick={() => decide.mutate('cancel')}>Withdraw</Button>
        </div>
      )}
      {decide.error && <ErrorBanner error={decide.error} what="The decision was not applied" />}
    </li>
  );
}

const tabs: { state?: ChangeRequestState; label: string }[] = [{ state: 'pending', label: 'Pending' }, { label: 'All' }];

/** The approvals inbox (issue 27 item 3): change requests of protected environments, with their diff, decided here. */
export default function Approvals() {
  const [params, setParams] = useSearchParams();
  const environment = params.get('environment');
  const state = (params.get('state') ?? 'pending') as ChangeRequestState | 'all';
  const q = useChangeRequests({ state: state === 'all' ? undefined : state, environment });
  const items = q.data?.items ?? [];
  const select = (s?: ChangeRequestState) => {
    const next = new URLSearchParams(params);
    next.set('state', s ?? 'all');
    setParams(next);
  };
  return (
    <Card title="Approvals" icon={<ShieldCheck className="h-4 w-4" />} testId="approvals"
      actions={<div className="flex gap-1">{tabs.map((t) => (
        <Button key={t.label} data-testid={`approvals-tab-${t.label.toLowerCase()}`} variant={(t.state ?? 'all') === state ? 'primary' : 'secondary'}
          onClick={() => select(t.state)}>{t.label}</Button>))}</div>}>
      {q.isLoading ? <Loading what="Loading change requests" />
        : q.error ? <ErrorBanner error={q.error} what="Could not load change requests" />
        : items.length === 0 ? <Empty testId="approvals-empty">No {state === 'all' ? '' : `${state} `}change requests{environment ? ` in ${environment}` : ''}.</Empty>
        : <ul className="space-y-3">{items.map((r) => <RequestCard key={r.id} request={r} highlighted={params.get('id') === r.id} />)}</ul>}
    </Card>
  );
}
