// The API's wire shapes (camelCase JSON, ISO-8601 UTC times). Mirrors FlagAnalyzer.Api's records.

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Flag {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  rolloutPercentage: number;
  targetEnvironment: string;
  owner: string;
  tags: string[];
  autoRollback: boolean;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface CreateFlagInput {
  name: string;
  description?: string;
  enabled?: boolean;
  rolloutPercentage?: number;
  targetEnvironment?: string;
  owner?: string;
  tags?: string[];
  autoRollback?: boolean;
  changedBy?: string;
}

export type PatchFlagInput = Partial<CreateFlagInput>;

export type ChangeType = 'created' | 'enabled' | 'disabled' | 'rollout_changed' | 'updated' | 'deleted' | 'rolled_back';

export interface FlagChange {
  id: string;
  flagId: string;
  flagName: string;
  changeType: ChangeType;
  previousValue: Record<string, unknown> | null;
  newValue: Record<string, unknown> | null;
  changedBy: string;
  environment: string;
  timestamp: string;
  predictionId: string | null;
  reason: string | null;
}

export interface MetricSample {
  id?: number;
  flagId: string;
  timestamp?: string;
  cohort?: 'treatment' | 'control' | null;
  errorRate: number;
  latencyP50: number;
  latencyP99: number;
  requestCount: number;
  conversionRate?: number | null;
  userSatisfactionScore?: number | null;
}

export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';

export interface Prediction {
  id: string;
  flagId: string;
  changeId: string | null;
  riskLevel: RiskLevel;
  riskScore: number;
  predictedImpact: { errorRateChange: number; latencyChange: number; userImpact: string };
  recommendations: string[];
  confidence: number;
  reasoning: string;
  evidence: Record<string, unknown>;
  source: string;
  createdAt: string;
  updatedAt: string;
}

export type AnomalyStatus = 'active' | 'acknowledged' | 'resolved';

export interface Anomaly {
  id: string;
  flagId: string;
  type: 'error_spike' | 'latency_spike' | 'conversion_drop' | 'satisfaction_drop';
  severity: RiskLevel;
  metric: string;
  baselineValue: number;
  observedValue: number;
  changePercent: number;
  confidence: number;
  pValue: number;
  message: string;
  status: AnomalyStatus;
  detectedAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  changeId: string | null;
}

export interface MetricsAccepted {
  accepted: number;
  anomalies: Anomaly[];
}

export interface ChangeResponse {
  change: FlagChange;
  prediction: Prediction | null;
}

export interface ChatReply {
  sessionId: string;
  reply: string;
  source: string;
}

export interface ChatMessage {
  role: 'user' | 'assistant' | 'system' | string;
  content: string;
  createdAt?: string;
  source?: string | null;
  messageId?: string;
}

/** GET /api/chat/{id}: the session's messages (accepts a bare array or an object with `messages`/`items`). */
export interface ChatHistory {
  sessionId: string;
  messages: ChatMessage[];
}

export interface HealthCheck {
  status: 'Healthy' | 'Degraded' | 'Unhealthy' | string;
  description: string | null;
}

export interface Health {
  status: string;
  totalDurationMs: number;
  checks: Record<string, HealthCheck>;
}

export interface ServiceInfo {
  name: string;
  version: string | null;
  status: string;
  cache: string;
  llm: string;
}

export interface ChatTokenEvent {
  sessionId: string;
  messageId: string;
  index: number;
  token: string;
}

export interface ChatMessageEvent {
  sessionId: string;
  messageId: string;
  role: string;
  content: string;
  source: string | null;
  createdAt: string;
}

export interface LiveEnvelope {
  type: string;
  payload: unknown;
}

export type RolloutState = 'pending' | 'running' | 'paused' | 'completed' | 'rolled_back' | 'aborted';
export type RolloutAction = 'start' | 'pause' | 'resume' | 'abort' | 'promote';

export interface RolloutStage { percentage: number; minDurationSeconds: number; minRequests: number }

export interface RolloutVerdict {
  metric: string; verdict: string; controlValue: number | null; treatmentValue: number | null; changePercent: number | null;
  confidence: number; severity: string | null; note: string;
}

export interface StageProgress { elapsedSeconds: number; secondsLeft: number; controlRequests: number; treatmentRequests: number; requestsLeft: number }

/** GET /api/flags/{idOrName}/rollout and the `rollout.updated` payload. */
export interface RolloutView {
  plan: {
    id: string; flagId: string; stages: RolloutStage[]; state: RolloutState; currentStage: number; startedAt: string | null;
    stageStartedAt: string | null; reason: string | null; createdBy: string; createdAt: string; updatedAt: string; version: number;
  };
  flagName: string;
  /** What the guardian sees now: hold (with why), or the transition it is about to make. */
  evaluation: { action: 'hold' | 'advance' | 'roll_back' | 'pause' | 'complete'; reason: string; verdicts: RolloutVerdict[]; progress: StageProgress | null };
}
