import { describe, expect, it } from 'vitest';
import { QueryClient } from '@tanstack/react-query';
import { applyLiveEvent } from './events';
import { keys } from '../api/keys';
import type { Flag, Page, RolloutView } from '../api/types';

const flag = (over: Partial<Flag> = {}): Flag => ({
  id: 'flg_1', name: 'checkout', description: '', enabled: false, rolloutPercentage: 0, targetEnvironment: 'staging',
  owner: '', tags: [], autoRollback: false, createdAt: '', updatedAt: '', version: 1,
  variants: null, rules: null, eTag: '"1"', key: 'checkout', defaultVariant: 'on', offVariant: 'off', targeting: null, ...over,
});

describe('applyLiveEvent', () => {
  it('patches an updated flag into every cached list at once', () => {
    const qc = new QueryClient();
    qc.setQueryData<Page<Flag>>(keys.flags({}), { items: [flag(), flag({ id: 'flg_2', name: 'other' })], nextCursor: null });
    applyLiveEvent(qc, { type: 'flag.updated', payload: flag({ enabled: true, version: 2 }) });
    const page = qc.getQueryData<Page<Flag>>(keys.flags({}))!;
    expect(page.items[0].enabled).toBe(true);
    expect(page.items[1].name).toBe('other');
    expect(qc.getQueryData<Flag>(keys.flag('flg_1'))!.version).toBe(2);
    expect(qc.getQueryState(keys.flags({}))!.isInvalidated).toBe(true);
  });

  it('marks predictions stale on prediction.created and only that flag\'s metrics on metrics.recorded', () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.predictions({ limit: 10 }), { items: [], nextCursor: null });
    qc.setQueryData(keys.metrics('flg_1'), { items: [], nextCursor: null });
    qc.setQueryData(keys.metrics('flg_2'), { items: [], nextCursor: null });
    applyLiveEvent(qc, { type: 'prediction.created', payload: { id: 'prd_1', flagId: 'flg_1' } });
    applyLiveEvent(qc, { type: 'metrics.recorded', payload: { flagId: 'flg_1', count: 3 } });
    expect(qc.getQueryState(keys.predictions({ limit: 10 }))!.isInvalidated).toBe(true);
    expect(qc.getQueryState(keys.metrics('flg_1'))!.isInvalidated).toBe(true);
    expect(qc.getQueryState(keys.metrics('flg_2'))!.isInvalidated).toBe(false);
  });

  it('puts a rollout.updated plan into the view of its environment, and into the home view only when it is the home\'s', () => {
    const view = (environment: string | undefined, version: number) => ({
      plan: { id: `rol_${environment}`, flagId: 'flg_1', stages: [], state: 'running', currentStage: 1, createdAt: '2026-01-01T00:00:00Z', version,
        ...(environment ? { environment } : {}) },
      flagName: 'checkout', evaluation: { action: 'hold', reason: '', verdicts: [], progress: null },
    }) as unknown as RolloutView;
    const qc = new QueryClient();
    qc.setQueryData(keys.flag('flg_1'), flag({ targetEnvironment: 'staging' }));
    qc.setQueryData(keys.rollout('flg_1', ''), null);
    qc.setQueryData(keys.rollout('flg_1', 'production'), null);

    applyLiveEvent(qc, { type: 'rollout.updated', payload: view('production', 2) });
    expect(qc.getQueryData<RolloutView>(keys.rollout('flg_1', 'production'))!.plan.id).toBe('rol_production');
    // the page showing all environments shows the home's (staging's) plan: production's is not it
    expect(qc.getQueryData(keys.rollout('flg_1', ''))).toBeNull();

    applyLiveEvent(qc, { type: 'rollout.updated', payload: view('staging', 1) });
    expect(qc.getQueryData<RolloutView>(keys.rollout('flg_1', ''))!.plan.id).toBe('rol_staging');
    expect(qc.getQueryData<RolloutView>(keys.rollout('flg_1', 'staging'))!.plan.id).toBe('rol_staging');
    expect(qc.getQueryData<RolloutView>(keys.rollout('flg_1', 'production'))!.plan.id).toBe('rol_production');
  });

  it('a flag.changed event refreshes that flag\'s environment rows', () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.configurations('flg_1'), { items: [] });
    qc.setQueryData(keys.configurations('flg_2'), { items: [] });
    applyLiveEvent(qc, { type: 'flag.changed', payload: { id: 'chg_1', flagId: 'flg_1', environment: 'production' } });
    expect(qc.getQueryState(keys.configurations('flg_1'))!.isInvalidated).toBe(true);
    expect(qc.getQueryState(keys.configurations('flg_2'))!.isInvalidated).toBe(false);
  });

  it('leaves the caches alone for chat events', () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.flags({}), { items: [], nextCursor: null });
    applyLiveEvent(qc, { type: 'chat.token', payload: { sessionId: 's', token: 'x' } });
    expect(qc.getQueryState(keys.flags({}))!.isInvalidated).toBe(false);
  });
});
