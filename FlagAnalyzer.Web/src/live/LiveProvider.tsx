import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { HubConnectionBuilder, HubConnectionState, LogLevel, type HubConnection } from '@microsoft/signalr';
import type { LiveEnvelope } from '../api/types';
import { applyLiveEvent } from './events';
import { getApiKey } from '../auth/session';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

type Listener = (e: LiveEnvelope) => void;

export interface Live {
  status: LiveStatus;
  /** Why the connection is not live, for the user. */
  problem: string | null;
  /**
   * Subscribes a hub topic (e.g. `chat:{sessionId}`) until `dispose` is called; `ready` settles once the
   * server has the subscription (or at once when not live: there is nothing to wait for).
   */
  subscribe: (topic: string) => { ready: Promise<void>; dispose: () => void };
  /** Every event, for pages that need more than cache invalidation (chat streaming). */
  listen: (listener: Listener) => () => void;
  /** How often queries poll: never while live, every few seconds while the connection is down. */
  pollInterval: number | false;
}

const LiveContext = createContext<Live>({
  status: 'offline',
  problem: null,
  subscribe: () => ({ ready: Promise.resolve(), dispose: () => {} }),
  listen: () => () => {},
  pollInterval: false,
});

export const useLive = () => useContext(LiveContext);

export interface LiveProviderProps {
  children: ReactNode;
  hubUrl?: string;
  /** Tests pass a fake; the app builds the one real connection. */
  connectionFactory?: (url: string) => HubConnection;
}

const defaultFactory = (url: string) =>
  new HubConnectionBuilder()
    // browsers cannot set headers on a WebSocket: SignalR sends the key as the access_token query parameter there
    .withUrl(url, { accessTokenFactory: () => getApiKey() ?? '' })
    .withAutomaticReconnect([0, 1000, 2000, 5000, 10000, 10000, 30000])
    .configureLogging(LogLevel.Warning)
    .build();

/** One SignalR connection for the whole app; events update TanStack Query's caches. */
export function LiveProvider({ children, hubUrl = '/hubs/live', connectionFactory = defaultFactory }: LiveProviderProps) {
  const qc = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [problem, setProblem] = useState<string | null>(null);
  const connRef = useRef<HubConnection | null>(null);
  const topics = useRef(new Map<string, number>());
  const listeners = useRef(new Set<Listener>());

  useEffect(() => {
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const conn = connectionFactory(hubUrl);
    connRef.current = conn;

    const subscribeAll = async () => {
      await conn.invoke('Subscribe', 'all');
      for (const t of topics.current.keys()) await conn.invoke('Subscribe', t);
    };

    conn.on('event', (e: LiveEnvelope) => {
      applyLiveEvent(qc, e);
      for (const l of listeners.current) l(e);
    });
    conn.onreconnecting(() => setStatus('reconnecting'));
    conn.onreconnected(async () => {
      try {
        await subscribeAll();
        setStatus('live');
        setProblem(null);
        // events were missed while away: refetch everything on screen
        void qc.invalidateQueries();
      } catch (e) {
        setProblem(String(e));
      }
    });
    conn.onclose((err) => {
      if (stopped) return;
      setStatus('offline');
      setProblem(err ? err.message : 'connection closed');
      retry = setTimeout(start, 5000);
    });

    async function start() {
      if (stopped) return;
      setStatus((s) => (s === 'offline' ? 'connecting' : s));
      try {
        await conn.start();
        await subscribeAll();
        if (stopped) return;
        setStatus('live');
        setProblem(null);
        void qc.invalidateQueries();
      } catch (e) {
        if (stopped) return;
        setStatus('offline');
        setProblem(e instanceof Error ? e.message : String(e));
        if (conn.state === HubConnectionState.Connected) void conn.stop();
        retry = setTimeout(start, 5000);
      }
    }
    // deferred: React StrictMode mounts, unmounts and mounts again; the first mount's timer is cleared before it
    // starts, so no connection is stopped during negotiation (the error each page load logged under Vite)
    retry = setTimeout(start, 0);

    return () => {
      stopped = true;
      clearTimeout(retry);
      connRef.current = null;
      void conn.stop();
    };
  }, [qc, hubUrl, connectionFactory]);

  const value = useMemo<Live>(() => ({
    status,
    problem,
    pollInterval: status === 'live' ? false : 5000,
    subscribe: (topic) => {
      const n = topics.current.get(topic) ?? 0;
      topics.current.set(topic, n + 1);
      const conn = connRef.current;
      const ready = n === 0 && conn?.state === HubConnectionState.Connected
        ? conn.invoke('Subscribe', topic).then(() => {}, () => {})
        : Promise.resolve();
      const dispose = () => {
        const left = (topics.current.get(topic) ?? 1) - 1;
        if (left > 0) { topics.current.set(topic, left); return; }
        topics.current.delete(topic);
        const c = connRef.current;
        if (c?.state === HubConnectionState.Connected) void c.invoke('Unsubscribe', topic).catch(() => {});
      };
      return { ready, dispose };
    },
    listen: (l) => {
      listeners.current.add(l);
      return () => { listeners.current.delete(l); };
    },
  }), [status, problem]);

  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}
