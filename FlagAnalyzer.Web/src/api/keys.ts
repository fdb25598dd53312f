import type { FlagFilter } from './client';

/**
 * TanStack Query keys: the live event handler invalidates by these prefixes. A flag-scoped key ends with the
 * environment it was read in ('' = the flag's home); without it, it is the prefix of every environment's.
 */
const inEnvironment = <T extends readonly unknown[]>(key: T, environment?: string) =>
  environment === undefined ? key : ([...key, environment] as const);

export const keys = {
  flagsAll: ['flags'] as const,
  flags: (f: FlagFilter) => ['flags', f] as const,
  flag: (id: string) => ['flag', id] as const,
  changesAll: ['changes'] as const,
  changes: (flagId: string, environment?: string) => inEnvironment(['changes', flagId] as const, environment),
  metrics: (flagId: string, environment?: string) => inEnvironment(['metrics', flagId] as const, environment),
  predictionsAll: ['predictions'] as const,
  predictions: (o: { flagId?: string; limit?: number; environment?: string }) => ['predictions', o] as const,
  anomaliesAll: ['anomalies'] as const,
  anomalies: (o: { status?: string; flagId?: string; environment?: string }) => ['anomalies', o] as const,
  activeRolloutsAll: ['rollouts', 'active'] as const,
  activeRollouts: (environment = '') => ['rollouts', 'active', environment] as const,
  rollout: (flagId: string, environment?: string) => inEnvironment(['rollouts', 'flag', flagId] as const, environment),
  /** A flag's configuration in each environment (issue 26). */
  configurations: (flagId: string) => ['configurations', flagId] as const,
  configurationsAll: ['configurations'] as const,
  promotionDiff: (flagId: string, to: string, from: string) => ['promotion-diff', flagId, to, from] as const,
  environmentFlagsAll: ['environment-flags'] as const,
  health: ['health'] as const,
  environments: ['environments'] as const,
  apiKeys: ['api-keys'] as const,
  exposures: (flagId: string, environment?: string) => inEnvironment(['exposures', flagId] as const, environment),
  streams: ['streams'] as const,
  chat: (sessionId: string) => ['chat', sessionId] as const,
};
