import { describe, expect, it, vi } from 'vitest';
import { ApiError, createApi, errorMessage } from './client';

const problem = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/problem+json' } });

describe('api client', () => {
  it('turns a validation problem into field messages', async () => {
    const fetch = vi.fn(async () => problem(400, {
      title: 'One or more validation errors occurred.', status: 400,
      errors: { name: ["may contain only a-z, 0-9, '-', '_' and '.'"], rolloutPercentage: ['must be between 0 and 100'] },
    }));
    const api = createApi('', fetch);
    const error = await api.createFlag({ name: 'Bad Name' }).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(400);
    expect(error.forField('name')).toEqual(["may contain only a-z, 0-9, '-', '_' and '.'"]);
    expect(error.forField('rolloutPercentage')).toEqual(['must be between 0 and 100']);
    expect(errorMessage(error)).toContain('rolloutPercentage must be between 0 and 100');
  });

  it('matches nested field names of a change record', () => {
    const e = new ApiError(400, 'invalid', undefined, { 'newValue.rolloutPercentage': ['must be between 0 and 100'] });
    expect(e.forField('rolloutPercentage')).toEqual(['must be between 0 and 100']);
    expect(e.forField('name')).toEqual([]);
  });

  it('reports a conflict with its detail', async () => {
    const api = createApi('', vi.fn(async () => problem(409, { title: 'Conflict', detail: "A flag named 'x' already exists." })));
    await expect(api.createFlag({ name: 'x' })).rejects.toThrow("A flag named 'x' already exists.");
  });

  it('names the endpoint when the server does not have it', async () => {
    const api = createApi('', vi.fn(async () => new Response('', { status: 404, statusText: 'Not Found' })));
    const e = await api.chat('hi').catch((x) => x);
    expect(errorMessage(e)).toBe('POST /api/chat is not available on this server');
  });

  it('keeps the API\'s own words for a 404 of a resource', async () => {
    const api = createApi('', vi.fn(async () => problem(404, { title: 'Flag not found', detail: "No flag has the id or name 'x'." })));
    await expect(api.getFlag('x')).rejects.toThrow("No flag has the id or name 'x'.");
  });

  it('says the API is unreachable instead of a bare TypeError', async () => {
    const api = createApi('', vi.fn(async () => { throw new TypeError('Failed to fetch'); }));
    const e = await api.listFlags().catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(errorMessage(e)).toContain('Failed to fetch');
  });

  it('sends If-Match with the version when patching', async () => {
    const fetch = vi.fn(async (_u: RequestInfo | URL, _i?: RequestInit) => new Response('{"id":"f"}', { status: 200 }));
    await createApi('', fetch).patchFlag('f', { description: 'd' }, 3);
    const init = fetch.mock.calls[0][1]!;
    expect((init.headers as Record<string, string>)['If-Match']).toBe('"3"');
    expect(init.method).toBe('PATCH');
  });

  it('reads an unhealthy /health (503) as data', async () => {
    const body = { status: 'Unhealthy', totalDurationMs: 1, checks: { llm: { status: 'Unhealthy', description: 'no model' } } };
    const api = createApi('', vi.fn(async () => new Response(JSON.stringify(body), { status: 503 })));
    expect((await api.health()).checks.llm.description).toBe('no model');
  });

  it('builds list queries from filters, leaving empty ones out', async () => {
    const fetch = vi.fn(async (_u: RequestInfo | URL) => new Response('{"items":[],"nextCursor":null}'));
    await createApi('', fetch).listFlags({ environment: 'production', owner: '', tag: 'ux', enabled: false });
    expect(String(fetch.mock.calls[0][0])).toBe('/api/flags?environment=production&tag=ux&enabled=false');
  });
});
