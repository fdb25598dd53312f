import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { CreateKeyForm, KeyRow, SecretOnce } from './ApiKeyForms';
import Keys from '../pages/Keys';
import { ApiError } from '../api/client';
import { json, mockFetch, renderTree } from '../test/utils';
import type { ApiKey, CreatedApiKey, Environment } from '../api/types';

const slow = { timeout: 5000 };
const env = (name: string, retired = false): Environment =>
  ({ name, color: '#64748b', position: 0, retired, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', protected: false, approvalExemptions: [] });
const key = (over: Partial<ApiKey> = {}): ApiKey => ({
  id: 'key_1', prefix: 'fa_abcd1234', name: 'staging reader', role: 'viewer', environment: 'staging', createdBy: 'admin',
  createdAt: '2026-01-01T00:00:00Z', lastUsedAt: null, revokedAt: null, isRevoked: false, ...over,
});

afterEach(() => vi.unstubAllGlobals());

describe('CreateKeyForm', () => {
  it('sends the name, role and environment scope chosen, and offers no retired environment', async () => {
    const onCreate = vi.fn(async () => ({ key: key(), secret: 's' }) as CreatedApiKey);
    render(<CreateKeyForm environments={[env('staging'), env('production'), env('legacy', true)]} onCreate={onCreate} />);
    expect(within(screen.getByTestId('key-environment')).getAllByRole('option').map((o) => o.textContent))
      .toEqual(['every environment', 'staging', 'production']);

    await userEvent.type(screen.getByTestId('key-name'), 'checkout sdk');
    await userEvent.selectOptions(screen.getByTestId('key-role'), 'sdk');
    await userEvent.selectOptions(screen.getByTestId('key-environment'), 'production');
    await userEvent.click(screen.getByTestId('create-key-submit'));
    expect(onCreate).toHaveBeenCalledWith({ name: 'checkout sdk', role: 'sdk', environment: 'production' });
  });

  it('shows the API\'s field messages when it refuses the key', async () => {
    const onCreate = vi.fn(async () => { throw new ApiError(400, 'The request is invalid', undefined, { environment: ['is required for an sdk key'] }); });
    render(<CreateKeyForm environments={[]} onCreate={onCreate} />);
    await userEvent.selectOptions(screen.getByTestId('key-role'), 'sdk');
    await userEvent.click(screen.getByTestId('create-key-submit'));
    expect(await screen.findByTestId('key-errors')).toHaveTextContent('environment: is required for an sdk key');
  });
});

describe('SecretOnce', () => {
  it('shows the secret with a copy button that puts it on the clipboard', async () => {
    const user = userEvent.setup();
    render(<SecretOnce created={{ key: key(), secret: 'fa_abcd1234_secretvalue' }} onDismiss={() => {}} />);
    expect(screen.getByTestId('key-secret')).toHaveTextContent('fa_abcd1234_secretvalue');
    await user.click(screen.getByTestId('copy-secret'));
    expect(await navigator.clipboard.readText()).toBe('fa_abcd1234_secretvalue');
    expect(screen.getByTestId('copy-secret')).toHaveTextContent('Copied');
  });
});

describe('KeyRow', () => {
  const table = (row: React.ReactNode) => <table><tbody>{row}</tbody></table>;

  it('revokes only after confirmation', async () => {
    const onRevoke = vi.fn(async () => undefined);
    render(table(<KeyRow apiKey={key()} onRevoke={onRevoke} />));
    await userEvent.click(screen.getByTestId('revoke-key'));
    expect(onRevoke).not.toHaveBeenCalled();
    await userEvent.click(screen.getByTestId('cancel-revoke'));
    expect(onRevoke).not.toHaveBeenCalled();

    await userEvent.click(screen.getByTestId('revoke-key'));
    await userEvent.click(screen.getByTestId('confirm-revoke'));
    expect(onRevoke).toHaveBeenCalledWith('key_1');
  });

  it('shows role, scope and last use, and a revoked key has no revoke button', () => {
    render(table(<KeyRow apiKey={key({ isRevoked: true, revokedAt: '2026-01-02T00:00:00Z', role: 'editor', environment: null })} onRevoke={vi.fn()} />));
    expect(screen.getByTestId('key-row-role')).toHaveTextContent('editor');
    expect(screen.getByTestId('key-row-scope')).toHaveTextContent('every environment');
    expect(screen.getByTestId('key-row-revoked')).toBeInTheDocument();
    expect(screen.queryByTestId('revoke-key')).toBeNull();
    expect(screen.getByTestId('key-row')).toHaveTextContent('never');
  });
});

describe('Keys page', () => {
  it('creates a key through the API, shows its secret once, and lists it', async () => {
    let keys: ApiKey[] = [];
    const fetch = mockFetch((url, init) => {
      if (url.pathname === '/api/environments') return json({ items: [env('staging')] });
      if (url.pathname === '/api/keys' && init?.method === 'POST') {
        const body = JSON.parse(String(init.body)) as { name: string; role: ApiKey['role']; environment: string | null };
        const created = key({ id: 'key_2', name: body.name, role: body.role, environment: body.environment });
        keys = [...keys, created];
        return json({ key: created, secret: 'fa_new_secret' }, 201);
      }
      if (url.pathname === '/api/keys') return json({ items: keys, nextCursor: null });
    });
    render(renderTree(<Keys />).ui);
    await screen.findByTestId('keys-empty', {}, slow);
    await waitFor(() => expect(within(screen.getByTestId('key-environment')).getAllByRole('option')).toHaveLength(2), slow);

    await userEvent.type(screen.getByTestId('key-name'), 'qa viewer');
    await userEvent.selectOptions(screen.getByTestId('key-environment'), 'staging');
    await userEvent.click(screen.getByTestId('create-key-submit'));

    expect(await screen.findByTestId('key-secret', {}, slow)).toHaveTextContent('fa_new_secret');
    const row = await screen.findByTestId('key-row', {}, slow);
    expect(within(row).getByTestId('key-row-scope')).toHaveTextContent('staging');
    const post = fetch.mock.calls.find(([u, i]) => String(u).endsWith('/api/keys') && i?.method === 'POST')!;
    expect(JSON.parse(String(post[1]!.body))).toEqual({ name: 'qa viewer', role: 'viewer', environment: 'staging' });

    await userEvent.click(screen.getByTestId('dismiss-secret'));
    expect(screen.queryByTestId('key-secret')).toBeNull();
  });
});
