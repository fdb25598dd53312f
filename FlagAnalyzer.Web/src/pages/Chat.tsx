import { useCallback, useEffect, useReducer, useRef, useState, type FormEvent } from 'react';
import { Bot, Loader2, MessageSquarePlus, Send, User } from 'lucide-react';
import { api, ApiError } from '../api/client';
import type { ChatMessageEvent, ChatTokenEvent } from '../api/types';
import { chatReducer, emptyChat, newSessionId, sessionStorageKey, streamingText } from '../chat/chatState';
import { useLive } from '../live/LiveProvider';
import { Button, ErrorBanner, Loading, Pill } from '../components/ui';

const suggestions = [
  'What are the current risks with our feature flags?',
  'Are there any active anomalies?',
  'Which flags changed recently?',
];

export default function Chat() {
  const live = useLive();
  const [sessionId, setSessionId] = useState<string | null>(() => localStorage.getItem(sessionStorageKey));
  const [state, dispatch] = useReducer(chatReducer, emptyChat);
  const [input, setInput] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [loadingHistory, setLoadingHistory] = useState(!!sessionId);
  const bottom = useRef<HTMLDivElement>(null);

  // the session survives reloads: load its history from the API
  useEffect(() => {
    if (!sessionId) return;
    let cancelled = false;
    setLoadingHistory(true);
    api.chatHistory(sessionId).then(
      (h) => { if (!cancelled) dispatch({ type: 'history', messages: h.messages }); },
      (e) => {
        if (cancelled) return;
        // an unknown session is simply empty; anything else is worth telling
        if (!(e instanceof ApiError && e.status === 404)) setError(e);
      },
    ).finally(() => { if (!cancelled) setLoadingHistory(false); });
    return () => { cancelled = true; };
  }, [sessionId]);

  // stream this session's answers
  const { subscribe, listen } = live;
  const subscription = useRef<{ topic: string; ready: Promise<void>; dispose: () => void } | null>(null);
  const ensureSubscribed = useCallback((id: string) => {
    const topic = `chat:${id}`;
    if (subscription.current?.topic !== topic) {
      subscription.current?.dispose();
      subscription.current = { topic, ...subscribe(topic) };
    }
    return subscription.current.ready;
  }, [subscribe]);
  useEffect(() => {
    if (sessionId) void ensureSubscribed(sessionId);
  }, [sessionId, ensureSubscribed]);
  useEffect(() => () => subscription.current?.dispose(), []);
  useEffect(() => listen((e) => {
    const p = e.payload as { sessionId?: string };
    if (!sessionId || p?.sessionId !== sessionId) return;
    if (e.type === 'chat.token') dispatch({ type: 'token', event: e.payload as ChatTokenEvent });
    if (e.type === 'chat.message') dispatch({ type: 'message', event: e.payload as ChatMessageEvent });
  }), [listen, sessionId]);

  useEffect(() => { bottom.current?.scrollIntoView?.({ block: 'end' }); }, [state]);

  async function send(text: string) {
    const message = text.trim();
    if (!message || state.waiting) return;
    setError(null);
    let id = sessionId;
    if (!id) {
      id = newSessionId();
      localStorage.setItem(sessionStorageKey, id);
      setSessionId(id);
    }
    // subscribe before asking, so no token is missed
    await ensureSubscribed(id);
    dispatch({ type: 'sent', content: message });
    setInput('');
    try {
      const reply = await api.chat(message, id);
      if (reply.sessionId && reply.sessionId !== id) {
        localStorage.setItem(sessionStorageKey, reply.sessionId);
        setSessionId(reply.sessionId);
      }
      dispatch({ type: 'reply', content: reply.reply, source: reply.source });
    } catch (e) {
      dispatch({ type: 'failed' });
      setError(e);
    }
  }

  function newChat() {
    localStorage.removeItem(sessionStorageKey);
    setSessionId(null);
    setError(null);
    dispatch({ type: 'reset' });
  }

  const streams = streamingText(state);

  return (
    <div className="mx-auto flex h-[calc(100vh-8rem)] max-w-3xl flex-col gap-3" data-testid="chat-page">
      <div className="flex items-center justify-between">
        <h1 className="text-2xl font-bold">AI Chat</h1>
        <div className="flex items-center gap-2">
          {sessionId && <span className="text-xs text-slate-500" data-testid="chat-session">session {sessionId.slice(0, 8)}</span>}
          <Button onClick={newChat} data-testid="new-chat"><MessageSquarePlus className="h-4 w-4" /> New chat</Button>
        </div>
      </div>
      <div className="flex-1 space-y-3 overflow-auto rounded-xl border border-slate-200 bg-white p-4" data-testid="chat-messages">
        {loadingHistory && <Loading what="Loading conversation" />}
        {!loadingHistory && state.messages.length === 0 && streams.length === 0 && (
          <div className="space-y-2 text-sm text-slate-600" data-testid="chat-empty">
            <p>Ask about your flags: risks, anomalies, a flag's state and history.</p>
            <div className="flex flex-wrap gap-2">
              {suggestions.map((s) => <Button key={s} onClick={() => void send(s)}>{s}</Button>)}
            </div>
          </div>
        )}
        {state.messages.map((m, i) => (
          <div key={m.messageId ?? i} data-testid={`chat-message-${m.role}`} className={`flex gap-2 ${m.role === 'user' ? 'justify-end' : ''}`}>
            {m.role !== 'user' && <Bot className="mt-1 h-5 w-5 shrink-0 text-indigo-600" />}
            <div className={`max-w-[80%] whitespace-pre-wrap rounded-xl px-3 py-2 text-sm ${m.role === 'user' ? 'bg-indigo-600 text-white' : 'bg-slate-100 text-slate-900'}`}>
              {m.content}
              {m.source && <div className="mt-1"><Pill className="bg-white/70">{m.source}</Pill></div>}
            </div>
            {m.role === 'user' && <User className="mt-1 h-5 w-5 shrink-0 text-slate-400" />}
          </div>
        ))}
        {streams.map((s) => (
          <div key={s.messageId} data-testid="chat-streaming" className="flex gap-2">
            <Bot className="mt-1 h-5 w-5 shrink-0 text-indigo-600" />
            <div className="max-w-[80%] whitespace-pre-wrap rounded-xl bg-slate-100 px-3 py-2 text-sm">{s.text}<span className="animate-pulse">▍</span></div>
          </div>
        ))}
        {state.waiting && streams.length === 0 && (
          <div className="flex items-center gap-2 text-sm text-slate-500" data-testid="chat-thinking"><Loader2 className="h-4 w-4 animate-spin" /> thinking…</div>
        )}
        <div ref={bottom} />
      </div>
      <ErrorBanner error={error} what="Chat" />
      <form className="flex gap-2" onSubmit={(e: FormEvent) => { e.preventDefault(); void send(input); }}>
        <input data-testid="chat-input" value={input} onChange={(e) => setInput(e.target.value)} placeholder="Ask about risks, anomalies, a flag…"
          className="flex-1 rounded-lg border border-slate-300 px-3 py-2 text-sm focus:border-indigo-500 focus:outline-none" />
        <Button type="submit" variant="primary" disabled={state.waiting || !input.trim()} data-testid="chat-send"><Send className="h-4 w-4" /> Send</Button>
      </form>
    </div>
  );
}
