import type { Flag, NewMetricSample } from './api/types';

/**
 * A realistic batch of metric samples for "Simulate metrics": one sample a minute over the last `count`
 * minutes, noisy around a healthy baseline that depends on the flag's environment. `rand` is injectable so
 * tests are deterministic.
 */
export function simulateBatch(flag: Pick<Flag, 'id' | 'targetEnvironment'>, count = 30,
  now = Date.now(), rand: () => number = Math.random): NewMetricSample[] {
  const prod = flag.targetEnvironment === 'production';
  const baseError = prod ? 0.4 : 0.8;
  const baseP50 = prod ? 45 : 60;
  const jitter = (spread: number) => (rand() - 0.5) * 2 * spread;
  const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  const samples: NewMetricSample[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const p50 = Math.max(1, baseP50 + jitter(baseP50 * 0.1));
    samples.push({
      flagId: flag.id,
      timestamp: new Date(now - i * 60_000 - 1000).toISOString(),
      errorRate: round(Math.max(0, baseError + jitter(baseError * 0.25)), 3),
      latencyP50: round(p50, 1),
      latencyP99: round(p50 * (2.4 + rand() * 0.6), 1),
      requestCount: Math.round(4000 + jitter(800)),
      conversionRate: round(3.2 + jitter(0.3)),
      userSatisfactionScore: round(Math.min(5, 4.2 + jitter(0.2))),
    });
  }
  return samples;
}
