import { describe, expect, it } from 'vitest';
import { armOf, byArm, groupMarkers, seriesKey, withGaps } from './chartSeries';

const min = 60_000;

describe('withGaps', () => {
  it('inserts a null point after a gap longer than three median spacings, and none elsewhere', () => {
    const pts = [0, 1, 2, 3, 9, 10].map((m) => ({ t: m * min, errorRate: m }));
    const out = withGaps(pts, ['errorRate']);

    expect(out.map((p) => p.errorRate)).toEqual([0, 1, 2, 3, null, 9, 10]);
    expect(out[4].t).toBe(4 * min);
  });

  it('leaves evenly spaced data alone', () => {
    const pts = [0, 1, 2, 3].map((m) => ({ t: m * min, errorRate: 1 }));
    expect(withGaps(pts, ['errorRate'])).toEqual(pts);
  });
});

describe('groupMarkers', () => {
  const label = (m: { kind: string }) => m.kind;

  it('puts changes closer than the minimum spacing under one label', () => {
    const groups = groupMarkers([{ t: 0, kind: 'enabled' }, { t: 30_000, kind: 'rollout changed' }, { t: 30 * min, kind: 'disabled' }], 60 * min, label);

    expect(groups.map((g) => g.label)).toEqual(['enabled + rollout changed', 'disabled']);
    expect(groups[0].t).toBe(0);
  });

  it('counts three or more different changes instead of listing them', () => {
    const groups = groupMarkers([{ t: 0, kind: 'a' }, { t: 1, kind: 'b' }, { t: 2, kind: 'c' }], 60 * min, label);
    expect(groups.map((g) => g.label)).toEqual(['3 changes']);
  });
});

describe('byArm', () => {
  const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 12, m)).toISOString();
  // a rollback's evidence: control at 1 % errors, the treatment variant at 3.5 %
  const samples = [0, 1, 2].flatMap((m) => [
    { timestamp: at(m), cohort: 'treatment', variant: 'on', errorRate: 3.5 },
    { timestamp: at(m), cohort: 'control', variant: 'off', errorRate: 1 },
  ]);

  it('gives control and each treatment variant a series of their own, control first, at the sample times', () => {
    const { arms, rows, complete } = byArm(samples, ['errorRate']);

    expect(arms.map((a) => a.label)).toEqual(['off (control)', 'on']);
    expect(rows.map((r) => r.t)).toEqual([0, 1, 2].map((m) => new Date(at(m)).getTime()));
    expect(rows.map((r) => r[seriesKey(arms[0], 'errorRate')])).toEqual([1, 1, 1]);
    expect(rows.map((r) => r[seriesKey(arms[1], 'errorRate')])).toEqual([3.5, 3.5, 3.5]);
    expect(complete).toBe(true);
  });

  it('keeps two treatment variants apart, and says when arms were sampled at different times', () => {
    const { arms, complete } = byArm([
      ...samples,
      { timestamp: at(3), cohort: 'treatment', variant: 'blue', errorRate: 2 },
    ], ['errorRate']);

    expect(arms.map((a) => a.label)).toEqual(['off (control)', 'blue', 'on']);
    expect(complete).toBe(false);
  });

  it('draws samples without a cohort as one series of all traffic', () => {
    const { arms } = byArm([{ timestamp: at(0), errorRate: 1 }, { timestamp: at(1), errorRate: 2 }], ['errorRate']);
    expect(arms).toEqual([{ key: 'all', label: 'all traffic', control: false }]);
    expect(armOf({ cohort: 'control' })).toEqual({ key: 'c:control', label: 'control', control: true });
  });
});
