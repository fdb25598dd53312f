import { useCallback } from 'react';
import { useSearchParams } from 'react-router';
import { useEnvironments } from '../api/hooks';

/** Where the choice is remembered between pages that drop the query string (a flag's page, a fresh tab). */
export const STORAGE_KEY = 'flaganalyzer.environment';

function remembered(): string {
  try {
    return localStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    return '';
  }
}

/** Remembers a choice without touching the URL (for a page that rewrites its whole query string itself). */
export function rememberEnvironment(name: string) {
  try {
    localStorage.setItem(STORAGE_KEY, name);
  } catch { /* storage disabled: the URL still carries the choice */ }
}

/**
 * The environment every page shows ('' = all), chosen in the header. The URL's `?environment=` wins (a shared link
 * shows what its sender saw) and is what the list endpoints filter by; the last choice is remembered for pages
 * opened without it. A name the caller cannot see (a key scoped elsewhere, a stale choice) counts as all, so a
 * remembered choice never turns every list into a 403.
 */
export function useEnvironmentChoice(): { environment: string; setEnvironment: (name: string) => void } {
  const [params, setParams] = useSearchParams();
  const environments = useEnvironments();
  const fromUrl = params.get('environment');
  const chosen = fromUrl ?? remembered();
  // a link's choice is used at once; a remembered one only once the list confirms this key sees it
  const known = chosen === '' || (environments.data ? environments.data.items.some((e) => e.name === chosen) : fromUrl !== null);
  const environment = known ? chosen : '';

  const setEnvironment = useCallback((name: string) => {
    rememberEnvironment(name);
    setParams((old) => {
      const next = new URLSearchParams(old);
      if (name) next.set('environment', name); else next.delete('environment');
      return next;
    }, { replace: true });
  }, [setParams]);

  return { environment, setEnvironment };
}
