import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import Flags from './Flags';
import Dashboard from './Dashboard';
import FlagDetail from './FlagDetail';
import { EnvironmentSwitcher } from '../components/EnvironmentSwitcher';
import { STORAGE_KEY } from '../environments/useEnvironmentChoice';
import { json, mockFetch, renderTree } from '../test/utils';
import type { Flag } from '../api/types';
import type { EnvironmentFlag } from '../api/environments';

/** Generous: the machine is shared, and the first render loads the modules. */
const slow = { timeout: 8000 };

const environments = ['development', 'staging', 'production'].map((name, position) =>
  ({ name, color: '#64748b', position, retired: false, createdAt: '', updatedAt: '' }));

const flag = (over: Partial<Flag> = {}): Flag => ({
  id: 'flg_1', name: 'checkout', description: '', enabled: false, rolloutPercentage: 0, targetEnvironment: 'staging',
  owner: 'team', tags: [], autoRollback: false, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', version: 1,
  variants: null, rules: null, eTag: '"1"', key: 'checkout', defaultVariant: 'on', offVariant: 'off', targeting: null, ...over,
});
/** An item of GET /api/environments/{env}/flags: the flag's definition with that environment's configuration (no eTag). */
const inEnvironment = (environment: string, over: Partial<Flag> = {}): EnvironmentFlag => {
  const { eTag: _eTag, ...definition } = flag(over);
  return { ...definition, environment };
};

const calls = (fetch: ReturnType<typeof mockFetch>) => fetch.mock.calls.map(([u, init]) =>
  ({ url: new URL(String(u), 'http://localhost'), method: (init as RequestInit | undefined)?.method ?? 'GET', init: init as RequestInit | undefined }));

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

// several requests and renders per test: generous on a shared machine (no timing is asserted)
describe('pages follow the header\'s environment', { timeout: 30_000 }, () => {
  it('the flags list of one environment shows that environment\'s on/off and %, and a card changes that environment', async () => {
    const fetch = mockFetch((url, init) => {
      if (url.pathname === '/api/environments') return json({ items: environments });
      // production's side of two flags whose home is staging: one is on at 30 % there
      if (url.pathname === '/api/environments/production/flags') {
        return json({ items: [
          inEnvironment('production', { enabled: true, rolloutPercentage: 30, version: 4 }),
          inEnvironment('production', { id: 'flg_2', name: 'search', key: 'search', owner: 'other' }),
        ] });
      }
      if (url.pathname === '/api/flags/flg_1/environments/production' && init?.method === 'PATCH') {
        return json({ environment: 'production', enabled: false, rolloutPercentage: 30, version: 5 });
      }
      if (url.pathname === '/api/flags') return json({ items: [flag()], nextCursor: null });
    });
    render(renderTree(<><EnvironmentSwitcher /><Flags /></>, undefined, '/flags?environment=production&owner=team').ui);

    // owner=team still filters: the other flag is not shown
    await waitFor(() => expect(screen.getAllByTestId('flag-card')).toHaveLength(1), slow);
    const card = screen.getByTestId('flag-card');
    expect(card).toHaveAttribute('data-flag-name', 'checkout');
    expect(within(card).getByTestId('flag-state')).toHaveTextContent('enabled');
    expect(within(card).getByTestId('rollout-value')).toHaveTextContent('30%');
    expect(within(card).getByText('production')).toBeInTheDocument();
    expect(calls(fetch).some((c) => c.url.pathname === '/api/flags')).toBe(false);

    await userEvent.click(within(card).getByTestId('toggle-flag'));
    await waitFor(() => expect(calls(fetch).some((c) => c.method === 'PATCH')).toBe(true), slow);
    const patch = calls(fetch).find((c) => c.method === 'PATCH')!;
    expect(patch.url.pathname).toBe('/api/flags/flg_1/environments/production');
    expect((patch.init!.headers as Record<string, string>)['If-Match']).toBe('"4"');
    expect(JSON.parse(String(patch.init!.body))).toEqual({ enabled: false });
    expect(calls(fetch).some((c) => c.url.pathname === '/api/flags/change')).toBe(false);
  });

  it('"all environments" keeps listing every flag with its home configuration', async () => {
    const fetch = mockFetch((url) => {
      if (url.pathname === '/api/environments') return json({ items: environments });
      if (url.pathname === '/api/flags') return json({ items: [flag({ enabled: true, rolloutPercentage: 10 })], nextCursor: null });
    });
    render(renderTree(<><EnvironmentSwitcher /><Flags /></>, undefined, '/flags').ui);
    const card = await screen.findByTestId('flag-card', {}, slow);
    expect(within(card).getByTestId('rollout-value')).toHaveTextContent('10%');
    expect(within(card).getByText('staging')).toBeInTheDocument();
    expect(calls(fetch).some((c) => c.url.pathname.startsWith('/api/environments/'))).toBe(false);
  });

  it('the flag page reads metrics, changes, exposures, rollout, anomalies and predictions in the chosen environment', async () => {
    const fetch = mockFetch((url) => {
      if (url.pathname === '/api/environments') return json({ items: environments });
      if (url.pathname === '/api/flags/flg_1') return json(flag());
      if (url.pathname === '/api/flags/flg_1/environments') return json({ items: [] });
      if (url.pathname === '/api/flags/flg_1/rollout') return json({ title: 'Rollout not found', status: 404 }, 404);
      if (url.pathname === '/api/streams') return json({ scope: 'replica', total: 0, environments: [] });
      if (url.pathname === '/api/flags/flg_1/exposures') return json({ flagId: 'flg_1', flagKey: 'checkout', from: '', variants: [], series: [], srm: null });
      if (url.pathname.startsWith('/api/')) return json({ items: [], nextCursor: null });
    });
    localStorage.setItem(STORAGE_KEY, 'production');
    render(renderTree(<Routes><Route path="/flags/:id" element={<FlagDetail />} /></Routes>, undefined, '/flags/flg_1?environment=production').ui);
    await screen.findByTestId('flag-detail', {}, slow);

    const scoped = ['/api/flags/flg_1/metrics', '/api/flags/flg_1/changes', '/api/flags/flg_1/exposures', '/api/flags/flg_1/rollout', '/api/anomalies', '/api/predictions'];
    await waitFor(() => {
      for (const path of scoped) {
        const seen = calls(fetch).filter((c) => c.url.pathname === path);
        expect(seen.length, path).toBeGreaterThan(0);
        expect(seen.map((c) => c.url.searchParams.get('environment')), path).toEqual(seen.map(() => 'production'));
      }
    }, slow);
    expect(screen.getByTestId('metrics-card')).toHaveTextContent('Metrics over time in production');
  });

  it('the dashboard asks for the chosen environment\'s flags, anomalies, predictions and rollouts', async () => {
    const fetch = mockFetch((url) => {
      if (url.pathname === '/api/environments') return json({ items: environments });
      if (url.pathname === '/api/environments/staging/flags') return json({ items: [inEnvironment('staging', { enabled: true, rolloutPercentage: 5 })] });
      if (url.pathname === '/health') return json({ status: 'Healthy', totalDurationMs: 1, checks: {} });
      if (url.pathname.startsWith('/api/')) return json({ items: [], nextCursor: null });
    });
    render(renderTree(<Dashboard />, undefined, '/?environment=staging').ui);
    const item = await screen.findByTestId('dashboard-flag', {}, slow);
    expect(item).toHaveTextContent('5%');
    expect(screen.getByTestId('stat-enabled')).toHaveTextContent('1');
    await waitFor(() => {
      for (const path of ['/api/anomalies', '/api/predictions', '/api/rollouts']) {
        const seen = calls(fetch).filter((c) => c.url.pathname === path);
        expect(seen.length, path).toBeGreaterThan(0);
        expect(seen.every((c) => c.url.searchParams.get('environment') === 'staging'), path).toBe(true);
      }
    }, slow);
  });
});
