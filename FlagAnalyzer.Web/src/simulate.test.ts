import { describe, expect, it } from 'vitest';
import { simulateBatch } from './simulate';

// a seeded generator so the test sees the same "random" batch every run
function seeded(seed: number) {
  return () => ((seed = (seed * 1664525 + 1013904223) % 2 ** 32) / 2 ** 32);
}

describe('simulateBatch', () => {
  it('produces samples the API accepts: ranges, p99 ≥ p50, past timestamps in order', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    const batch = simulateBatch({ id: 'flg_1', targetEnvironment: 'production' }, 30, now, seeded(7));
    expect(batch).toHaveLength(30);
    for (const s of batch) {
      expect(s.flagId).toBe('flg_1');
      expect(s.errorRate).toBeGreaterThanOrEqual(0);
      expect(s.errorRate).toBeLessThanOrEqual(100);
      expect(s.latencyP99).toBeGreaterThanOrEqual(s.latencyP50);
      expect(s.requestCount).toBeGreaterThan(0);
      expect(s.userSatisfactionScore!).toBeLessThanOrEqual(5);
      expect(Date.parse(s.timestamp!)).toBeLessThan(now);
    }
    const times = batch.map((s) => Date.parse(s.timestamp!));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('stays near a healthy baseline: noise, not a regression', () => {
    const batch = simulateBatch({ id: 'f', targetEnvironment: 'staging' }, 200, Date.now(), seeded(42));
    const mean = batch.reduce((a, s) => a + s.errorRate, 0) / batch.length;
    expect(mean).toBeGreaterThan(0.5);
    expect(mean).toBeLessThan(1.1);
    expect(new Set(batch.map((s) => s.latencyP50)).size).toBeGreaterThan(50);
  });
});
