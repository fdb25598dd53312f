import { StrictMode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { HubConnectionState, type HubConnection } from '@microsoft/signalr';
import { LiveProvider, useLive } from './LiveProvider';

function fakeConnection() {
  const c = {
    state: HubConnectionState.Disconnected as HubConnectionState,
    on: vi.fn(), onreconnecting: vi.fn(), onreconnected: vi.fn(), onclose: vi.fn(),
    start: vi.fn(async () => { c.state = HubConnectionState.Connected; }),
    stop: vi.fn(async () => { c.state = HubConnectionState.Disconnected; }),
    invoke: vi.fn(async () => undefined),
  };
  return c;
}

function Status() {
  return <span data-testid="status">{useLive().status}</span>;
}

describe('LiveProvider under StrictMode', () => {
  it('starts one connection and never stops one that is negotiating', async () => {
    const made: ReturnType<typeof fakeConnection>[] = [];
    const factory = () => { const c = fakeConnection(); made.push(c); return c as unknown as HubConnection; };
    render(
      <StrictMode>
        <QueryClientProvider client={new QueryClient()}>
          <LiveProvider connectionFactory={factory}><Status /></LiveProvider>
        </QueryClientProvider>
      </StrictMode>,
    );

    await waitFor(() => expect(screen.getByTestId('status')).toHaveTextContent('live'));
    expect(made.map((c) => c.start.mock.calls.length)).toEqual([0, 1]);
    expect(made.filter((c) => c.start.mock.calls.length > 0 && c.stop.mock.calls.length > 0)).toHaveLength(0);
  });
});
