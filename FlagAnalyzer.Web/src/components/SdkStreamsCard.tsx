import { Radio } from 'lucide-react';
import { useStreamCounts } from '../api/hooks';
import type { Flag } from '../api/types';
import { Card, Empty, ErrorBanner, Loading } from './ui';

/**
 * How many SDKs hold an OFREP event stream that this flag's changes reach: the streams of the flag's environment and
 * those of keys that reach every environment. Counted by the replica that answered (GET /api/streams says so).
 */
export function SdkStreamsCard({ flag, environment = flag.targetEnvironment }: { flag: Flag; environment?: string }) {
  const counts = useStreamCounts();
  const mine = counts.data?.environments.find((e) => e.environment === environment)?.streams ?? 0;
  const everywhere = counts.data?.environments.find((e) => e.environment == null)?.streams ?? 0;
  return (
    <Card title="SDK streams" icon={<Radio className="h-4 w-4" />} testId="sdk-streams">
      {counts.isPending ? <Loading what="Loading SDK streams" />
        : counts.error ? <ErrorBanner error={counts.error} what="SDK streams" />
        : mine + everywhere === 0 ? <Empty testId="sdk-streams-empty">No SDK holds an event stream for {environment} now; SDKs that poll still see changes at their next poll.</Empty>
        : (
          <div className="space-y-1 text-sm">
            <p data-testid="sdk-streams-environment"><span className="font-semibold">{mine}</span> connected in {environment}</p>
            {everywhere > 0 && <p data-testid="sdk-streams-all"><span className="font-semibold">{everywhere}</span> connected with keys for every environment</p>}
            <p className="text-xs text-slate-600">Each gets a refetch the moment this flag changes. Counted on the {counts.data.scope} that answered.</p>
          </div>
        )}
    </Card>
  );
}
