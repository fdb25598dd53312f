import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { EnvironmentRows } from './EnvironmentRows';
import { fakeConnection, json, mockFetch, renderTree } from '../test/utils';
import type { Flag } from '../api/types';
import type { FlagConfiguration } from '../api/environments';

/** Generous: the machine is shared, and the first render loads the modules. */
const slow = { timeout: 5000 };

const flag: Flag = {
  id: 'flg_1', name: 'checkout', description: '', enabled: false, rolloutPercentage: 0, targetEnvironment: 'staging',
  owner: 'team', tags: [], autoRollback: false, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', version: 1,
  variants: null, rules: null, eTag: '"1"', key: 'checkout', defaultVariant: 'on', offVariant: 'off', targeting: null,
};

const config = (environment: string, over: Partial<FlagConfiguration> = {}): FlagConfiguration => ({
  environment, enabled: false, rolloutPercentage: 0, targeting: null, defaultVariant: 'on', offVariant: 'off', autoRollback: false,
  version: 1, updatedAt: '2026-01-01T00:00:00Z', ...over,
});

/**
 * A fake of issue 26's per-environment routes, holding each environment's configuration; the test changes `server`
 * (e.g. what PATCH answers) to shape each case. Every request is recorded as `METHOD path?query`.
 */
function fakeServer(initial: FlagConfiguration[]) {
  const state = new Map(initial.map((c) => [c.environment, c]));
  const calls: { method: string; url: URL; body: unknown; headers: Record<string, string> }[] = [];
  const server = {
    state,
    calls,
    patch: undefined as undefined | ((env: string, body: Record<string, unknown>, ifMatch: string | undefined) => Response | undefined),
    plans: {} as Record<string, string>,
    openAnomalies: {} as Record<string, number>,
    diff: [] as { field: string; from: unknown; to: unknown }[],
  };
  const fetch = mockFetch((url, init) => {
    const method = init?.method ?? 'GET';
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    const headers = (init?.headers ?? {}) as Record<string, string>;
    calls.push({ method, url, body, headers });
    const p = url.pathname;
    if (p === '/api/environments') {
      return json({ items: ['development', 'staging', 'production'].map((name, position) =>
        ({ name, color: '#64748b', position, retired: false, createdAt: '', updatedAt: '' })) });
    }
    if (p === '/api/flags/flg_1/environments') return json({ items: [...state.values()] });
    const one = p.match(/^\/api\/flags\/flg_1\/environments\/([^/]+)$/);
    if (one && method === 'PATCH') {
      const env = decodeURIComponent(one[1]);
      const custom = server.patch?.(env, body, headers['If-Match']);
      if (custom) return custom;
      const next = { ...state.get(env)!, ...body, version: state.get(env)!.version + 1 };
      state.set(env, next);
      return json(next);
    }
    const promote = p.match(/^\/api\/flags\/flg_1\/environments\/([^/]+)\/promote$/);
    if (promote && method === 'GET') {
      return json({ from: url.searchParams.get('from'), to: promote[1], fromRevision: 7, changes: server.diff });
    }
    if (promote && method === 'POST') {
      const to = promote[1];
      const from = state.get((body as { from: string }).from)!;
      const next = { ...from, environment: to, version: state.get(to)!.version + 1 };
      state.set(to, next);
      return json(next);
    }
    if (p === '/api/flags/flg_1/rollout') {
      const env = url.searchParams.get('environment') ?? '';
      const plan = server.plans[env];
      if (!plan) return json({ title: 'Rollout not found', status: 404 }, 404);
      return json({ plan: { id: `rol_${env}`, flagId: 'flg_1', stages: [], state: plan, currentStage: 0, createdAt: '', version: 1 }, flagName: 'checkout', evaluation: { action: 'hold', reason: '', verdicts: [], progress: null } });
    }
    if (p === '/api/anomalies') {
      const n = server.openAnomalies[url.searchParams.get('environment') ?? ''] ?? 0;
      return json({ items: Array.from({ length: n }, (_, i) => ({ id: `ano_${i}`, flagId: 'flg_1', status: 'active' })), nextCursor: null });
    }
  });
  return { server, fetch };
}

const row = (env: string) => screen.getAllByTestId('env-row').find((r) => r.getAttribute('data-environment') === env)!;

afterEach(() => vi.unstubAllGlobals());

// several requests and renders per test: generous on a shared machine (no timing is asserted)
describe('EnvironmentRows', { timeout: 30_000 }, () => {
  it('shows a row per environment in promotion order with its on/off, %, plan state, open anomalies and version', async () => {
    const { server } = fakeServer([
      config('development', { enabled: true, rolloutPercentage: 100, version: 4 }),
      config('staging', { enabled: true, rolloutPercentage: 25, version: 2 }),
      config('production', { version: 1 }),
    ]);
    server.plans = { staging: 'running' };
    server.openAnomalies = { staging: 2 };
    render(renderTree(<EnvironmentRows flag={flag} chosen="production" />).ui);

    await waitFor(() => expect(screen.getAllByTestId('env-row')).toHaveLength(3), slow);
    expect(screen.getAllByTestId('env-row').map((r) => r.getAttribute('data-environment'))).toEqual(['development', 'staging', 'production']);
    const staging = row('staging');
    expect(within(staging).getByRole('switch', { name: 'Enabled in staging' })).toHaveAttribute('aria-checked', 'true');
    expect(within(staging).getByRole('spinbutton', { name: 'Rollout in staging (%)' })).toHaveValue(25);
    await waitFor(() => expect(within(staging).getByTestId('env-plan')).toHaveTextContent('running'), slow);
    await waitFor(() => expect(within(staging).getByTestId('env-anomalies')).toHaveTextContent('2'), slow);
    expect(within(staging).getByTestId('env-version')).toHaveTextContent('v2');
    expect(within(staging).getByText('home')).toBeInTheDocument();

    const production = row('production');
    expect(within(production).getByRole('switch', { name: 'Enabled in production' })).toHaveAttribute('aria-checked', 'false');
    await waitFor(() => expect(within(production).getByTestId('env-plan')).toHaveTextContent('no plan'), slow);
    await waitFor(() => expect(within(production).getByTestId('env-anomalies')).toHaveTextContent('0'), slow);
    expect(production).toHaveAttribute('aria-current', 'true');
    // the first environment has nowhere to be promoted from; each other one from the one before it
    expect(within(row('development')).queryByTestId('env-promote')).toBeNull();
    expect(within(production).getByRole('button', { name: 'Promote from staging to production' })).toBeInTheDocument();
  });

  it('toggles one environment with PATCH and If-Match on that configuration\'s version, and the row shows the answer', async () => {
    const { server } = fakeServer([config('development'), config('staging', { version: 3 }), config('production', { version: 9 })]);
    render(renderTree(<EnvironmentRows flag={flag} chosen="" />).ui);
    await waitFor(() => expect(screen.getAllByTestId('env-row')).toHaveLength(3), slow);

    await userEvent.click(within(row('staging')).getByRole('switch', { name: 'Enabled in staging' }));
    await waitFor(() => expect(within(row('staging')).getByRole('switch')).toHaveAttribute('aria-checked', 'true'), slow);
    const patch = server.calls.find((c) => c.method === 'PATCH')!;
    expect(patch.url.pathname).toBe('/api/flags/flg_1/environments/staging');
    expect(patch.headers['If-Match']).toBe('"3"');
    expect(patch.body).toEqual({ enabled: true });
    expect(within(row('staging')).getByTestId('env-version')).toHaveTextContent('v4');
    // the other environments are untouched
    expect(within(row('production')).getByRole('switch')).toHaveAttribute('aria-checked', 'false');

    const percent = within(row('production')).getByRole('spinbutton', { name: 'Rollout in production (%)' });
    await userEvent.clear(percent);
    await userEvent.type(percent, '30{Enter}');
    await waitFor(() => expect(server.calls.filter((c) => c.method === 'PATCH')).toHaveLength(2), slow);
    const second = server.calls.filter((c) => c.method === 'PATCH')[1];
    expect(second.url.pathname).toBe('/api/flags/flg_1/environments/production');
    expect(second.headers['If-Match']).toBe('"9"');
    expect(second.body).toEqual({ rolloutPercentage: 30 });
  });

  it('on 412 reloads the environment\'s configuration and says it changed elsewhere', async () => {
    const { server } = fakeServer([config('staging', { version: 3 }), config('production')]);
    // someone else enabled staging at 50 % meanwhile: the API refuses the change made from version 3
    server.patch = (env, _body, ifMatch) => {
      if (ifMatch === `"${server.state.get(env)!.version}"`) return undefined;
      return json({ title: 'Precondition Failed', status: 412, detail: 'The configuration changed.' }, 412);
    };
    render(renderTree(<EnvironmentRows flag={flag} chosen="" />).ui);
    await waitFor(() => expect(screen.getAllByTestId('env-row')).toHaveLength(2), slow);
    server.state.set('staging', config('staging', { enabled: true, rolloutPercentage: 50, version: 4 }));

    await userEvent.click(within(row('staging')).getByRole('switch', { name: 'Enabled in staging' }));
    await waitFor(() => expect(within(row('staging')).getByRole('alert')).toHaveTextContent('staging was changed elsewhere: reloaded'), slow);
    // the row now shows what the environment holds, so the next attempt starts from it
    await waitFor(() => expect(within(row('staging')).getByTestId('env-version')).toHaveTextContent('v4'), slow);
    expect(within(row('staging')).getByRole('switch')).toHaveAttribute('aria-checked', 'true');
    expect(within(row('staging')).getByRole('spinbutton')).toHaveValue(50);
    expect(server.calls.filter((c) => c.method === 'GET' && c.url.pathname === '/api/flags/flg_1/environments').length).toBeGreaterThanOrEqual(2);
  });

  it('shows "pending approval" on the row when the API accepts the change for approval (202) and keeps the row as it was', async () => {
    const { server } = fakeServer([config('staging'), config('production', { version: 5 })]);
    server.patch = (env) => (env === 'production'
      ? json({ changeRequest: { id: 'chr_42', status: 'pending', environment: 'production' } }, 202)
      : undefined);
    render(renderTree(<EnvironmentRows flag={flag} chosen="" />).ui);
    await waitFor(() => expect(screen.getAllByTestId('env-row')).toHaveLength(2), slow);

    await userEvent.click(within(row('production')).getByRole('switch', { name: 'Enabled in production' }));
    await waitFor(() => expect(within(row('production')).getByRole('status')).toHaveTextContent('pending approval (chr_42)'), slow);
    expect(within(row('production')).getByRole('switch')).toHaveAttribute('aria-checked', 'false');
    expect(within(row('production')).getByTestId('env-version')).toHaveTextContent('v5');
    expect(within(row('staging')).queryByTestId('env-pending')).toBeNull();
  });

  it('promotes through a dialog that shows the diff first, then the row shows the promoted configuration', async () => {
    const { server } = fakeServer([
      config('staging', { enabled: true, rolloutPercentage: 40, version: 6 }),
      config('production', { version: 2 }),
    ]);
    server.diff = [{ field: 'enabled', from: false, to: true }, { field: 'rolloutPercentage', from: 0, to: 40 }];
    render(renderTree(<EnvironmentRows flag={flag} chosen="" />).ui);
    await waitFor(() => expect(screen.getAllByTestId('env-row')).toHaveLength(2), slow);

    await userEvent.click(within(row('production')).getByRole('button', { name: 'Promote from staging to production' }));
    const dialog = await screen.findByRole('dialog', { name: 'Promote checkout from staging to production' }, slow);
    const diff = await within(dialog).findByRole('table', { name: 'Changes to production' }, slow);
    expect(within(diff).getAllByTestId('promote-change').map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)))
      .toEqual([['enabled', 'false', 'true'], ['rolloutPercentage', '0', '40']]);
    const preview = server.calls.find((c) => c.method === 'GET' && c.url.pathname.endsWith('/promote'))!;
    expect(preview.url.pathname).toBe('/api/flags/flg_1/environments/production/promote');
    expect(preview.url.searchParams.get('from')).toBe('staging');
    expect(server.calls.some((c) => c.method === 'POST')).toBe(false);

    await userEvent.click(within(dialog).getByRole('button', { name: 'Promote to production' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull(), slow);
    const post = server.calls.find((c) => c.method === 'POST')!;
    expect(post.url.pathname).toBe('/api/flags/flg_1/environments/production/promote');
    expect(post.body).toEqual({ from: 'staging' });
    await waitFor(() => expect(within(row('production')).getByRole('switch')).toHaveAttribute('aria-checked', 'true'), slow);
    expect(within(row('production')).getByRole('spinbutton')).toHaveValue(40);
  });

  it('closes the promote dialog on Escape without promoting', async () => {
    const { server } = fakeServer([config('staging', { enabled: true }), config('production')]);
    server.diff = [{ field: 'enabled', from: false, to: true }];
    render(renderTree(<EnvironmentRows flag={flag} chosen="" />).ui);
    await waitFor(() => expect(screen.getAllByTestId('env-row')).toHaveLength(2), slow);
    await userEvent.click(within(row('production')).getByRole('button', { name: 'Promote from staging to production' }));
    const dialog = await screen.findByRole('dialog', {}, slow);
    await within(dialog).findByRole('table', {}, slow);
    // focus starts on Cancel, so Escape (or Enter) never promotes
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull(), slow);
    expect(server.calls.some((c) => c.method === 'POST')).toBe(false);
    expect(within(row('production')).getByRole('switch')).toHaveAttribute('aria-checked', 'false');
  });

  it('updates a row live when a flag.changed event names its environment', async () => {
    const live = fakeConnection();
    const { server } = fakeServer([config('staging'), config('production')]);
    render(renderTree(<EnvironmentRows flag={flag} chosen="" />, live.conn).ui);
    await waitFor(() => expect(screen.getAllByTestId('env-row')).toHaveLength(2), slow);
    // connected: the refetch-everything that follows the connection has run, and nothing polls any more
    const listReads = () => server.calls.filter((c) => c.method === 'GET' && c.url.pathname === '/api/flags/flg_1/environments').length;
    await waitFor(() => expect(listReads()).toBeGreaterThanOrEqual(2), slow);

    // changed by someone else (another tab, the API, a promotion)
    server.state.set('production', config('production', { enabled: true, version: 2 }));
    act(() => live.emit('flag.changed', { id: 'chg_1', flagId: 'flg_1', changeType: 'enabled', environment: 'production' }));
    await waitFor(() => expect(within(row('production')).getByRole('switch')).toHaveAttribute('aria-checked', 'true'), slow);
    expect(within(row('production')).getByTestId('env-version')).toHaveTextContent('v2');
  });
});
