import { api } from './client';

export interface Webhook {
  id: string; url: string; events: string[]; environments: string[] | null; format: 'json' | 'slack' | string;
  enabled: boolean; disabledReason: string | null; consecutiveFailures: number; createdBy: string; createdAt: string; updatedAt: string;
}
export interface WebhookAttempt { at: string; statusCode: number | null; durationMs: number; error: string | null }
export interface WebhookDelivery {
  id: string; webhookId: string; event: string; state: 'pending' | 'delivered' | 'failed' | string; attempts: number;
  lastStatusCode: number | null; createdAt: string; deliveredAt: string | null; nextAttemptAt: string | null; attemptLog: WebhookAttempt[];
}
export interface CreateWebhookInput { url: string; events: string[]; environments?: string[]; secret: string; format: 'json' | 'slack' }

export const webhookEvents = [
  'flag.created', 'flag.changed', 'flag.deleted', 'anomaly.opened', 'anomaly.resolved', 'rollout.updated',
  'change_request.created', 'change_request.decided',
];

const call = <T>(method: string, path: string, body?: unknown) => api.call<T>(method, path, body);

export const webhooksApi = {
  list: () => call<{ items: Webhook[] }>('GET', '/api/webhooks?limit=500'),
  create: (input: CreateWebhookInput) => call<Webhook>('POST', '/api/webhooks', input),
  remove: (id: string) => call<void>('DELETE', `/api/webhooks/${encodeURIComponent(id)}`),
  enable: (id: string) => call<Webhook>('PATCH', `/api/webhooks/${encodeURIComponent(id)}`, { enabled: true }),
  deliveries: (id: string) => call<{ items: WebhookDelivery[] }>('GET', `/api/webhooks/${encodeURIComponent(id)}/deliveries?limit=50`),
  redeliver: (id: string, deliveryId: string) =>
    call<WebhookDelivery>('POST', `/api/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`),
};
