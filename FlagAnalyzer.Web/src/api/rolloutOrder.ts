import type { RolloutView } from './types';

/**
 * Of two views of a flag's rollout, the one that describes the later state: a later plan (created after) wins over an
 * earlier one, and of the same plan the higher version wins (every transition raises it; at the same version the
 * incoming view wins, its evaluation is at least as fresh). Answers, live events and GETs arrive in any order — a GET
 * sent before the guardian advanced can land after the `rollout.updated` of the advance — and the stepper must never go
 * back to a state the server has left.
 */
export function laterRollout(current: RolloutView | null | undefined, incoming: RolloutView | null): RolloutView | null {
  if (!current || !incoming) return incoming ?? current ?? null;
  const a = current.plan, b = incoming.plan;
  if (a.id !== b.id) {
    const ta = Date.parse(a.createdAt), tb = Date.parse(b.createdAt);
    if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) return tb > ta ? incoming : current;
    return b.id > a.id ? incoming : current;
  }
  return b.version >= a.version ? incoming : current;
}
