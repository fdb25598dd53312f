import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { FlagChange, MetricSample } from '../api/types';
import { byArm, groupMarkers, seriesKey, withGaps } from './chartSeries';

/** A metric to draw; `dashed` tells a second metric of the same arm apart (P50 beside P99). */
export interface Series { key: keyof MetricSample & string; label: string; dashed?: boolean }

const time = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

const changeColor: Record<string, string> = {
  enabled: '#059669', disabled: '#64748b', rollout_changed: '#4f46e5', rolled_back: '#dc2626',
};

/** Control is grey (the baseline); treatments take these in turn. */
const CONTROL = '#64748b';
const TREATMENTS = ['#dc2626', '#4f46e5', '#d97706', '#059669', '#a855f7', '#0891b2'];

/**
 * One metric over time per arm — control against each treatment variant, what the analysis compares — drawn as steps
 * with a dot at each sample time (the values are samples, not a curve between them), with a marker at each flag change.
 */
export function MetricChart({ samples, changes, series, unit, testId }: {
  samples: MetricSample[]; changes: FlagChange[]; series: Series[]; unit: string; testId: string;
}) {
  const { arms, rows, complete } = byArm(samples, series.map((s) => s.key));
  const lines = arms.flatMap((arm, i) => series.map((s) => ({
    key: seriesKey(arm, s.key),
    name: arms.length === 1 && arm.key === 'all' ? s.label : series.length === 1 ? arm.label : `${arm.label} ${s.label}`,
    color: arm.control ? CONTROL : TREATMENTS[(i - (arms[0].control ? 1 : 0)) % TREATMENTS.length],
    dashed: s.dashed,
  })));
  // arms sampled together: a missing stretch is a gap to leave open; arms sampled apart: join each arm's own points
  const data = complete ? withGaps(rows, lines.map((l) => l.key)) : rows;
  const from = data[0]?.t ?? 0;
  const to = data[data.length - 1]?.t ?? 0;
  const markers = changes
    .map((c) => ({ ...c, t: new Date(c.timestamp).getTime() }))
    .filter((c) => c.changeType !== 'created' && c.t >= from && c.t <= to + 5 * 60_000);
  const groups = groupMarkers(markers, to - from, (c) => c.changeType.replace('_', ' '));

  return (
    <div data-testid={testId} data-arms={arms.map((a) => a.label).join(',')} className="h-64 w-full">
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} margin={{ top: 16, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e2e8f0" strokeDasharray="3 3" />
          <XAxis dataKey="t" type="number" scale="time" domain={['dataMin', 'auto']} tickFormatter={time} fontSize={11} />
          <YAxis fontSize={11} unit={unit} width={56} />
          <Tooltip labelFormatter={(v) => new Date(Number(v)).toLocaleString()} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {lines.map((l) => (
            <Line key={l.key} type="stepAfter" dataKey={l.key} name={l.name} stroke={l.color} strokeWidth={l.dashed ? 1.5 : 2}
              strokeDasharray={l.dashed ? '5 3' : undefined} dot={{ r: 2, fill: l.color, strokeWidth: 0 }} isAnimationActive={false}
              connectNulls={!complete} />
          ))}
          {groups.map(({ t, items: [c], label }) => (
            <ReferenceLine key={c.id} x={t} stroke={changeColor[c.changeType] ?? '#94a3b8'} strokeDasharray="4 2"
              label={{ value: label, position: 'top', fontSize: 10, fill: changeColor[c.changeType] ?? '#64748b' }} />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
