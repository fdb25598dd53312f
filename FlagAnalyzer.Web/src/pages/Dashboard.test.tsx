import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, render, screen, within } from '@testing-library/react';
import Dashboard from './Dashboard';
import { fakeConnection, json, mockFetch, renderTree } from '../test/utils';
import type { Flag, Prediction } from '../api/types';

const flag: Flag = {
  id: 'flg_1', name: 'new-checkout-flow', description: '', enabled: false, rolloutPercentage: 0, targetEnvironment: 'staging',
  owner: 'product-team', tags: [], autoRollback: false, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', version: 1,
  variants: null, rules: null, eTag: '"1"', key: 'new-checkout-flow', defaultVariant: 'on', offVariant: 'off', targeting: null,
};
const prediction: Prediction = {
  id: 'prd_1', flagId: 'flg_1', environment: 'production', changeId: 'chg_1', riskLevel: 'medium', riskScore: 41,
  predictedImpact: { errorRateChange: 12, latencyChange: 5, userImpact: 'moderate', errorRateChangeInterval: null, latencyChangeInterval: null }, recommendations: ['Roll out to 10% first'],
  confidence: 0.6, reasoning: 'Staging change with little history.', evidence: { samples: 30 }, source: 'statistical',
  createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
};
const health = { status: 'Degraded', totalDurationMs: 1, checks: {
  sqlite: { status: 'Healthy', description: 'ok' }, cache: { status: 'Degraded', description: 'degraded: no Redis' },
  llm: { status: 'Degraded', description: 'statistical analyst only' } } };

afterEach(() => vi.unstubAllGlobals());

describe('Dashboard', () => {
  it('shows empty states when there is nothing yet, and the health of cache and LLM', async () => {
    mockFetch((url) => {
      if (url.pathname === '/health') return json(health);
      if (url.pathname.startsWith('/api/')) return json({ items: [], nextCursor: null });
    });
    const { ui } = renderTree(<Dashboard />);
    render(ui);
    expect(await screen.findByTestId('predictions-empty')).toBeInTheDocument();
    expect(await screen.findByTestId('anomalies-empty')).toBeInTheDocument();
    expect(await screen.findByTestId('flags-empty')).toBeInTheDocument();
    expect(await screen.findByTestId('health-cache')).toHaveTextContent('degraded: no Redis');
    expect(screen.getByTestId('health-llm')).toHaveAttribute('data-status', 'Degraded');
  });

  it('shows an API failure instead of an empty list', async () => {
    mockFetch((url) => {
      if (url.pathname === '/api/predictions') return json({ title: 'Internal Server Error', detail: 'database is locked' }, 500);
      if (url.pathname === '/health') return json(health);
      return json({ items: [], nextCursor: null });
    });
    const { ui } = renderTree(<Dashboard />);
    render(ui);
    const card = await screen.findByTestId('latest-predictions');
    expect(await within(card).findByRole('alert')).toHaveTextContent('database is locked');
    expect(within(card).queryByTestId('predictions-empty')).toBeNull();
  });

  it('shows a prediction pushed live, without reloading', async () => {
    let predictions: Prediction[] = [];
    mockFetch((url) => {
      if (url.pathname === '/health') return json(health);
      if (url.pathname === '/api/flags') return json({ items: [flag], nextCursor: null });
      if (url.pathname === '/api/predictions') return json({ items: predictions, nextCursor: null });
      if (url.pathname === '/api/anomalies') return json({ items: [], nextCursor: null });
    });
    const live = fakeConnection();
    const { ui } = renderTree(<Dashboard />, live.conn);
    render(ui);
    await screen.findByTestId('predictions-empty');

    predictions = [prediction];
    await act(async () => live.emit('prediction.created', prediction));
    const card = await screen.findByTestId('prediction');
    expect(within(card).getByTestId('risk-level')).toHaveTextContent('medium');
    expect(within(card).getByTestId('prediction-flag')).toHaveTextContent('new-checkout-flow');
    expect(within(card).getByTestId('prediction-source')).toHaveTextContent('statistical');
    expect(live.invoke).toHaveBeenCalledWith('Subscribe', 'all');
  });
});
