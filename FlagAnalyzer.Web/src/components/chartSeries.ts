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

/** Who a sample's requests were: the control cohort, a treatment variant, or all traffic (a sample without cohort). */
export interface Arm { key: string; label: string; control: boolean }

interface ArmSample { cohort?: string | null; variant?: string | null; timestamp?: string | null }

/**
 * The arm a sample belongs to, as the analysis compares them: control against each treatment variant. A sample
 * names its served variant when it has one (OTLP, the simulator's cohorts), else only its cohort.
 */
export function armOf(s: ArmSample): Arm {
  const control = s.cohort === 'control';
  if (s.variant) return { key: `v:${s.variant}`, label: control ? `${s.variant} (control)` : s.variant, control };
  if (s.cohort) return { key: `c:${s.cohort}`, label: s.cohort, control };
  return { key: 'all', label: 'all traffic', control: false };
}

/**
 * Pivots samples into one row per sample time, with a field `${arm.key}|${metric}` per arm and metric, so each arm
 * is its own series drawn at the times it was sampled. Arms come control first, then by label. `complete` says
 * every row has every arm (they were sampled together), so a missing value is a gap, not an arm's other rhythm.
 */
export function byArm<S extends ArmSample>(samples: S[], metrics: (keyof S & string)[]): { arms: Arm[]; rows: TimePoint[]; complete: boolean } {
  const arms = new Map<string, Arm>();
  const rows = new Map<number, TimePoint>();
  for (const s of samples) {
    const arm = armOf(s);
    arms.set(arm.key, arm);
    const t = new Date(s.timestamp!).getTime();
    const row = rows.get(t) ?? { t };
    for (const m of metrics) row[seriesKey(arm, m)] = s[m] ?? null;
    rows.set(t, row);
  }
  const ordered = [...arms.values()].sort((a, b) => Number(b.control) - Number(a.control) || a.label.localeCompare(b.label));
  const sorted = [...rows.values()].sort((a, b) => a.t - b.t);
  const complete = sorted.every((r) => ordered.every((a) => metrics.every((m) => seriesKey(a, m) in r)));
  return { arms: ordered, rows: sorted, complete };
}

export const seriesKey = (arm: Arm, metric: string) => `${arm.key}|${metric}`;
