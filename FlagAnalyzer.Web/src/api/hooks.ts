import { isHeld } from './changeRequests';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useLive } from '../live/LiveProvider';
import { api, ApiError, type FlagFilter } from './client';
import { keys } from './keys';
import { laterRollout } from './rolloutOrder';
import type { CreateApiKeyInput, CreateFlagInput, Flag, NewMetricSample, PatchFlagInput, RolloutAction, RolloutView } from './types';
import type { ConfigurationOutcome, ConfigurationPatch, EnvironmentFlag, FlagConfiguration, FlagConfigurationList } from './environments';

// Server state hooks. While the live connection is down they poll, so the screen never goes stale silently.

export function useFlags(filter: FlagFilter = {}, enabled = true) {
  const { pollInterval } = useLive();
  return useQuery({
    enabled,
    queryKey: keys.flags(filter),
    queryFn: () => api.listFlags(filter),
    placeholderData: keepPreviousData,
    refetchInterval: pollInterval,
  });
}

export function useFlag(idOrName: string) {
  const { pollInterval } = useLive();
  return useQuery({ queryKey: keys.flag(idOrName), queryFn: () => api.getFlag(idOrName), refetchInterval: pollInterval });
}

// `environment` of a flag-scoped hook: the environment the header chose ('' = the flag's home, no ?environment=).

export function useChanges(flagId: string | undefined, environment = '') {
  const { pollInterval } = useLive();
  return useQuery({
    queryKey: keys.changes(flagId ?? '', environment),
    queryFn: () => api.listChanges(flagId!, 200, environment || undefined),
    enabled: !!flagId,
    refetchInterval: pollInterval,
  });
}

export function useMetrics(flagId: string | undefined, environment = '') {
  const { pollInterval } = useLive();
  return useQuery({
    queryKey: keys.metrics(flagId ?? '', environment),
    queryFn: () => api.listMetrics(flagId!, { limit: 2000, environment: environment || undefined }),
    enabled: !!flagId,
    refetchInterval: pollInterval,
  });
}

export function usePredictions(o: { flagId?: string; limit?: number; environment?: string } = {}) {
  const { pollInterval } = useLive();
  return useQuery({
    queryKey: keys.predictions(o),
    queryFn: () => api.listPredictions(o),
    refetchInterval: pollInterval,
  });
}

export function useAnomalies(o: { status?: 'open' | 'active' | 'acknowledged' | 'resolved' | 'all'; flagId?: string; environment?: string } = {},
  enabled = true) {
  const { pollInterval } = useLive();
  return useQuery({
    enabled,
    queryKey: keys.anomalies(o),
    queryFn: () => api.listAnomalies({ ...o, limit: 200 }),
    refetchInterval: pollInterval,
  });
}

export function useExposures(flagId: string | undefined, environment = '') {
  // counted per minute and flushed in batches: poll, there is no live event per evaluation
  return useQuery({
    queryKey: keys.exposures(flagId ?? '', environment),
    queryFn: () => api.exposures(flagId!, 1440, environment || undefined),
    enabled: !!flagId,
    refetchInterval: 10000,
  });
}

export function useStreamCounts() {
  // streams open and close without a live event: poll, like exposures
  return useQuery({ queryKey: keys.streams, queryFn: () => api.streamCounts(), refetchInterval: 5000 });
}

/** Saves variants, default/off variant and targeting; validation messages come back per JSON path. */
export function useSaveEvaluation() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { flag: Flag; patch: PatchFlagInput }) => api.patchFlag(v.flag.id, { ...v.patch, changedBy: 'web-ui' }, v.flag.version),
    onSuccess: (flag) => {
      // 202 in a protected environment: a change request waits for approval, the flag is as it was
      if (isHeld(flag)) { void qc.invalidateQueries({ queryKey: ['change-requests'] }); return; }
      qc.setQueryData(keys.flag(flag.id), flag);
      void qc.invalidateQueries({ queryKey: keys.flagsAll });
      void qc.invalidateQueries({ queryKey: keys.changesAll });
    },
  });
}

export function useHealth() {
  // health is not pushed: poll it slowly
  return useQuery({ queryKey: keys.health, queryFn: api.health, refetchInterval: 15000, retry: false });
}

export function useCreateFlag() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (input: CreateFlagInput) => api.createFlag(input),
    onSuccess: (flag) => {
      qc.setQueryData(keys.flag(flag.id), flag);
      void qc.invalidateQueries({ queryKey: keys.flagsAll });
    },
  });
}

/** Enable/disable or move the rollout through the change record, so the API predicts the change's risk. */
export function useChangeFlag() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { flag: Flag; enabled?: boolean; rolloutPercentage?: number }) => {
      const { flag } = v;
      const enabled = v.enabled ?? flag.enabled;
      const rolloutPercentage = v.rolloutPercentage ?? flag.rolloutPercentage;
      const changeType = enabled !== flag.enabled ? (enabled ? 'enabled' : 'disabled') : 'rollout_changed';
      return api.recordChange({
        flagId: flag.id,
        flagName: flag.name,
        changeType,
        previousValue: { enabled: flag.enabled, rolloutPercentage: flag.rolloutPercentage },
        newValue: { enabled, rolloutPercentage },
        changedBy: 'web-ui',
        environment: flag.targetEnvironment,
      });
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: keys.flagsAll });
      void qc.invalidateQueries({ queryKey: ['flag'] });
      void qc.invalidateQueries({ queryKey: keys.changesAll });
      void qc.invalidateQueries({ queryKey: keys.predictionsAll });
    },
  });
}

export function useRecordMetrics() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (samples: NewMetricSample[]) => api.recordMetrics(samples),
    onSuccess: (_r, samples) => {
      for (const id of new Set(samples.map((s) => s.flagId))) void qc.invalidateQueries({ queryKey: keys.metrics(id) });
      void qc.invalidateQueries({ queryKey: keys.anomaliesAll });
    },
  });
}

export function useAcknowledge() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.acknowledgeAnomaly(id),
    onSuccess: () => void qc.invalidateQueries({ queryKey: keys.anomaliesAll }),
  });
}

export function useRollout(flagId: string | undefined, environment = '') {
  const { pollInterval } = useLive();
  const qc = useQueryClient();
  const key = keys.rollout(flagId ?? '', environment);
  return useQuery({
    queryKey: key,
    // the GET may have been read before a transition whose live event is already shown: keep the later of the two
    queryFn: async () => {
      const answer = await api.getRollout(flagId!, environment || undefined);
      return laterRollout(qc.getQueryData<RolloutView | null>(key), answer);
    },
    enabled: !!flagId,
    refetchInterval: pollInterval,
  });
}

export function useActiveRollouts(environment = '') {
  const { pollInterval } = useLive();
  return useQuery({ queryKey: keys.activeRollouts(environment), queryFn: () => api.listActiveRollouts(environment || undefined), refetchInterval: pollInterval });
}

/** Saves the default plan or acts on it; the answer is the plan itself, put straight into the cache. */
export function useRolloutCommand(flagId: string, environment = '') {
  const qc = useQueryClient();
  const env = environment || undefined;
  return useMutation({
    mutationFn: (action: RolloutAction | 'create') => (action === 'create' ? api.saveRollout(flagId, undefined, 'web-ui', env) : api.rolloutAction(flagId, action, 'web-ui', env)),
    onSuccess: (view: RolloutView) => {
      qc.setQueryData<RolloutView | null>(keys.rollout(flagId, environment), (old) => laterRollout(old, view));
      void qc.invalidateQueries({ queryKey: keys.activeRolloutsAll });
      void qc.invalidateQueries({ queryKey: keys.configurations(flagId) });
    },
  });
}

/** The promotion path; environments change rarely and send no live event, so a minute of staleness is fine. */
export function useEnvironments() {
  return useQuery({ queryKey: keys.environments, queryFn: api.listEnvironments, staleTime: 60_000 });
}

export function useApiKeys() {
  return useQuery({ queryKey: keys.apiKeys, queryFn: () => api.listKeys() });
}

export function useCreateApiKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (input: CreateApiKeyInput) => api.createKey(input),
    onSuccess: () => void qc.invalidateQueries({ queryKey: keys.apiKeys }),
  });
}

export function useRevokeApiKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api.revokeKey(id),
    onSuccess: () => void qc.invalidateQueries({ queryKey: keys.apiKeys }),
  });
}

/**
 * The flags a list page shows. For one environment: every flag with that environment's configuration (its on/off,
 * %, version), filtered here by the page's other filters; for all environments (or a server without the route),
 * `GET /api/flags` as before, each flag showing its home configuration. `environment` of the answer says which.
 */
export function useFlagList(filter: FlagFilter) {
  const chosen = filter.environment ?? '';
  const perEnvironment = useEnvironmentFlags(chosen);
  const fallback = !chosen || perEnvironment.data === null;
  const flags = useFlags(filter, fallback);
  if (fallback) return { data: flags.data, error: flags.error, isPending: flags.isPending || (!flags.data && !flags.error), environment: '' };
  const q = filter.q?.toLowerCase();
  // an environment's list shows the flags set up there: those it is home to, and those whose configuration there has
  // been turned on or changed since the flag was created; a flag only carried along (disabled, untouched) is reached
  // from "all environments" and its flag page's rows, so one team's new flags do not crowd every environment's list
  const setUp = (f: EnvironmentFlag) => f.targetEnvironment === chosen || f.enabled || f.version > 1;
  const matches = (f: Flag) => (!q || f.name.toLowerCase().includes(q) || f.description.toLowerCase().includes(q))
    && (!filter.owner || f.owner === filter.owner) && (!filter.tag || f.tags.includes(filter.tag))
    && (filter.enabled === undefined || f.enabled === filter.enabled);
  // shown as the seed-shaped flag it extends; the configuration's version stands where the flag's would
  const all = perEnvironment.data?.items.filter(setUp).map((f): Flag => ({ ...f, eTag: null })).filter(matches);
  const limit = filter.limit ?? all?.length ?? 0;
  const data = all ? { items: all.slice(0, limit), nextCursor: all.length > limit ? String(limit) : null } : undefined;
  return { data, error: perEnvironment.error, isPending: perEnvironment.isPending || (!data && !perEnvironment.error), environment: chosen };
}

/** A flag's configuration in every environment, in promotion order (issue 26). */
export function useConfigurations(flagId: string | undefined) {
  const { pollInterval } = useLive();
  return useQuery({
    queryKey: keys.configurations(flagId ?? ''),
    queryFn: () => api.listConfigurations(flagId!),
    enabled: !!flagId,
    refetchInterval: pollInterval,
  });
}

/** Puts an applied configuration into the flag's rows at once; the rest of what it touches is refetched. */
export function applyConfiguration(qc: ReturnType<typeof useQueryClient>, flagId: string, configuration: FlagConfiguration) {
  qc.setQueryData<FlagConfigurationList>(keys.configurations(flagId), (old) =>
    old ? { ...old, items: old.items.map((c) => (c.environment === configuration.environment && configuration.version >= c.version ? configuration : c)) } : old);
  void qc.invalidateQueries({ queryKey: keys.configurations(flagId) });
  void qc.invalidateQueries({ queryKey: keys.flag(flagId) });
  void qc.invalidateQueries({ queryKey: keys.flagsAll });
  void qc.invalidateQueries({ queryKey: keys.environmentFlagsAll });
  void qc.invalidateQueries({ queryKey: keys.changesAll });
}

/** Changes one environment's configuration, refused (412) if it changed since `version` was read. */
export function usePatchConfiguration(flagId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { environment: string; patch: ConfigurationPatch; version: number }): Promise<ConfigurationOutcome> =>
      api.patchConfiguration(flagId, v.environment, v.patch, v.version),
    onSuccess: (outcome) => {
      if (outcome.kind === 'applied') applyConfiguration(qc, flagId, outcome.configuration);
    },
    onError: (e) => {
      // stale: show what the environment holds now, so the next attempt starts from it
      if (e instanceof ApiError && e.status === 412) void qc.invalidateQueries({ queryKey: keys.configurations(flagId) });
    },
  });
}

/** What promoting `from` into `to` would change; read fresh each time the dialog opens. */
export function usePromotionDiff(flagId: string, to: string, from: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.promotionDiff(flagId, to, from),
    queryFn: () => api.promotionDiff(flagId, to, from),
    enabled,
    staleTime: 0,
    gcTime: 0,
  });
}

export function usePromote(flagId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { to: string; from: string }) => api.promote(flagId, v.to, v.from),
    onSuccess: (outcome) => {
      if (outcome.kind === 'applied') applyConfiguration(qc, flagId, outcome.configuration);
    },
  });
}

/**
 * The flags of one environment with that environment's configuration (`GET /api/environments/{env}/flags`).
 * Against a server without the route (404/405: before issue 26) it answers null, and the caller lists by home.
 */
export function useEnvironmentFlags(environment: string) {
  const { pollInterval } = useLive();
  return useQuery({
    queryKey: [...keys.environmentFlagsAll, environment],
    queryFn: async () => {
      try {
        return await api.listEnvironmentFlags(environment);
      } catch (e) {
        // the route missing altogether (the framework's bare 404/405), not an environment the API says it does not know
        if (e instanceof ApiError && (e.status === 405 || (e.status === 404 && (e.title === 'Not Found' || !!e.detail?.endsWith('is not available on this server'))))) return null;
        throw e;
      }
    },
    enabled: !!environment,
    placeholderData: keepPreviousData,
    refetchInterval: pollInterval,
  });
}
