import { Link } from 'react-router';
import { Hourglass } from 'lucide-react';
import { usePendingApproval } from '../changeRequests/hooks';

/** "Pending approval" on a flag's environment row when a change request waits there; nothing otherwise. */
export function PendingApproval({ flagId, environment }: { flagId: string; environment: string }) {
  const pending = usePendingApproval(flagId, environment);
  if (!pending) return null;
  return (
    <Link to={{ pathname: '/approvals', search: `?id=${encodeURIComponent(pending.id)}` }} data-testid={`pending-approval-${environment}`}
      title={`${pending.author.name} asked to change ${pending.diff.map((d) => d.field).join(', ')}`}
      className="inline-flex items-center gap-1 rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-amber-200">
      <Hourglass className="h-3 w-3" /> pending approval
    </Link>
  );
}
