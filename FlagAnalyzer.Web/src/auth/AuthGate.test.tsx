import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { AccountMenu, AuthGate } from './AuthGate';
import { createApi } from '../api/client';
import { json } from '../test/utils';
import { KEY_STORAGE_NAME } from './session';

const GOOD = 'fa_abcdefgh_the-right-secret';
const me = (authMode = 'enabled') => ({ keyId: 'key_1', name: 'ops laptop', role: 'editor', environment: null, authMode });

/** An API that knows one key, or checks none when disabled. */
function fakeApi(mode: 'enabled' | 'disabled' = 'enabled') {
  const fetch = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
    const auth = (init?.headers as Record<string, string>)?.Authorization;
    if (mode === 'disabled') return json(me('disabled'));
    return auth === `Bearer ${GOOD}` ? json(me()) : json({ title: 'Unauthorized', status: 401 }, 401);
  });
  return { fetch, api: createApi('', fetch) };
}

function renderGate(api: ReturnType<typeof createApi>) {
  const qc = new QueryClient();
  return render(
    <QueryClientProvider client={qc}>
      <AuthGate api={api}><p>the app</p><AccountMenu /></AuthGate>
    </QueryClientProvider>,
  );
}

describe('login', () => {
  beforeEach(() => sessionStorage.clear());
  afterEach(() => sessionStorage.clear());

  it('asks for a key, sends it as Bearer, keeps it in sessionStorage only, then shows the app', async () => {
    const { fetch, api } = fakeApi();
    renderGate(api);

    // paste, not type: one event instead of one per character keeps the test quick on a loaded machine
    await userEvent.click(await screen.findByTestId('login-key'));
    await userEvent.paste(GOOD);
    await userEvent.click(screen.getByTestId('login-submit'));

    expect(await screen.findByText('the app')).toBeInTheDocument();
    expect(screen.getByTestId('account')).toHaveTextContent('ops laptop · editor');
    expect(sessionStorage.getItem(KEY_STORAGE_NAME)).toBe(GOOD);
    expect(localStorage.length).toBe(0);
    expect((fetch.mock.calls.at(-1)![1]!.headers as Record<string, string>).Authorization).toBe(`Bearer ${GOOD}`);
  });

  it('says so when the key is refused, and does not keep it', async () => {
    const { api } = fakeApi();
    renderGate(api);

    await userEvent.click(await screen.findByTestId('login-key'));
    await userEvent.paste('fa_abcdefgh_wrong');
    await userEvent.click(screen.getByTestId('login-submit'));

    expect(await screen.findByTestId('login-error')).toHaveTextContent('did not accept that key');
    expect(sessionStorage.getItem(KEY_STORAGE_NAME)).toBeNull();
    expect(screen.queryByText('the app')).not.toBeInTheDocument();
  });

  it('comes back signed in from the tab\'s stored key, and logs out', async () => {
    sessionStorage.setItem(KEY_STORAGE_NAME, GOOD);
    const { api } = fakeApi();
    renderGate(api);

    expect(await screen.findByText('the app')).toBeInTheDocument();
    await userEvent.click(screen.getByTestId('logout'));

    expect(await screen.findByTestId('login-page')).toBeInTheDocument();
    expect(sessionStorage.getItem(KEY_STORAGE_NAME)).toBeNull();
  });

  it('shows a red banner and no login when the API checks no keys', async () => {
    const { api } = fakeApi('disabled');
    renderGate(api);

    expect(await screen.findByTestId('auth-disabled-banner')).toHaveTextContent('Authentication is disabled');
    expect(screen.getByText('the app')).toBeInTheDocument();
    expect(screen.queryByTestId('logout')).not.toBeInTheDocument();
  });
});
