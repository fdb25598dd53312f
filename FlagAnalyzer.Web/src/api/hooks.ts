import { isHeld } from './changeRequests';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useLive } from '../live/LiveProvider';
import { api, type FlagFilter } from './client';
import { keys } from './keys';
import { laterRollout } from './rolloutOrder';
import type { CreateApiKeyInput, CreateFlagInput, Flag, NewMetricSample, PatchFlagInput, RolloutAction, RolloutView } from './types';

// Server state hooks. While the live connection is down they poll, so the screen never goes stale silently.

export function useFlags(filter: FlagFilter = {}) {
  const { pollInterval } = useLive();
  return useQuery({
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

export function useChanges(flagId: string | undefined) {
  const { pollInterval } = useLive();
  return useQuery({
    queryKey: keys.changes(flagId ?? ''),
    queryFn: () => api.listChanges(flagId!, 200),
    enabled: !!flagId,
    refetchInterval: pollInterval,
  });
}

export function useMetrics(flagId: string | undefined) {
  const { pollInterval } = useLive();
  return useQuery({
    queryKey: keys.metrics(flagId ?? ''),
    queryFn: () => api.listMetrics(flagId!, { limit: 2000 }),
    enabled: !!flagId,
    refetchInterval: pollInterval,
  });
}

export function usePredictions(o: { flagId?: string; limit?: number } = {}) {
  const { pollInterval } = useLive();
  return useQuery({
    queryKey: keys.predictions(o),
    queryFn: () => api.listPredictions(o),
    refetchInterval: pollInterval,
  });
}

export function useAnomalies(o: { status?: 'open' | 'active' | 'acknowledged' | 'resolved' | 'all'; flagId?: string } = {}) {
  const { pollInterval } = useLive();
  return useQuery({
    queryKey: keys.anomalies(o),
    queryFn: () => api.listAnomalies({ ...o, limit: 200 }),
    refetchInterval: pollInterval,
  });
}

export function useExposures(flagId: string | undefined) {
  // counted per minute and flushed in batches: poll, there is no live event per evaluation
  return useQuery({
    queryKey: keys.exposures(flagId ?? ''),
    queryFn: () => api.exposures(flagId!),
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

export function useRollout(flagId: string | undefined) {
  const { pollInterval } = useLive();
  const qc = useQueryClient();
  const key = keys.rollout(flagId ?? '');
  return useQuery({
    queryKey: key,
    // the GET may have been read before a transition whose live event is already shown: keep the later of the two
    queryFn: async () => {
      const answer = await api.getRollout(flagId!);
      return laterRollout(qc.getQueryData<RolloutView | null>(key), answer);
    },
    enabled: !!flagId,
    refetchInterval: pollInterval,
  });
}

export function useActiveRollouts() {
  const { pollInterval } = useLive();
  return useQuery({ queryKey: keys.activeRollouts, queryFn: api.listActiveRollouts, refetchInterval: pollInterval });
}

/** Saves the default plan or acts on it; the answer is the plan itself, put straight into the cache. */
export function useRolloutCommand(flagId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (action: RolloutAction | 'create') => (action === 'create' ? api.saveRollout(flagId) : api.rolloutAction(flagId, action)),
    onSuccess: (view: RolloutView) => {
      qc.setQueryData<RolloutView | null>(keys.rollout(flagId), (old) => laterRollout(old, view));
      void qc.invalidateQueries({ queryKey: keys.activeRollouts });
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
 * The ids of the flags in one environment ('' = no narrowing: null), for lists whose endpoint has no environment
 * filter (anomalies, predictions, rollouts): they are narrowed to these flags. Undefined while loading.
 */
export function useFlagIdsIn(environment: string): Set<string> | null | undefined {
  const flags = useFlags({ environment: environment || undefined, limit: 500 });
  if (!environment) return null;
  return flags.data ? new Set(flags.data.items.map((f) => f.id)) : undefined;
}
