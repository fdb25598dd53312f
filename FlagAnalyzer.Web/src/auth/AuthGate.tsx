import { createContext, useCallback, useContext, useEffect, useRef, useState, useSyncExternalStore, type FormEvent, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Flag, KeyRound, ShieldOff } from 'lucide-react';
import { ApiError, api as defaultApi, errorMessage, type Api } from '../api/client';
import type { WhoAmI } from '../api/types';
import { clearApiKey, getApiKey, onApiKeyChange, setApiKey } from './session';

export interface Auth {
  /** The caller as the API sees it. */
  me: WhoAmI;
  logout: () => void;
}

const AuthContext = createContext<Auth | null>(null);

/** The signed-in caller (inside <AuthGate>), or null in tests that render pages alone. */
export const useAuth = () => useContext(AuthContext);

type State = { kind: 'checking' } | { kind: 'in'; me: WhoAmI } | { kind: 'out'; error?: string };

/**
 * Shows the login page until the API accepts the tab's key (or says it checks none), then the app. A key the API
 * refuses later (revoked) is forgotten by the API client, which brings the login page back.
 */
export function AuthGate({ children, api = defaultApi }: { children: ReactNode; api?: Api }) {
  const key = useSyncExternalStore(onApiKeyChange, getApiKey, () => null);
  const qc = useQueryClient();
  const [state, setState] = useState<State>({ kind: 'checking' });
  // why the last key was refused: the client forgets a refused key at once, and the login page should still say why
  const refusal = useRef<string | undefined>(undefined);

  useEffect(() => {
    let cancelled = false;
    if (key) refusal.current = undefined;
    setState((s) => (s.kind === 'out' ? s : { kind: 'checking' }));
    api.me().then(
      (me) => { if (!cancelled) setState({ kind: 'in', me }); },
      (e: unknown) => {
        const refused = e instanceof ApiError && e.status === 401;
        // recorded even when this check was superseded: the refusal itself cleared the key and started the next one
        if (refused && key) refusal.current = 'The API did not accept that key (unknown or revoked).';
        if (cancelled) return;
        setState({ kind: 'out', error: refused ? refusal.current : errorMessage(e) });
      },
    );
    return () => { cancelled = true; };
  }, [api, key]);

  const logout = useCallback(() => {
    clearApiKey();
    qc.clear();
  }, [qc]);

  if (state.kind === 'checking') return <div role="status" className="p-6 text-sm text-slate-500">Checking access…</div>;
  if (state.kind === 'out') return <LoginPage error={state.error} />;
  return (
    <AuthContext.Provider value={{ me: state.me, logout }}>
      {state.me.authMode === 'disabled' && (
        <div role="alert" data-testid="auth-disabled-banner" className="bg-red-600 px-4 py-2 text-center text-sm font-semibold text-white">
          <ShieldOff className="mr-1 inline h-4 w-4" /> Authentication is disabled on this API (Auth:Mode=disabled): anyone who can reach it can change every flag.
        </div>
      )}
      {children}
    </AuthContext.Provider>
  );
}

export function LoginPage({ error }: { error?: string }) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim()) setApiKey(value);
  };
  return (
    <main className="mx-auto mt-24 max-w-md rounded-xl border border-slate-200 bg-white p-6 shadow-sm" data-testid="login-page">
      <h1 className="mb-1 flex items-center gap-2 text-lg font-bold text-indigo-700"><Flag className="h-5 w-5" /> FlagAnalyzer</h1>
      <p className="mb-4 text-sm text-slate-600">
        Sign in with an API key. It stays in this tab only and is forgotten when you close it. Started with the AppHost?
        The admin key is the <code>admin-key</code> parameter in the Aspire dashboard.
      </p>
      <form onSubmit={submit} className="space-y-3">
        <label className="block text-sm font-medium text-slate-700" htmlFor="api-key">API key</label>
        <input id="api-key" data-testid="login-key" type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)}
          className="w-full rounded-lg border border-slate-300 px-3 py-2 font-mono text-sm" placeholder="fa_…" />
        {error && <p role="alert" data-testid="login-error" className="text-sm text-red-700">{error}</p>}
        <button type="submit" data-testid="login-submit" className="flex items-center gap-1.5 rounded-lg bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-700">
          <KeyRound className="h-4 w-4" /> Sign in
        </button>
      </form>
    </main>
  );
}

/** The caller's name and role, and the way out. */
export function AccountMenu() {
  const auth = useAuth();
  if (!auth) return null;
  const { me, logout } = auth;
  return (
    <span className="flex items-center gap-2 text-xs text-slate-600" data-testid="account">
      <span title={me.keyId ?? undefined}>{me.name} · {me.role}</span>
      {me.authMode !== 'disabled' && (
        <button type="button" data-testid="logout" onClick={logout} className="rounded-md px-2 py-1 font-medium text-slate-700 ring-1 ring-slate-200 hover:bg-slate-100">
          Log out
        </button>
      )}
    </span>
  );
}
