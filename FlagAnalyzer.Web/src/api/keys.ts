import type { FlagFilter } from './client';

/** TanStack Query keys: the live event handler invalidates by these prefixes. */
export const keys = {
  flagsAll: ['flags'] as const,
  flags: (f: FlagFilter) => ['flags', f] as const,
  flag: (id: string) => ['flag', id] as const,
  changesAll: ['changes'] as const,
  changes: (flagId: string) => ['changes', flagId] as const,
  metrics: (flagId: string) => ['metrics', flagId] as const,
  predictionsAll: ['predictions'] as const,
  predictions: (o: { flagId?: string; limit?: number }) => ['predictions', o] as const,
  anomaliesAll: ['anomalies'] as const,
  anomalies: (o: { status?: string; flagId?: string }) => ['anomalies', o] as const,
  activeRollouts: ['rollouts', 'active'] as const,
  rollout: (flagId: string) => ['rollouts', 'flag', flagId] as const,
  health: ['health'] as const,
  environments: ['environments'] as const,
  apiKeys: ['api-keys'] as const,
  exposures: (flagId: string) => ['exposures', flagId] as const,
  streams: ['streams'] as const,
  chat: (sessionId: string) => ['chat', sessionId] as const,
};
