import { api } from './client';

export type ChangeRequestState = 'pending' | 'applied' | 'rejected' | 'cancelled' | 'conflicted';
export interface FieldChange { field: string; from: unknown; to: unknown }
export interface ChangeRequestActor { keyId: string | null; name: string }
export interface ChangeRequest {
  id: string; state: ChangeRequestState | string; environment: string;
  flag: { id: string; key: string; name: string };
  diff: FieldChange[]; patch: unknown; baseVersion: number; author: ChangeRequestActor; changedBy: string; createdAt: string;
  decidedBy: ChangeRequestActor | null; decidedAt: string | null; comment: string | null; appliedChangeId: string | null;
}
export interface ChangeRequestFilter { state?: ChangeRequestState; environment?: string | null; flagId?: string }

const call = <T>(method: string, path: string, body?: unknown) => api.call<T>(method, path, body);

function query(f: ChangeRequestFilter): string {
  const q = new URLSearchParams({ limit: '500' });
  if (f.state) q.set('state', f.state);
  if (f.environment) q.set('environment', f.environment);
  if (f.flagId) q.set('flagId', f.flagId);
  return `?${q}`;
}

const at = (id: string, action: string) => `/api/change-requests/${encodeURIComponent(id)}/${action}`;

export const changeRequestsApi = {
  list: (f: ChangeRequestFilter = {}) => call<{ items: ChangeRequest[]; nextCursor: string | null }>('GET', `/api/change-requests${query(f)}`),
  approve: (id: string) => call<ChangeRequest>('POST', at(id, 'approve')),
  reject: (id: string, comment?: string) => call<ChangeRequest>('POST', at(id, 'reject'), { comment: comment || null }),
  cancel: (id: string) => call<ChangeRequest>('POST', at(id, 'cancel')),
};

/** A write answered 202: the environment is protected and the change waits for a second key. */
export const isHeld = (body: unknown): body is { changeRequest: ChangeRequest } =>
  typeof body === 'object' && body !== null && 'changeRequest' in body;
