import type {
  Anomaly, AnomalyStatus, ApiKey, ChangeResponse, CreateApiKeyInput, CreatedApiKey, EnvironmentList, ChatHistory, ChatReply, CreateFlagInput, Evaluation, Flag, FlagChange,
  FlagExposures, Health, MetricSample, MetricSampleInput, MetricsAccepted, Page, PatchFlagInput, Prediction, RolloutAction,
  RolloutStage, RolloutView, ServiceInfo, StreamCounts, WhoAmI,
} from './types';
import type {
  ConfigurationOutcome, ConfigurationPatch, EnvironmentFlagList, FlagConfiguration, FlagConfigurationList, PendingChangeRequest, PromotionDiff,
} from './environments';
import { clearApiKey, getApiKey } from '../auth/session';

/**
 * An API failure as the user should see it: the status, the problem's title/detail, and the messages per
 * field of a validation problem (`errors: { field: [messages] }`).
 */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly fieldErrors: Record<string, string[]>;

  constructor(status: number, title: string, detail?: string, fieldErrors: Record<string, string[]> = {}) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.fieldErrors = fieldErrors;
  }

  /** The messages for one field, also matching nested names like `newValue.name` or `[3].errorRate`. */
  forField(field: string): string[] {
    return Object.entries(this.fieldErrors)
      .filter(([k]) => k.toLowerCase() === field.toLowerCase() || k.toLowerCase().endsWith(`.${field.toLowerCase()}`))
      .flatMap(([, v]) => v);
  }
}

/** Turns any thrown value into text a person can read. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    const fields = Object.entries(e.fieldErrors).map(([k, v]) => `${k} ${v.join(', ')}`);
    return [e.detail ?? e.title, ...fields].filter(Boolean).join(' — ');
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

type Fetch = typeof fetch;

async function readProblem(res: Response, what: string): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  // a bare 404/405 without a problem body means the endpoint itself is missing (e.g. an older server behind the same UI)
  const missing = res.status === 404 || res.status === 405 ? `${what} is not available on this server` : undefined;
  try {
    const p = JSON.parse(text) as { title?: string; detail?: string; errors?: Record<string, string[]> };
    return new ApiError(res.status, p.title ?? (res.statusText || `HTTP ${res.status}`), p.detail ?? (p.errors ? undefined : missing), p.errors ?? {});
  } catch {
    return new ApiError(res.status, res.statusText || `HTTP ${res.status}`, text ? text.slice(0, 300) : missing);
  }
}

function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface FlagFilter {
  environment?: string;
  owner?: string;
  tag?: string;
  q?: string;
  enabled?: boolean;
  limit?: number;
  cursor?: string;
}

export interface ApiOptions {
  /** The key sent as `Authorization: Bearer`; default: the tab's key (sessionStorage). */
  getKey?: () => string | null;
  /** Called when the API refuses the key (401); default: forget it, so the login page shows. */
  onUnauthorized?: () => void;
}

/** The one place that knows the API's URLs. `base` is '' in the browser (same origin or the Vite proxy). */
export function createApi(base = '', fetchImpl: Fetch = (...a) => fetch(...a), options: ApiOptions = {}) {
  const { getKey = getApiKey, onUnauthorized = clearApiKey } = options;
  const auth = (): Record<string, string> => {
    const key = getKey();
    return key ? { Authorization: `Bearer ${key}` } : {};
  };

  async function request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    return (await send<T>(method, path, body, headers)).body;
  }

  /** A request whose success status matters (202 = accepted for approval, not applied). */
  async function send<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    let res: Response;
    try {
      res = await fetchImpl(base + path, {
        method,
        // X-Requested-With: a header no cross-site form can send, which the API asks of every state change without a JSON body
        headers: { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest', ...auth(), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new ApiError(0, 'The API is unreachable', e instanceof Error ? e.message : String(e));
    }
    if (res.status === 401 && getKey()) onUnauthorized();
    if (!res.ok) throw await readProblem(res, `${method} ${path.split('?')[0]}`);
    if (res.status === 204) return { status: 204, body: undefined as T };
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  const flagPath = (idOrName: string) => `/api/flags/${encodeURIComponent(idOrName)}`;
  const configurationPath = (idOrName: string, environment: string) => `${flagPath(idOrName)}/environments/${encodeURIComponent(environment)}`;
  /** A protected environment answers 202 `{ changeRequest }` (issue 27) instead of the applied configuration. */
  const outcome = (r: { status: number; body: unknown }): ConfigurationOutcome =>
    r.status === 202 && r.body && typeof r.body === 'object' && 'changeRequest' in r.body
      ? { kind: 'pending', changeRequest: (r.body as { changeRequest: PendingChangeRequest }).changeRequest }
      : { kind: 'applied', configuration: r.body as FlagConfiguration };

  return {
    serviceInfo: () => request<ServiceInfo>('GET', '/'),
    /** Who the key is, and whether the API checks keys at all (`authMode`). */
    me: () => request<WhoAmI>('GET', '/api/auth/me'),
    health: async (): Promise<Health> => {
      // /health answers 503 with the same JSON body when a check is unhealthy: that is data, not an error
      const res = await fetchImpl(base + '/health', { headers: { Accept: 'application/json', ...auth() } });
      const text = await res.text();
      try {
        return JSON.parse(text) as Health;
      } catch {
        throw new ApiError(res.status, 'Health is unavailable', text.slice(0, 200));
      }
    },

    listEnvironments: () => request<EnvironmentList>('GET', '/api/environments'),

    listKeys: (limit = 200) => request<Page<ApiKey>>('GET', `/api/keys${query({ limit })}`),
    /** The answer holds the secret: shown once, never stored by the UI. */
    createKey: (input: CreateApiKeyInput) => request<CreatedApiKey>('POST', '/api/keys', input),
    revokeKey: (id: string) => request<ApiKey>('POST', `/api/keys/${encodeURIComponent(id)}/revoke`),

    listFlags: (f: FlagFilter = {}) => request<Page<Flag>>('GET', `/api/flags${query({ ...f })}`),
    getFlag: (idOrName: string) => request<Flag>('GET', `/api/flags/${encodeURIComponent(idOrName)}`),
    createFlag: (input: CreateFlagInput) => request<Flag>('POST', '/api/flags', input),
    patchFlag: (idOrName: string, patch: PatchFlagInput, version?: number) =>
      request<Flag>('PATCH', `/api/flags/${encodeURIComponent(idOrName)}`, patch,
        version !== undefined ? { 'If-Match': `"${version}"` } : {}),
    deleteFlag: (idOrName: string) => request<void>('DELETE', `/api/flags/${encodeURIComponent(idOrName)}`),
    /** The seed's change record (enable/disable/rollout): returns the change and its prediction. */
    recordChange: (body: {
      flagId: string; flagName?: string; changeType: string; previousValue?: unknown; newValue?: unknown;
      changedBy?: string; environment?: string;
    }) => request<ChangeResponse>('POST', '/api/flags/change', body),
    listChanges: (idOrName: string, limit = 100, environment?: string) =>
      request<Page<FlagChange>>('GET', `/api/flags/${encodeURIComponent(idOrName)}/changes${query({ limit, environment })}`),
    listRecentChanges: (limit = 20) => request<Page<FlagChange>>('GET', `/api/flags/changes${query({ limit })}`),

    /** OFREP single evaluation; evaluation errors (400/404 with key + errorCode) are answers, not failures. */
    evaluate: async (key: string, context: Record<string, unknown>): Promise<Evaluation> => {
      let res: Response;
      try {
        res = await fetchImpl(`${base}/ofrep/v1/evaluate/flags/${encodeURIComponent(key)}`, {
          method: 'POST',
          headers: { Accept: 'application/json', ...auth(), 'Content-Type': 'application/json' },
          body: JSON.stringify({ context }),
        });
      } catch (e) {
        throw new ApiError(0, 'The API is unreachable', e instanceof Error ? e.message : String(e));
      }
      const text = await res.text();
      try {
        const body = JSON.parse(text) as Evaluation;
        if (res.ok || body.errorCode) return body;
      } catch { /* not an OFREP body */ }
      throw new ApiError(res.status, res.statusText || `HTTP ${res.status}`, text.slice(0, 300) || undefined);
    },
    exposures: (idOrName: string, minutes = 1440, environment?: string) =>
      request<FlagExposures>('GET', `/api/flags/${encodeURIComponent(idOrName)}/exposures${query({ minutes, environment })}`),

    streamCounts: () => request<StreamCounts>('GET', '/api/streams'),
    recordMetrics: (samples: MetricSampleInput | MetricSampleInput[]) => request<MetricsAccepted>('POST', '/api/metrics', samples),
    listMetrics: (idOrName: string, opts: { since?: string; limit?: number; environment?: string } = {}) =>
      request<Page<MetricSample>>('GET', `/api/flags/${encodeURIComponent(idOrName)}/metrics${query({ ...opts })}`),

    listPredictions: (opts: { flagId?: string; riskLevel?: string; limit?: number; environment?: string } = {}) =>
      request<Page<Prediction>>('GET', `/api/predictions${query({ ...opts })}`),
    analyze: (flagId: string) => request<unknown>('POST', '/api/analyze', { flagId }),

    listAnomalies: (opts: { status?: AnomalyStatus | 'open' | 'all'; flagId?: string; limit?: number; environment?: string } = {}) =>
      request<Page<Anomaly>>('GET', `/api/anomalies${query({ ...opts })}`),
    acknowledgeAnomaly: (id: string, acknowledgedBy = 'web-ui') =>
      request<Anomaly>('POST', `/api/anomalies/${encodeURIComponent(id)}/acknowledge`, { acknowledgedBy }),

    /** A flag's rollout plan, or null when it has none. */
    getRollout: async (idOrName: string, environment?: string): Promise<RolloutView | null> => {
      try {
        return await request<RolloutView>('GET', `/api/flags/${encodeURIComponent(idOrName)}/rollout${query({ environment })}`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404 && e.title === 'Rollout not found') return null;
        throw e;
      }
    },
    /** Saves a pending plan; no stages means the default 1 → 5 → 25 → 50 → 100 %. */
    saveRollout: (idOrName: string, stages?: RolloutStage[], changedBy = 'web-ui', environment?: string) =>
      request<RolloutView>('PUT', `/api/flags/${encodeURIComponent(idOrName)}/rollout${query({ environment })}`, { stages, changedBy }),
    rolloutAction: (idOrName: string, action: RolloutAction, changedBy = 'web-ui', environment?: string) =>
      request<RolloutView>('POST', `/api/flags/${encodeURIComponent(idOrName)}/rollout/${action}${query({ changedBy, environment })}`),
    listActiveRollouts: (environment?: string) => request<Page<RolloutView>>('GET', `/api/rollouts${query({ environment })}`),

    /** Issue 26: the flag's configuration in each environment, in promotion order. */
    listConfigurations: (idOrName: string) => request<FlagConfigurationList>('GET', `${flagPath(idOrName)}/environments`),
    getConfiguration: (idOrName: string, environment: string) => request<FlagConfiguration>('GET', configurationPath(idOrName, environment)),
    /** With `version`, a stale configuration is refused (412) rather than overwritten. */
    patchConfiguration: async (idOrName: string, environment: string, patch: ConfigurationPatch, version?: number, changedBy = 'web-ui') =>
      outcome(await send<unknown>('PATCH', `${configurationPath(idOrName, environment)}${query({ changedBy })}`, patch,
        version !== undefined ? { 'If-Match': `"${version}"` } : {})),
    promotionDiff: (idOrName: string, to: string, from: string) =>
      request<PromotionDiff>('GET', `${configurationPath(idOrName, to)}/promote${query({ from })}`),
    promote: async (idOrName: string, to: string, from: string, changedBy = 'web-ui') =>
      outcome(await send<unknown>('POST', `${configurationPath(idOrName, to)}/promote${query({ changedBy })}`, { from })),
    /** Every flag with its configuration in one environment. */
    listEnvironmentFlags: (environment: string) =>
      request<EnvironmentFlagList>('GET', `/api/environments/${encodeURIComponent(environment)}/flags`),

    /**
     * One JSON request with this client's key, headers and problem handling, for the clients of capabilities kept in
     * their own files (change requests, webhooks): one way to talk to the API, not a copy per file.
     */
    call: request,

    chat: (message: string, sessionId?: string) => request<ChatReply>('POST', '/api/chat', { message, sessionId }),
    chatHistory: (sessionId: string) => request<ChatHistory>('GET', `/api/chat/${encodeURIComponent(sessionId)}`),
  };
}

export type Api = ReturnType<typeof createApi>;

export const api: Api = createApi();
