/**
 * The API key for this tab. It lives only in sessionStorage: gone when the tab closes, never shared with
 * other tabs, never in localStorage or a cookie (a cookie would be sent by forged cross-site requests too).
 */
export const KEY_STORAGE_NAME = 'flaganalyzer.apiKey';

type Listener = () => void;
const listeners = new Set<Listener>();

function storage(): Storage | undefined {
  try {
    return typeof window !== 'undefined' ? window.sessionStorage : undefined;
  } catch {
    return undefined; // storage disabled: the user logs in again on every load
  }
}

export function getApiKey(): string | null {
  return storage()?.getItem(KEY_STORAGE_NAME) ?? null;
}

export function setApiKey(key: string) {
  storage()?.setItem(KEY_STORAGE_NAME, key.trim());
  listeners.forEach((l) => l());
}

export function clearApiKey() {
  storage()?.removeItem(KEY_STORAGE_NAME);
  listeners.forEach((l) => l());
}

/** Called whenever the key is set or cleared (login, logout, or the API refusing it). */
export function onApiKeyChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => { listeners.delete(listener); };
}
