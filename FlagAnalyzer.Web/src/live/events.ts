import type { QueryClient } from '@tanstack/react-query';
import type { Anomaly, Flag, LiveEnvelope, Page, Prediction, RolloutView } from '../api/types';
import { keys } from '../api/keys';
import { laterRollout } from '../api/rolloutOrder';

/**
 * What a live event means for the cached server state: update what the payload fully describes, invalidate
 * what it only touches (lists with filters and paging are refetched rather than patched by hand).
 * Chat events are not handled here; the chat page listens for them itself.
 */
export function applyLiveEvent(qc: QueryClient, e: LiveEnvelope): void {
  const p = e.payload as Record<string, unknown> | null;
  const flagId = typeof p?.flagId === 'string' ? p.flagId : typeof p?.id === 'string' ? p.id : undefined;
  switch (e.type) {
    case 'flag.created':
    case 'flag.updated': {
      const flag = p as unknown as Flag;
      qc.setQueryData(keys.flag(flag.id), flag);
      // patch the flag into every loaded list page so toggles show at once, then refetch for filters/order
      qc.setQueriesData<Page<Flag>>({ queryKey: keys.flagsAll }, (old) =>
        old ? { ...old, items: old.items.map((f) => (f.id === flag.id ? flag : f)) } : old);
      void qc.invalidateQueries({ queryKey: keys.flagsAll });
      // the seed-shaped flag is its home configuration: that row changed too
      void qc.invalidateQueries({ queryKey: keys.configurations(flag.id) });
      void qc.invalidateQueries({ queryKey: keys.environmentFlagsAll });
      break;
    }
    case 'flag.deleted':
      qc.removeQueries({ queryKey: keys.flag((p as unknown as Flag).id) });
      void qc.invalidateQueries({ queryKey: keys.flagsAll });
      break;
    case 'flag.changed': {
      void qc.invalidateQueries({ queryKey: keys.changesAll });
      // a change in one environment (issue 26: the event names it) moves that environment's row, wherever it was made;
      // the rows are refetched whole (a promotion or a new environment can add what no cached row describes)
      if (flagId) {
        void qc.invalidateQueries({ queryKey: keys.configurations(flagId) });
        void qc.invalidateQueries({ queryKey: keys.environmentFlagsAll });
      }
      break;
    }
    case 'metrics.recorded':
      if (flagId) {
        void qc.invalidateQueries({ queryKey: keys.metrics(flagId) });
        // the stepper's requests-left and verdicts come from the samples
        void qc.invalidateQueries({ queryKey: keys.rollout(flagId) });
      }
      break;
    case 'rollout.updated': {
      const view = p as unknown as RolloutView;
      const flagId = view.plan.flagId;
      // a plan is one environment's (issue 26): it goes into the view read in that environment, and into the home
      // view ('') when it is the home's; a plan that names no environment is the home's (a server before issue 26)
      const environment = (view.plan as { environment?: string | null }).environment ?? null;
      const home = qc.getQueryData<Flag>(keys.flag(flagId))?.targetEnvironment;
      const into = environment === null ? [''] : environment === home ? ['', environment] : [environment];
      // an event older than what is shown (a transition published late, or a GET that answered after it) is ignored
      for (const e of into) qc.setQueryData<RolloutView | null>(keys.rollout(flagId, e), (old) => laterRollout(old, view));
      // a view whose environment is not known here (home unknown) is read again rather than guessed
      if (environment !== null && home === undefined) void qc.invalidateQueries({ queryKey: keys.rollout(flagId, '') });
      void qc.invalidateQueries({ queryKey: keys.activeRolloutsAll });
      void qc.invalidateQueries({ queryKey: keys.configurations(flagId) });
      break;
    }
    case 'prediction.created':
    case 'prediction.updated': {
      const prediction = p as unknown as Prediction;
      qc.setQueriesData<Page<Prediction>>({ queryKey: keys.predictionsAll }, (old) => {
        if (!old) return old;
        const i = old.items.findIndex((x) => x.id === prediction.id);
        if (i >= 0) return { ...old, items: old.items.map((x) => (x.id === prediction.id ? prediction : x)) };
        return old;
      });
      void qc.invalidateQueries({ queryKey: keys.predictionsAll });
      break;
    }
    case 'anomaly.detected':
    case 'anomaly.resolved': {
      const a = p as unknown as Anomaly;
      qc.setQueriesData<Page<Anomaly>>({ queryKey: keys.anomaliesAll }, (old) =>
        old ? { ...old, items: old.items.map((x) => (x.id === a.id ? a : x)) } : old);
      void qc.invalidateQueries({ queryKey: keys.anomaliesAll });
      break;
    }
    default:
      break;
  }
}
