import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from './client';
import { changeRequestsApi } from './changeRequests';
import { webhooksApi } from './webhooks';
import { getApiKey, setApiKey } from '../auth/session';

afterEach(() => vi.unstubAllGlobals());

const problem = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/problem+json' } });

// change requests and webhooks talk to the API through the client's one request path: its key, its problems, its 401
describe('change-request and webhook clients', () => {
  it('send the tab\'s key and read a problem\'s detail', async () => {
    setApiKey('fa_key_1');
    const fetch = vi.fn(async (..._: unknown[]) => problem(403, { title: 'Forbidden', detail: 'Four eyes: the key that made a change request may not approve it.' }));
    vi.stubGlobal('fetch', fetch);
    const error = await changeRequestsApi.approve('cr_1').catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.detail).toContain('Four eyes');
    expect((fetch.mock.calls[0][1] as RequestInit).headers).toEqual(expect.objectContaining({ Authorization: 'Bearer fa_key_1' }));
  });

  it('forget a key the API refuses (401), as every other call does', async () => {
    setApiKey('fa_revoked');
    vi.stubGlobal('fetch', vi.fn(async () => problem(401, { title: 'Unauthorized' })));
    await expect(webhooksApi.list()).rejects.toBeInstanceOf(ApiError);
    expect(getApiKey()).toBeNull();
  });

  it('say the API is unreachable instead of a bare TypeError, and read a 204 as nothing', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch'); }));
    await expect(changeRequestsApi.list()).rejects.toThrow('The API is unreachable');
    vi.stubGlobal('fetch', vi.fn(async () => new Response(null, { status: 204 })));
    await expect(webhooksApi.remove('wh_1')).resolves.toBeUndefined();
  });
});
