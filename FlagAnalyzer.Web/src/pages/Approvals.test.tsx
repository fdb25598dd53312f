import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { act } from 'react';
import Approvals from './Approvals';
import { Layout } from '../components/Layout';
import { PendingApproval } from '../components/PendingApproval';
import { AuthGate } from '../auth/AuthGate';
import type { Api } from '../api/client';
import { fakeConnection, json, mockFetch, renderTree } from '../test/utils';
import { Route, Routes } from 'react-router';

afterEach(() => vi.unstubAllGlobals());

/** Generous: the machine is shared, and the first render loads the modules. */
const slow = { timeout: 5000 };

const me = (keyId: string, role = 'editor') => ({ me: async () => ({ keyId, name: keyId, role, environment: null, authMode: 'enabled' }) }) as unknown as Api;

const request = (id: string, authorKeyId: string, state = 'pending') => ({
  id, state, environment: 'production', flag: { id: 'flg_1', key: 'checkout', name: 'checkout' },
  diff: [{ field: 'rolloutPercentage', from: 10, to: 50 }], patch: { rolloutPercentage: 50 }, baseVersion: 3,
  author: { keyId: authorKeyId, name: `${authorKeyId} (editor)` }, changedBy: 'web-ui', createdAt: '2026-01-01T00:00:00Z',
  decidedBy: null, decidedAt: null, comment: null, appliedChangeId: null,
});

describe('Approvals inbox', { timeout: 30_000 }, () => {
  it('shows the diff, approves another key\'s request, and refetches when a change_request event arrives', async () => {
    let items = [request('cr_1', 'key_author')];
    const fetch = mockFetch((url, init) => {
      if (url.pathname === '/api/change-requests/cr_1/approve' && init?.method === 'POST') {
        items = [{ ...request('cr_1', 'key_author', 'applied') }];
        return json(items[0]);
      }
      if (url.pathname === '/api/change-requests') return json({ items: items.filter((r) => url.searchParams.get('state') !== 'pending' || r.state === 'pending'), nextCursor: null });
      return undefined;
    });
    const live = fakeConnection();
    render(renderTree(<AuthGate api={me('key_approver')}><Approvals /></AuthGate>, live.conn).ui);
    const card = await screen.findByTestId('change-request-cr_1', {}, slow);
    expect(within(card).getByTestId('diff-row-rolloutPercentage')).toHaveTextContent('10');
    expect(within(card).getByTestId('diff-row-rolloutPercentage')).toHaveTextContent('50');
    await userEvent.click(within(card).getByTestId('approve-cr_1'));
    await waitFor(() => expect(fetch.mock.calls.some(([u, i]) => String(u).endsWith('/api/change-requests/cr_1/approve') && i?.method === 'POST')).toBe(true), slow);
    expect(await screen.findByTestId('approvals-empty', {}, slow)).toBeInTheDocument();

    // another key's new request arrives live
    items = [request('cr_2', 'key_other')];
    const before = fetch.mock.calls.length;
    act(() => live.emit('change_request.created', items[0]));
    expect(await screen.findByTestId('change-request-cr_2', {}, slow)).toBeInTheDocument();
    expect(fetch.mock.calls.length).toBeGreaterThan(before);
  });

  it('sends the reject comment, and offers the author only a withdraw (four eyes)', async () => {
    const fetch = mockFetch((url, init) => {
      if (url.pathname.endsWith('/reject') && init?.method === 'POST') return json({ ...request('cr_1', 'key_author', 'rejected'), comment: 'not now' });
      if (url.pathname === '/api/change-requests') return json({ items: [request('cr_1', 'key_author'), request('cr_mine', 'key_me')], nextCursor: null });
      return undefined;
    });
    render(renderTree(<AuthGate api={me('key_me')}><Approvals /></AuthGate>).ui);
    const mine = await screen.findByTestId('change-request-cr_mine', {}, slow);
    expect(within(mine).queryByTestId('approve-cr_mine')).toBeNull();
    expect(within(mine).getByTestId('cancel-cr_mine')).toBeInTheDocument();

    await userEvent.type(screen.getByTestId('comment-cr_1'), 'not now');
    await userEvent.click(screen.getByTestId('reject-cr_1'));
    await waitFor(() => {
      const post = fetch.mock.calls.find(([u, i]) => String(u).endsWith('/api/change-requests/cr_1/reject') && i?.method === 'POST');
      expect(post && JSON.parse(String(post[1]!.body))).toEqual({ comment: 'not now' });
    }, slow);
  });

  it('counts in the header badge only the pending requests this key may decide', async () => {
    mockFetch((url) => {
      if (url.pathname === '/api/change-requests')
        return json({ items: [request('cr_1', 'key_a'), request('cr_2', 'key_b'), request('cr_3', 'key_me')], nextCursor: null });
      return undefined;
    });
    render(renderTree(<AuthGate api={me('key_me')}><Routes><Route path="/" element={<Layout />} /></Routes></AuthGate>).ui);
    expect(await screen.findByTestId('approvals-badge', {}, slow)).toHaveTextContent('2');
  });

  it('marks a flag\'s environment row pending approval, for that flag and environment only', async () => {
    const fetch = mockFetch((url) => {
      if (url.pathname === '/api/change-requests')
        return json({ items: url.searchParams.get('environment') === 'production' ? [request('cr_1', 'key_a')] : [], nextCursor: null });
      return undefined;
    });
    render(renderTree(<AuthGate api={me('key_me')}><PendingApproval flagId="flg_1" environment="production" /><PendingApproval flagId="flg_1" environment="staging" /></AuthGate>).ui);
    expect(await screen.findByTestId('pending-approval-production', {}, slow)).toHaveTextContent('pending approval');
    expect(screen.queryByTestId('pending-approval-staging')).toBeNull();
    expect(fetch.mock.calls.some(([u]) => String(u).includes('flagId=flg_1'))).toBe(true);
  });
});
