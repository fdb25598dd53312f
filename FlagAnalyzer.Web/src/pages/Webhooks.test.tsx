import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import Webhooks from './Webhooks';
import { json, mockFetch, renderTree } from '../test/utils';

afterEach(() => vi.unstubAllGlobals());

const hook = {
  id: 'wh_1', url: 'https://hooks.example.com/x', events: ['flag.changed'], environments: ['production'], format: 'json',
  enabled: false, disabledReason: 'disabled after 10 failed attempts in a row', consecutiveFailures: 10, createdBy: 'admin',
  createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
};
const delivery = {
  id: 'whd_1', webhookId: 'wh_1', event: 'flag.changed', state: 'failed', attempts: 2, lastStatusCode: 500, createdAt: '2026-01-01T00:00:00Z',
  deliveredAt: null, nextAttemptAt: null, attemptLog: [{ at: '2026-01-01T00:00:00Z', statusCode: 500, durationMs: 12.4, error: null }],
};

describe('Webhooks page', () => {
  it('lists a disabled webhook, shows its delivery log and redelivers', async () => {
    const fetch = mockFetch((url, init) => {
      if (url.pathname === '/api/webhooks') return json({ items: [hook], nextCursor: null });
      if (url.pathname === '/api/webhooks/wh_1/deliveries') return json({ items: [delivery], nextCursor: null });
      if (url.pathname.endsWith('/redeliver') && init?.method === 'POST')
        return json({ ...delivery, id: 'whd_2', state: 'pending' }, 202);
      return undefined;
    });
    render(renderTree(<Webhooks />).ui);
    expect(await screen.findByTestId('webhook-disabled')).toHaveTextContent('disabled after 10 failed attempts');
    await userEvent.click(screen.getByTestId('log-wh_1'));
    expect(await screen.findByTestId('delivery-status')).toHaveTextContent('500');
    expect(screen.getByTestId('delivery-duration')).toHaveTextContent('12 ms');
    await userEvent.click(screen.getByTestId('redeliver-whd_1'));
    await waitFor(() => expect(fetch.mock.calls.some(([u, i]) =>
      String(u).endsWith('/api/webhooks/wh_1/deliveries/whd_1/redeliver') && i?.method === 'POST')).toBe(true));
  });

  it('offers the change-request events and subscribes to them', async () => {
    const fetch = mockFetch((url, init) => {
      if (url.pathname === '/api/webhooks' && init?.method === 'POST') return json({ ...hook, id: 'wh_2' }, 201);
      if (url.pathname === '/api/webhooks') return json({ items: [], nextCursor: null });
      return undefined;
    });
    render(renderTree(<Webhooks />).ui);
    await userEvent.type(await screen.findByTestId('webhook-url'), 'https://hooks.example.com/y');
    await userEvent.type(screen.getByTestId('webhook-secret'), 'a-long-enough-secret-123');
    await userEvent.click(screen.getByTestId('event-change_request.created'));
    await userEvent.click(screen.getByTestId('event-change_request.decided'));
    await userEvent.click(screen.getByTestId('create-webhook-submit'));
    await waitFor(() => expect(fetch.mock.calls.some(([, i]) => i?.method === 'POST')).toBe(true));
    const post = fetch.mock.calls.find(([, i]) => i?.method === 'POST')!;
    expect(JSON.parse(String(post[1]!.body)).events).toEqual(['flag.changed', 'change_request.created', 'change_request.decided']);
  });

  it('creates with the secret in the body once and shows a field error', async () => {
    const fetch = mockFetch((url, init) => {
      if (url.pathname === '/api/webhooks' && init?.method === 'POST')
        return json({ title: 'The request is invalid', status: 400, errors: { url: ['must not resolve to a loopback address'] } }, 400);
      if (url.pathname === '/api/webhooks') return json({ items: [], nextCursor: null });
      return undefined;
    });
    render(renderTree(<Webhooks />).ui);
    await userEvent.type(screen.getByTestId('webhook-url'), 'http://127.0.0.1/x');
    await userEvent.type(screen.getByTestId('webhook-secret'), 'a-long-enough-secret-123');
    await userEvent.click(screen.getByTestId('create-webhook-submit'));
    expect(await screen.findByTestId('error-url')).toHaveTextContent('loopback');
    const post = fetch.mock.calls.find(([, i]) => i?.method === 'POST')!;
    expect(JSON.parse(String(post[1]!.body))).toEqual(expect.objectContaining({ url: 'http://127.0.0.1/x', secret: 'a-long-enough-secret-123', events: ['flag.changed'] }));
  });
});
