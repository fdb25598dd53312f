// The API's wire shapes (camelCase JSON, ISO-8601 UTC times). The REST shapes are generated: openapi.gen.ts comes
// from openapi.json (a copy of the API's /openapi/v1.json, kept equal by FlagAnalyzer.Tests/Web/OpenApiContractTests)
// on every `npm run build`. This file gives them friendly names; only what OpenAPI does not describe (/health,
// the service root, live events) is written by hand below.
import type { components } from './openapi.gen';

type Schemas = components['schemas'];

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type Flag = Schemas['Flag'];
export type StreamCounts = Schemas['StreamCounts'];
export type CreateFlagInput = Schemas['CreateFlagRequest'];
export type PatchFlagInput = Schemas['PatchFlagRequest'];
export type RecordChangeInput = Schemas['RecordChangeRequest'];
export type FlagChange = Schemas['FlagChange'];
export type ChangeType = FlagChange['changeType'];
export type ChangeResponse = Schemas['ChangeResponse'];

/** An environment of the promotion path (`GET /api/environments`, in order). */
export type Environment = Schemas['EnvironmentResource'];
export type EnvironmentList = Schemas['EnvironmentList'];

/** An API key as listed (never its secret); a created key comes with its secret, this once. */
export type ApiKey = Schemas['ApiKey'];
export type ApiKeyRole = ApiKey['role'];
export type CreatedApiKey = Schemas['CreatedApiKey'];
export type CreateApiKeyInput = Schemas['CreateApiKeyRequest'];

export type MetricSample = Schemas['MetricSample'];
/** POST /api/metrics accepts any of these fields (validation names what is missing). */
export type MetricSampleInput = Schemas['MetricSampleRequest'];
/** A complete sample the UI records (the simulator's): the stored shape without the server's id. */
// environment is the flag's home unless named (issue 26)
export type NewMetricSample = Omit<MetricSample, 'id' | 'cohort' | 'variant' | 'environment'> & Partial<Pick<MetricSample, 'cohort' | 'variant' | 'environment'>>;
export type MetricsAccepted = Schemas['MetricsAccepted'];

export type Prediction = Schemas['Prediction'];
export type RiskLevel = Prediction['riskLevel'];

export type Anomaly = Schemas['Anomaly'];
export type AnomalyStatus = Anomaly['status'];
export type AnalyzeResponse = Schemas['AnalyzeResponse'];

export type ChatReply = Schemas['ChatReply'];
/** A chat message as the UI holds it: the stored record, or one sent or streamed that has no id yet. */
export type ChatMessage = Pick<Schemas['ChatMessageRecord'], 'role' | 'content'>
  & Partial<Pick<Schemas['ChatMessageRecord'], 'messageId' | 'source' | 'createdAt'>>;
/** GET /api/chat/{id}: the session and its messages. */
export type ChatHistory = Schemas['Conversation'];

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

/** `GET /api/auth/me`. */
export interface WhoAmI {
  keyId: string | null;
  name: string;
  role: 'admin' | 'editor' | 'viewer' | 'sdk' | 'ingest' | string;
  environment: string | null;
  authMode: 'enabled' | 'disabled';
}
/** An OFREP evaluation: a value with its variant and reason, or an error code. */
export interface Evaluation {
  key: string;
  value?: unknown;
  variant?: string;
  reason?: string;
  errorCode?: string;
  errorDetails?: string;
}

export interface FlagExposures {
  flagId: string;
  flagKey: string;
  from: string;
  variants: { variant: string; count: number }[];
  series: { minute: string; variant: string; count: number }[];
  srm: {
    defaultVariant: string; offVariant: string; expectedDefaultShare: number; defaultCount: number; offCount: number;
    chiSquared: number; pValue: number; mismatch: boolean; since: string;
  } | null;
}

export type RolloutState = 'pending' | 'running' | 'paused' | 'completed' | 'rolled_back' | 'aborted';
export type RolloutAction = 'start' | 'pause' | 'resume' | 'abort' | 'promote';

export interface RolloutStage { percentage: number; minDurationSeconds: number; minRequests: number }

export interface RolloutVerdict {
  metric: string; verdict: string; controlValue: number | null; treatmentValue: number | null; changePercent: number | null;
  confidence: number; severity: string | null; note: string;
  /** The served treatment variant compared with control; null when the treatment is compared as a whole. */
  variant?: string | null;
}

export interface StageProgress { elapsedSeconds: number; secondsLeft: number; controlRequests: number; treatmentRequests: number; requestsLeft: number }

/** Whether one guardrail has its comparison at the current stage; `waiting` says what is missing ("latency_p99: 2 of 3 samples per cohort"). */
export type GuardrailEvidence = Schemas['GuardrailEvidence'];

/** GET /api/flags/{idOrName}/rollout and the `rollout.updated` payload. */
export interface RolloutView {
  plan: {
    id: string; flagId: string; stages: RolloutStage[]; state: RolloutState; currentStage: number; startedAt: string | null;
    stageStartedAt: string | null; reason: string | null; createdBy: string; createdAt: string; updatedAt: string; version: number;
    /** The metrics the plan chose to guard it; null for the default (error_rate, latency_p99, conversion_rate when reported). */
    guardrails?: string[] | null;
    /** A stage short of evidence pauses after this many times its minimum duration; null for the default (4). */
    evidenceWaitFactor?: number | null;
  };
  flagName: string;
  /** What the guardian sees now: hold (with why), or the transition it is about to make. */
  evaluation: {
    action: 'hold' | 'advance' | 'roll_back' | 'pause' | 'complete'; reason: string; verdicts: RolloutVerdict[]; progress: StageProgress | null;
    /** The variant whose regression decides a roll-back. */
    variant?: string | null;
    /** The metrics guarding the plan now (the default list resolved). */
    guardrails?: string[];
    /** For a running plan, each guardrail's evidence at the current stage: a stage advances only when all are ready. */
    evidence?: GuardrailEvidence[];
  };
}
