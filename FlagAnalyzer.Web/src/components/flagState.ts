import type { Flag } from '../api/types';

export interface FlagState { text: string; tone: 'on' | 'idle' | 'off'; hint?: string }

/** What the flag's badge says: an enabled flag at 0 % exposes nobody, so it says so and points at the rollout. */
export function flagState(flag: Pick<Flag, 'enabled' | 'rolloutPercentage'>): FlagState {
  if (!flag.enabled) return { text: 'disabled', tone: 'off' };
  if (flag.rolloutPercentage <= 0) {
    return { text: 'enabled for 0 %', tone: 'idle', hint: 'Nobody gets this flag yet: raise the rollout (e.g. to 5 %) to expose it.' };
  }
  return { text: 'enabled', tone: 'on' };
}

export const flagStateClass: Record<FlagState['tone'], string> = {
  on: 'bg-emerald-100 text-emerald-800',
  idle: 'bg-amber-100 text-amber-800',
  off: 'bg-slate-100 text-slate-600',
};
