import type { ReactNode } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router';
import type { HubConnection } from '@microsoft/signalr';
import { vi } from 'vitest';
import { LiveProvider } from '../live/LiveProvider';

/** A stand-in for the SignalR connection: tests push events through `emit` and see what was invoked. */
export function fakeConnection(opts: { failStart?: boolean } = {}) {
  const handlers = new Map<string, (arg: unknown) => void>();
  let state = 'Disconnected';
  const conn = {
    get state() { return state; },
    on: (name: string, h: (arg: unknown) => void) => { handlers.set(name, h); },
    onreconnecting: () => {},
    onreconnected: () => {},
    onclose: () => {},
    start: vi.fn(async () => {
      if (opts.failStart) throw new Error('hub /hubs/live: 404 Not Found');
      state = 'Connected';
    }),
    stop: vi.fn(async () => { state = 'Disconnected'; }),
    invoke: vi.fn(async () => undefined),
  };
  return {
    conn: conn as unknown as HubConnection,
    invoke: conn.invoke,
    emit: (type: string, payload: unknown) => handlers.get('event')?.({ type, payload }),
  };
}

type Route = (url: URL, init?: RequestInit) => Response | Promise<Response> | undefined;

/** Replaces fetch with a router over URL paths; unknown paths answer 404 problem+json. */
export function mockFetch(route: Route) {
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://localhost');
    const res = await route(url, init);
    return res ?? json({ title: 'Not Found', status: 404 }, 404);
  });
  vi.stubGlobal('fetch', fn);
  return fn;
}

export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' } });

export function renderTree(children: ReactNode, conn = fakeConnection().conn, path = '/') {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return {
    qc,
    ui: (
      <QueryClientProvider client={qc}>
        <LiveProvider connectionFactory={() => conn}>
          <MemoryRouter initialEntries={[path]}>{children}</MemoryRouter>
        </LiveProvider>
      </QueryClientProvider>
    ),
  };
}
