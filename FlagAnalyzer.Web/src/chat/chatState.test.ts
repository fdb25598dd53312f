import { describe, expect, it } from 'vitest';
import { chatReducer, emptyChat, streamingText, type ChatState } from './chatState';

const token = (index: number, t: string, messageId = 'm1') =>
  ({ type: 'token' as const, event: { sessionId: 's', messageId, index, token: t } });

describe('chat state', () => {
  it('assembles streamed tokens by index, whatever their arrival order', () => {
    let s: ChatState = chatReducer(emptyChat, { type: 'sent', content: 'risks?' });
    s = [token(1, ' risky'), token(0, 'Nothing'), token(2, '.')].reduce(chatReducer, s);
    expect(streamingText(s)).toEqual([{ messageId: 'm1', text: 'Nothing risky.' }]);
  });

  it('ends the turn with the reply and drops the stream', () => {
    let s = chatReducer(emptyChat, { type: 'sent', content: 'risks?' });
    s = chatReducer(s, token(0, 'Noth'));
    s = chatReducer(s, { type: 'reply', content: 'Nothing risky.', source: 'statistical' });
    expect(s.waiting).toBe(false);
    expect(streamingText(s)).toEqual([]);
    expect(s.messages.map((m) => [m.role, m.content])).toEqual([['user', 'risks?'], ['assistant', 'Nothing risky.']]);
  });

  it('shows the answer once when chat.message arrives before the POST returns', () => {
    let s = chatReducer(emptyChat, { type: 'sent', content: 'hi' });
    s = chatReducer(s, { type: 'message', event: { sessionId: 's', messageId: 'm1', role: 'assistant', content: 'Hello.', source: 'statistical', createdAt: '' } });
    s = chatReducer(s, { type: 'reply', content: 'Hello.', source: 'statistical' });
    expect(s.messages.filter((m) => m.role === 'assistant')).toHaveLength(1);
  });

  it('shows the answer once when chat.message arrives just after the POST returned', () => {
    let s = chatReducer(emptyChat, { type: 'sent', content: 'hi' });
    s = chatReducer(s, { type: 'reply', content: 'Hello.', source: 'statistical' });
    s = chatReducer(s, { type: 'message', event: { sessionId: 's', messageId: 'm1', role: 'assistant', content: 'Hello.', source: 'statistical', createdAt: '' } });
    expect(s.messages.filter((m) => m.role === 'assistant')).toEqual([expect.objectContaining({ content: 'Hello.', messageId: 'm1' })]);
  });

  it('ignores stray tokens when no question is waiting', () => {
    expect(chatReducer(emptyChat, token(0, 'x'))).toBe(emptyChat);
  });
});
