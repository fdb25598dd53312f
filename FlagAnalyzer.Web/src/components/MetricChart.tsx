import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { FlagChange, MetricSample } from '../api/types';
import { groupMarkers, withGaps } from './chartSeries';

export interface Series { key: keyof MetricSample; label: string; color: string }

const time = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

const changeColor: Record<string, string> = {
  enabled: '#059669', disabled: '#64748b', rollout_changed: '#4f46e5', rolled_back: '#dc2626',
};

/** One metric over time, with a vertical marker at each flag change. */
export function MetricChart({ samples, changes, series, unit, testId }: {
  samples: MetricSample[]; changes: FlagChange[]; series: Series[]; unit: string; testId: string;
}) {
  const data = withGaps(samples
    .map((s) => ({ ...s, t: new Date(s.timestamp!).getTime() }))
    .sort((a, b) => a.t - b.t), series.map((s) => String(s.key)));
  const from = data[0]?.t ?? 0;
  const to = data[data.length - 1]?.t ?? 0;
  const markers = changes
    .map((c) => ({ ...c, t: new Date(c.timestamp).getTime() }))
    .filter((c) => c.changeType !== 'created' && c.t >= from && c.t <= to + 5 * 60_000);
  const groups = groupMarkers(markers, to - from, (c) => c.changeType.replace('_', ' '));

  return (
    <div data-testid={testId} className="h-64 w-full">
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} margin={{ top: 16, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e2e8f0" strokeDasharray="3 3" />
          <XAxis dataKey="t" type="number" scale="time" domain={['dataMin', 'auto']} tickFormatter={time} fontSize={11} />
          <YAxis fontSize={11} unit={unit} width={56} />
          <Tooltip labelFormatter={(v) => new Date(Number(v)).toLocaleString()} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {series.map((s) => (
            <Line key={String(s.key)} type="monotone" dataKey={String(s.key)} name={s.label} stroke={s.color} dot={false} strokeWidth={2} isAnimationActive={false} connectNulls={false} />
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
