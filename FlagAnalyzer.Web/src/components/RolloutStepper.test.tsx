import { describe, expect, it } from 'vitest';
import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { RolloutCard, actionsFor, formatSeconds } from './RolloutStepper';
import { fakeConnection, json, mockFetch, renderTree } from '../test/utils';
import type { RolloutView } from '../api/types';
import { keys } from '../api/keys';

const stages = [1, 5, 25, 50, 100].map((percentage) => ({ percentage, minDurationSeconds: 300, minRequests: 1000 }));

function view(over: Partial<RolloutView['plan']> = {}, evaluation: Partial<RolloutView['evaluation']> = {}): RolloutView {
  return {
    plan: {
      id: 'rol_1', flagId: 'flg_1', stages, state: 'running', currentStage: 1, startedAt: '2026-01-01T00:00:00Z',
      stageStartedAt: '2026-01-01T00:05:00Z', reason: null, createdBy: 'alice', createdAt: '', updatedAt: '', version: 3, ...over,
    },
    flagName: 'checkout',
    evaluation: {
      action: 'hold', reason: 'Waiting at stage 2 of 5 (5 %): 2m 0s of its minimum duration.',
      verdicts: [{ metric: 'error_rate', verdict: 'not_significant', controlValue: 1, treatmentValue: 1.2, changePercent: 20, confidence: 0.62, severity: null, note: '' }],
      progress: { elapsedSeconds: 180, secondsLeft: 120, controlRequests: 3000, treatmentRequests: 600, requestsLeft: 400 },
      ...evaluation,
    },
  };
}

describe('RolloutStepper', () => {
  it('shows the current stage, time and requests left, and the verdicts with their confidence', async () => {
    mockFetch((url) => (url.pathname === '/api/flags/flg_1/rollout' ? json(view()) : undefined));
    render(renderTree(<RolloutCard flagId="flg_1" />).ui);

    expect(await screen.findByTestId('rollout-state')).toHaveTextContent('running');
    const steps = screen.getAllByTestId('rollout-stage');
    expect(steps.map((s) => s.textContent)).toEqual(['1 %', '5 %', '25 %', '50 %', '100 %']);
    expect(steps[0]).toHaveAttribute('data-done', 'true');
    expect(steps[1]).toHaveAttribute('data-current', 'true');
    expect(screen.getByTestId('rollout-progress')).toHaveTextContent('2m 0s left · 400 requests per cohort left');
    expect(screen.getByTestId('rollout-reason')).toHaveTextContent('Waiting at stage 2 of 5');
    expect(screen.getByTestId('rollout-verdict')).toHaveTextContent('62.0 %');
    expect(screen.getByTestId('rollout-pause')).toBeInTheDocument();
    expect(screen.queryByTestId('rollout-start')).not.toBeInTheDocument();
  });

  it('says which guardrail waits for what, and which are compared', async () => {
    const evidence = [
      { metric: 'error_rate', variant: null, ready: true, controlSamples: 4, treatmentSamples: 4, samplesNeeded: 3, waiting: null },
      { metric: 'latency_p99', variant: null, ready: false, controlSamples: 2, treatmentSamples: 4, samplesNeeded: 3,
        waiting: 'latency_p99: 2 of 3 samples per cohort (control 2, treatment 4)' },
    ];
    mockFetch((url) => (url.pathname === '/api/flags/flg_1/rollout'
      ? json(view({}, { guardrails: ['error_rate', 'latency_p99'], evidence }))
      : undefined));
    render(renderTree(<RolloutCard flagId="flg_1" />).ui);

    const items = await screen.findAllByTestId('rollout-evidence-item');
    expect(items[0]).toHaveAttribute('data-ready', 'true');
    expect(items[0]).toHaveTextContent('error_rate: compared (control 4, treatment 4 samples at this stage)');
    expect(items[1]).not.toHaveAttribute('data-ready');
    expect(items[1]).toHaveTextContent('latency_p99: 2 of 3 samples per cohort');
    expect(screen.getByTestId('rollout-guardrails')).toHaveTextContent('guarded by error_rate, latency_p99 (default)');
  });

  it('updates live from rollout.updated and shows the rollback reason', async () => {
    mockFetch((url) => (url.pathname === '/api/flags/flg_1/rollout' ? json(view()) : undefined));
    const live = fakeConnection();
    render(renderTree(<RolloutCard flagId="flg_1" />, live.conn).ui);
    await screen.findByTestId('rollout-progress');

    const reason = 'Rolled back at stage 2 of 5 (5 %): error_rate 1 % (control) → 2.1 % (treatment) (+110 %), a high regression with confidence 99.9 %';
    await waitFor(() => expect(live.conn.state).toBe('Connected'));
    act(() => live.emit('rollout.updated', view({ state: 'rolled_back', reason }, { reason })));

    await waitFor(() => expect(screen.getByTestId('rollout-state')).toHaveTextContent('rolled back'));
    expect(screen.getByTestId('rollout-reason')).toHaveTextContent(reason);
    expect(screen.queryByTestId('rollout-progress')).not.toBeInTheDocument();
    expect(screen.getByTestId('rollout-create')).toHaveTextContent('New plan');
  });

  it('keeps the advance it was shown live when a GET read before the advance answers after it', async () => {
    const before = view({ currentStage: 0, version: 2 }, { action: 'advance', reason: 'Advanced to stage 2 of 5 (5 %): stage 1 of 5 (1 %) ran 5m 0s' });
    const after = view({ currentStage: 1, version: 3, reason: 'Advanced to stage 2 of 5 (5 %): stage 1 of 5 (1 %) ran 5m 0s' });
    // GETs sent after metrics.recorded were read before the guardian's commit and answer late, with the plan before it
    let hold = false;
    const late: ((v: RolloutView) => void)[] = [];
    mockFetch((url) => {
      if (url.pathname !== '/api/flags/flg_1/rollout') return undefined;
      return hold ? new Promise<RolloutView>((r) => { late.push(r); }).then((v) => json(v)) : json(before);
    });
    const live = fakeConnection();
    const tree = renderTree(<RolloutCard flagId="flg_1" />, live.conn);
    render(tree.ui);
    await waitFor(() => expect(screen.getByTestId('rollout')).toHaveAttribute('data-stage', '0'));
    await waitFor(() => expect(live.conn.state).toBe('Connected'));

    await waitFor(() => expect(tree.qc.isFetching()).toBe(0));
    hold = true;
    act(() => live.emit('metrics.recorded', { flagId: 'flg_1', count: 2 }));
    await waitFor(() => expect(late.length).toBeGreaterThan(0));
    act(() => live.emit('rollout.updated', after));
    await waitFor(() => expect(screen.getByTestId('rollout')).toHaveAttribute('data-stage', '1'));

    await act(async () => { late.forEach((r) => r(before)); });
    await waitFor(() => expect(tree.qc.isFetching()).toBe(0));
    expect(screen.getByTestId('rollout')).toHaveAttribute('data-stage', '1');
    expect(screen.getByTestId('rollout-reason')).toHaveTextContent('Waiting at stage 2 of 5');
  });

  it('ignores a rollout.updated older than the plan it shows', async () => {
    const shown = { createdAt: '2026-01-01T00:00:00Z' };
    mockFetch((url) => (url.pathname === '/api/flags/flg_1/rollout' ? json(view({ ...shown, currentStage: 2, version: 5 })) : undefined));
    const live = fakeConnection();
    const tree = renderTree(<RolloutCard flagId="flg_1" />, live.conn);
    render(tree.ui);
    await waitFor(() => expect(screen.getByTestId('rollout')).toHaveAttribute('data-stage', '2'));
    await waitFor(() => expect(live.conn.state).toBe('Connected'));
    const cached = () => tree.qc.getQueryData<RolloutView>(keys.rollout('flg_1', ''))!.plan;

    // the same plan one transition earlier, and an earlier plan of the flag: neither replaces what is shown
    act(() => live.emit('rollout.updated', view({ ...shown, currentStage: 1, version: 4 }, { reason: 'Waiting at stage 2 of 5 (5 %): stale' })));
    expect(cached()).toMatchObject({ currentStage: 2, version: 5 });
    act(() => live.emit('rollout.updated', view({ id: 'rol_0', createdAt: '2025-12-31T00:00:00Z', state: 'rolled_back', version: 9 })));
    expect(cached()).toMatchObject({ id: 'rol_1', state: 'running' });

    act(() => live.emit('rollout.updated', view({ ...shown, currentStage: 3, version: 6 }, { reason: 'Waiting at stage 4 of 5 (50 %): fresh' })));
    await waitFor(() => expect(screen.getByTestId('rollout-reason')).toHaveTextContent('fresh'));
    act(() => live.emit('rollout.updated', view({ id: 'rol_2', createdAt: '2026-01-02T00:00:00Z', state: 'pending', currentStage: 0, version: 1 })));
    await waitFor(() => expect(screen.getByTestId('rollout')).toHaveAttribute('data-state', 'pending'));
  });

  it('starts a pending plan through the API', async () => {
    const fetch = mockFetch((url, init) => {
      if (url.pathname === '/api/flags/flg_1/rollout') return json(view({ state: 'pending', currentStage: 0 }));
      if (url.pathname === '/api/flags/flg_1/rollout/start' && init?.method === 'POST') return json(view({ state: 'running', currentStage: 0 }));
      return undefined;
    });
    render(renderTree(<RolloutCard flagId="flg_1" />).ui);
    await userEvent.click(await screen.findByTestId('rollout-start'));
    await waitFor(() => expect(screen.getByTestId('rollout-state')).toHaveTextContent('running'));
    expect(fetch.mock.calls.some(([u]) => String(u).includes('/rollout/start?changedBy=web-ui'))).toBe(true);
  });

  it('shows one verdict row per served variant, naming the variant that regressed', async () => {
    const verdict = (variant: string, v: string, treatmentValue: number) =>
      ({ metric: 'error_rate', verdict: v, controlValue: 1, treatmentValue, changePercent: (treatmentValue - 1) * 100, confidence: 0.999, severity: v === 'regression' ? 'high' : null, note: '', variant });
    const reason = "Rolled back at stage 2 of 5 (5 %): variant 'green': error_rate 1 % (control) → 3 % ('green')";
    mockFetch((url) => (url.pathname === '/api/flags/flg_1/rollout'
      ? json(view({ state: 'rolled_back', reason }, { verdicts: [verdict('blue', 'within_threshold', 1.02), verdict('green', 'regression', 3)] }))
      : undefined));
    render(renderTree(<RolloutCard flagId="flg_1" />).ui);
    const rows = await screen.findAllByTestId('rollout-verdict');
    expect(rows.map((r) => r.getAttribute('data-variant'))).toEqual(['blue', 'green']);
    expect(rows[1]).toHaveAttribute('data-verdict', 'regression');
    expect(screen.getAllByTestId('rollout-verdict-variant').map((c) => c.textContent)).toEqual(['blue', 'green']);
    expect(screen.getByTestId('rollout-reason')).toHaveTextContent("variant 'green'");
  });

  it('offers only the actions the state allows, and formats waits', () => {
    expect(actionsFor('pending')).toEqual(['start']);
    expect(actionsFor('paused')).toEqual(['resume', 'promote', 'abort']);
    expect(actionsFor('rolled_back')).toEqual([]);
    expect(formatSeconds(3725)).toBe('1h 2m');
    expect(formatSeconds(61)).toBe('1m 1s');
  });
});
