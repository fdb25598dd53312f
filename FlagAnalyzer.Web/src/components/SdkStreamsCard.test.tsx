import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import { SdkStreamsCard } from './SdkStreamsCard';
import { json, mockFetch, renderTree } from '../test/utils';
import type { Flag } from '../api/types';

const flag: Flag = {
  id: 'flg_1', name: 'checkout', key: 'checkout', description: '', enabled: true, rolloutPercentage: 100,
  targetEnvironment: 'production', owner: '', tags: [], autoRollback: false,
  createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', version: 2,
  variants: null, defaultVariant: 'on', offVariant: 'off', targeting: null, rules: null, eTag: null,
};

afterEach(() => vi.unstubAllGlobals());

describe('SdkStreamsCard', () => {
  it("shows the streams of the flag's environment and of all-environment keys, not another environment's", async () => {
    mockFetch((url) => url.pathname === '/api/streams'
      ? json({
        scope: 'replica', total: 12,
        environments: [{ environment: null, streams: 2 }, { environment: 'production', streams: 3 }, { environment: 'staging', streams: 7 }],
      })
      : undefined);
    render(renderTree(<SdkStreamsCard flag={flag} />).ui);

    expect(await screen.findByTestId('sdk-streams-environment')).toHaveTextContent('3 connected in production');
    expect(screen.getByTestId('sdk-streams-all')).toHaveTextContent('2 connected with keys for every environment');
    expect(screen.getByTestId('sdk-streams')).toHaveTextContent('replica');
  });

  it('says so when no SDK holds a stream for the environment', async () => {
    mockFetch((url) => url.pathname === '/api/streams'
      ? json({ scope: 'replica', total: 7, environments: [{ environment: 'staging', streams: 7 }] }) : undefined);
    render(renderTree(<SdkStreamsCard flag={flag} />).ui);

    expect(await screen.findByTestId('sdk-streams-empty')).toHaveTextContent('No SDK holds an event stream for production');
  });
});
