import { useEffect } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useLive } from '../live/LiveProvider';
import { useAuth } from '../auth/AuthGate';
import { changeRequestsApi, type ChangeRequest, type ChangeRequestFilter } from '../api/changeRequests';

export const changeRequestKeys = { all: ['change-requests'] as const, list: (f: ChangeRequestFilter) => ['change-requests', f] as const };

/** Refetches change requests whenever one is created or decided anywhere (the live events of issue 27). */
export function useChangeRequestEvents() {
  const qc = useQueryClient();
  const { listen } = useLive();
  useEffect(() => listen((e) => {
    if (e.type.startsWith('change_request.')) void qc.invalidateQueries({ queryKey: changeRequestKeys.all });
  }), [listen, qc]);
}

export function useChangeRequests(f: ChangeRequestFilter) {
  useChangeRequestEvents();
  const { pollInterval } = useLive();
  return useQuery({ queryKey: changeRequestKeys.list(f), queryFn: () => changeRequestsApi.list(f), refetchInterval: pollInterval });
}

/** Whether the signed-in key may decide a request: an editor or admin that did not author it (four eyes; the API checks too). */
export function useMayDecide(): (r: ChangeRequest) => boolean {
  const me = useAuth()?.me;
  return (r) => !!me && r.state === 'pending' && (me.role === 'admin' || me.role === 'editor')
    && (me.keyId ? r.author.keyId !== me.keyId : r.author.keyId !== null);
}

/** The badge's number: pending requests this key may decide. */
export function useDecidableCount(): number {
  const q = useChangeRequests({ state: 'pending' });
  const mayDecide = useMayDecide();
  return (q.data?.items ?? []).filter(mayDecide).length;
}

/**
 * The pending request on one flag in one environment, if any — for the flag page's environment rows
 * (drop in `<PendingApproval flagId environment />`, components/PendingApproval.tsx).
 */
export function usePendingApproval(flagId: string, environment: string): ChangeRequest | undefined {
  const q = useChangeRequests({ state: 'pending', environment, flagId });
  return q.data?.items[0];
}
