import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useLocation } from 'react-router';
import { EnvironmentSwitcher } from './EnvironmentSwitcher';
import Flags from '../pages/Flags';
import Anomalies from '../pages/Anomalies';
import { STORAGE_KEY } from '../environments/useEnvironmentChoice';
import { json, mockFetch, renderTree } from '../test/utils';
import type { Anomaly, Environment } from '../api/types';

const env = (name: string, position: number, retired = false): Environment =>
  ({ name, color: '#64748b', position, retired, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', protected: false, approvalExemptions: [] });
/** Generous: the machine is shared, and the first render loads the modules. */
const slow = { timeout: 5000 };
const environments = [env('development', 0), env('staging', 1), env('production', 2), env('legacy', 3, true)];

function Search() {
  return <output data-testid="search">{useLocation().search}</output>;
}

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe('EnvironmentSwitcher', () => {
  it('offers all plus each environment in promotion order, and a choice goes into the URL and is remembered', async () => {
    mockFetch((url) => (url.pathname === '/api/environments' ? json({ items: environments }) : undefined));
    render(renderTree(<><EnvironmentSwitcher /><Search /></>).ui);
    const select = screen.getByTestId('env-switcher');
    await waitFor(() => expect(within(select).getAllByRole('option')).toHaveLength(5), slow);
    expect(within(select).getAllByRole('option').map((o) => o.textContent))
      .toEqual(['all environments', 'development', 'staging', 'production', 'legacy (retired)']);

    await userEvent.selectOptions(select, 'staging');
    expect(screen.getByTestId('search')).toHaveTextContent('?environment=staging');
    expect(localStorage.getItem(STORAGE_KEY)).toBe('staging');

    await userEvent.selectOptions(select, '');
    expect(screen.getByTestId('search')).toHaveTextContent(/^$/);
    expect(localStorage.getItem(STORAGE_KEY)).toBe('');
  });

  it('treats a remembered environment the key cannot see as all, instead of asking for it', async () => {
    localStorage.setItem(STORAGE_KEY, 'production');
    const fetch = mockFetch((url) => {
      if (url.pathname === '/api/environments') return json({ items: [env('staging', 1)] });
      if (url.pathname === '/api/flags') return json({ items: [], nextCursor: null });
    });
    render(renderTree(<><EnvironmentSwitcher /><Flags /></>, undefined, '/flags').ui);
    await waitFor(() => expect(screen.getByTestId('env-switcher')).toHaveValue(''), slow);
    await screen.findByTestId('flags-empty', {}, slow);
    const flagCalls = fetch.mock.calls.map(([u]) => new URL(String(u), 'http://localhost')).filter((u) => u.pathname === '/api/flags');
    expect(flagCalls.length).toBeGreaterThan(0);
    expect(flagCalls.map((u) => u.searchParams.get('environment'))).not.toContain('production');
  });

  it('narrows the flag list: the flags page asks for the chosen environment', async () => {
    const fetch = mockFetch((url) => {
      if (url.pathname === '/api/environments') return json({ items: environments });
      if (url.pathname === '/api/flags') return json({ items: [], nextCursor: null });
    });
    render(renderTree(<><EnvironmentSwitcher /><Flags /></>, undefined, '/flags').ui);
    await waitFor(() => expect(within(screen.getByTestId('env-switcher')).getAllByRole('option')).toHaveLength(5), slow);
    await userEvent.selectOptions(screen.getByTestId('env-switcher'), 'production');
    await waitFor(() => {
      const last = fetch.mock.calls.map(([u]) => new URL(String(u), 'http://localhost')).filter((u) => u.pathname === '/api/flags').at(-1)!;
      expect(last.searchParams.get('environment')).toBe('production');
    }, slow);
    // the page's own environment filter shows the header's choice: one choice, two controls
    expect(screen.getByTestId('filter-environment')).toHaveValue('production');
  });

  it('narrows the anomalies to the chosen environment: the API is asked for that environment\'s anomalies', async () => {
    const anomaly = (id: string, flagId: string) => ({
      id, flagId, type: 'error_spike', severity: 'high', metric: 'error_rate', baselineValue: 1, observedValue: 3.5, changePercent: 250,
      confidence: 0.99, pValue: 0.001, message: `spike on ${flagId}`, status: 'active', detectedAt: '2026-01-01T00:00:00Z', resolvedAt: null,
    }) as unknown as Anomaly;
    // issue 26: an anomaly is one environment's (of any flag), so the API narrows them, not the flags' home
    const all = [{ ...anomaly('ano_1', 'flg_1'), environment: 'production' }, { ...anomaly('ano_2', 'flg_1'), environment: 'staging' }];
    mockFetch((url) => {
      if (url.pathname === '/api/environments') return json({ items: environments });
      if (url.pathname === '/api/anomalies') {
        const e = url.searchParams.get('environment');
        return json({ items: all.filter((a) => !e || a.environment === e).map(({ environment: _e, ...a }) => a), nextCursor: null });
      }
      if (url.pathname === '/api/flags') return json({ items: [{ id: 'flg_1', name: 'checkout', targetEnvironment: 'production' }], nextCursor: null });
    });
    render(renderTree(<><EnvironmentSwitcher /><Anomalies /></>, undefined, '/anomalies?environment=staging').ui);
    await waitFor(() => expect(screen.getAllByTestId('anomaly')).toHaveLength(1), slow);
    expect(screen.getByTestId('anomaly')).toHaveTextContent('spike on flg_1');
    expect(screen.getByTestId('anomaly')).toHaveAttribute('id', 'ano_2');

    await userEvent.selectOptions(screen.getByTestId('env-switcher'), '');
    await waitFor(() => expect(screen.getAllByTestId('anomaly')).toHaveLength(2), slow);
  });
});
