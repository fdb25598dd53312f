/** A point on a time axis (ms); other fields are the plotted values. */
export type TimePoint = { t: number } & Record<string, unknown>;

/**
 * Breaks a line where data is missing: after each gap longer than `factor` × the median spacing, inserts a point
 * whose plotted keys are null, so a chart with connectNulls={false} draws no line across it.
 */
export function withGaps<T extends TimePoint>(points: T[], keys: string[], factor = 3): T[] {
  if (points.length < 3) return points;
  const spacings = points.slice(1).map((p, i) => p.t - points[i].t).sort((a, b) => a - b);
  const median = spacings[Math.floor(spacings.length / 2)];
  if (median <= 0) return points;
  const out: T[] = [points[0]];
  for (let i = 1; i < points.length; i++) {
    const prev = points[i - 1];
    if (points[i].t - prev.t > factor * median) {
      const gap = { ...prev, t: prev.t + median } as T;
      for (const k of keys) (gap as Record<string, unknown>)[k] = null;
      out.push(gap);
    }
    out.push(points[i]);
  }
  return out;
}

export interface MarkerGroup<M> { t: number; items: M[]; label: string }

/**
 * Groups change markers that lie closer than `minFraction` of the visible time span, so their labels never
 * overlap: one line per group at its first change, labelled "a + b" (or "3 changes").
 */
export function groupMarkers<M extends { t: number }>(markers: M[], span: number, label: (m: M) => string, minFraction = 0.06): MarkerGroup<M>[] {
  const sorted = [...markers].sort((a, b) => a.t - b.t);
  const minGap = Math.max(0, span) * minFraction;
  const groups: MarkerGroup<M>[] = [];
  for (const m of sorted) {
    const last = groups[groups.length - 1];
    if (last && m.t - last.t < minGap) last.items.push(m);
    else groups.push({ t: m.t, items: [m], label: '' });
  }
  for (const g of groups) {
    const names = [...new Set(g.items.map(label))];
    g.label = g.items.length === 1 ? names[0] : names.length <= 2 ? names.join(' + ') : `${g.items.length} changes`;
  }
  return groups;
}
