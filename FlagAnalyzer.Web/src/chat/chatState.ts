import type { ChatMessage, ChatMessageEvent, ChatTokenEvent } from '../api/types';

/** What the chat page shows: the finished messages, answers still streaming (by messageId), and whether one is awaited. */
export interface ChatState {
  messages: ChatMessage[];
  streaming: Record<string, string[]>;
  waiting: boolean;
}

export type ChatAction =
  | { type: 'history'; messages: ChatMessage[] }
  | { type: 'reset' }
  | { type: 'sent'; content: string }
  | { type: 'token'; event: ChatTokenEvent }
  | { type: 'message'; event: ChatMessageEvent }
  | { type: 'reply'; content: string; source: string }
  | { type: 'failed' };

export const emptyChat: ChatState = { messages: [], streaming: {}, waiting: false };

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'history':
      return { ...emptyChat, messages: action.messages };
    case 'reset':
      return emptyChat;
    case 'sent':
      return { ...state, waiting: true, messages: [...state.messages, { role: 'user', content: action.content, createdAt: new Date().toISOString() }] };
    case 'token': {
      if (!state.waiting) return state;
      const { messageId, index, token } = action.event;
      // tokens carry their index: place each where it belongs, whatever order they arrive in
      const tokens = [...(state.streaming[messageId] ?? [])];
      tokens[index] = token;
      return { ...state, streaming: { ...state.streaming, [messageId]: tokens } };
    }
    case 'message': {
      const e = action.event;
      if (e.role !== 'assistant') return state;
      if (state.messages.some((m) => m.messageId === e.messageId)) return state;
      const { [e.messageId]: _done, ...rest } = state.streaming;
      // the event may come just after the POST's reply, which already shows this answer: adopt its id
      const last = state.messages[state.messages.length - 1];
      if (last?.role === 'assistant' && !last.messageId && last.content.trim() === e.content.trim()) {
        return { ...state, streaming: rest, messages: [...state.messages.slice(0, -1), { ...last, messageId: e.messageId }] };
      }
      return {
        ...state,
        streaming: rest,
        messages: [...state.messages, { role: 'assistant', content: e.content, source: e.source, createdAt: e.createdAt, messageId: e.messageId }],
      };
    }
    case 'reply': {
      // the POST's answer ends the turn; the chat.message event may have delivered the same text already
      const last = state.messages[state.messages.length - 1];
      const already = last?.role === 'assistant' && last.content.trim() === action.content.trim();
      return {
        messages: already ? state.messages : [...state.messages, { role: 'assistant', content: action.content, source: action.source, createdAt: new Date().toISOString() }],
        streaming: {},
        waiting: false,
      };
    }
    case 'failed':
      return { ...state, streaming: {}, waiting: false };
  }
}

/** The text of each answer being streamed, in arrival order of their first token. */
export function streamingText(state: ChatState): { messageId: string; text: string }[] {
  return Object.entries(state.streaming).map(([messageId, tokens]) => ({ messageId, text: tokens.join('') }));
}

export const sessionStorageKey = 'flaganalyzer.chat.sessionId';

export function newSessionId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
