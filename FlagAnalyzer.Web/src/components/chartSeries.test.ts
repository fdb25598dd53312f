import { describe, expect, it } from 'vitest';
import { groupMarkers, withGaps } from './chartSeries';

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
