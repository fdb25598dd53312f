import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { FlagCard } from './FlagCard';
import { json, mockFetch, renderTree } from '../test/utils';
import type { Flag } from '../api/types';

const flag: Flag = {
  id: 'flg_1', name: 'new-checkout-flow', description: 'Redesigned checkout', enabled: false, rolloutPercentage: 10,
  targetEnvironment: 'production', owner: 'product-team', tags: ['checkout'], autoRollback: false,
  createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', version: 3,
  variants: null, rules: null, eTag: '"3"', key: 'new-checkout-flow', defaultVariant: 'on', offVariant: 'off', targeting: null,
};

const prediction = {
  id: 'prd_1', flagId: 'flg_1', changeId: 'chg_1', riskLevel: 'high', riskScore: 62,
  predictedImpact: { errorRateChange: 0, latencyChange: 0, userImpact: 'moderate' }, recommendations: [], confidence: 0.3,
  reasoning: '', evidence: {}, source: 'statistical', createdAt: '', updatedAt: '',
};

afterEach(() => vi.unstubAllGlobals());

function bodies(fetch: ReturnType<typeof mockFetch>, path: string) {
  return fetch.mock.calls
    .filter(([u]) => new URL(String(u), 'http://localhost').pathname === path)
    .map(([, init]) => JSON.parse(String(init!.body)));
}

describe('FlagCard', () => {
  it('enables through a change record and shows the predicted risk', async () => {
    const fetch = mockFetch((url) => url.pathname === '/api/flags/change' ? json({ change: { id: 'chg_1' }, prediction }) : undefined);
    render(renderTree(<FlagCard flag={flag} />).ui);
    await userEvent.click(screen.getByTestId('toggle-flag'));

    expect(await screen.findByTestId('change-prediction')).toHaveTextContent('high');
    expect(bodies(fetch, '/api/flags/change')).toEqual([expect.objectContaining({
      flagId: 'flg_1', changeType: 'enabled', newValue: { enabled: true, rolloutPercentage: 10 },
      previousValue: { enabled: false, rolloutPercentage: 10 }, environment: 'production',
    })]);
  });

  it('records a rollout change when the slider is released, not while it moves', async () => {
    const fetch = mockFetch((url) => url.pathname === '/api/flags/change' ? json({ change: { id: 'chg_2' }, prediction }) : undefined);
    render(renderTree(<FlagCard flag={flag} />).ui);
    const slider = screen.getByTestId('rollout-slider');
    fireEvent.change(slider, { target: { value: '30' } });
    fireEvent.change(slider, { target: { value: '50' } });
    expect(screen.getByTestId('rollout-value')).toHaveTextContent('50%');
    expect(bodies(fetch, '/api/flags/change')).toHaveLength(0);

    fireEvent.mouseUp(slider);
    await waitFor(() => expect(bodies(fetch, '/api/flags/change')).toHaveLength(1));
    expect(bodies(fetch, '/api/flags/change')[0]).toMatchObject({ changeType: 'rollout_changed', newValue: { enabled: false, rolloutPercentage: 50 } });
  });

  it('posts a realistic batch for "Simulate metrics" and shows what the API rejected', async () => {
    const fetch = mockFetch((url) => url.pathname === '/api/metrics'
      ? json({ title: 'One or more validation errors occurred.', errors: { '[0].latencyP99': ['must be greater than or equal to latencyP50'] } }, 400)
      : undefined);
    render(renderTree(<FlagCard flag={flag} />).ui);
    await userEvent.click(screen.getByTestId('simulate-metrics'));

    expect(await screen.findByRole('alert')).toHaveTextContent('[0].latencyP99 must be greater than or equal to latencyP50');
    const [batch] = bodies(fetch, '/api/metrics');
    expect(batch).toHaveLength(30);
    expect(batch.every((s: { flagId: string }) => s.flagId === 'flg_1')).toBe(true);
  });

  it('says an enabled flag at 0 % reaches nobody and offers the rollout', () => {
    mockFetch(() => undefined);
    render(renderTree(<FlagCard flag={{ ...flag, enabled: true, rolloutPercentage: 0 }} />).ui);

    expect(screen.getByTestId('flag-state')).toHaveTextContent('enabled for 0 %');
    expect(screen.getByTestId('flag-state-hint')).toHaveTextContent('raise the rollout');
  });
});
