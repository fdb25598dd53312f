import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { LiveBadge } from './Layout';
import { fakeConnection, renderTree } from '../test/utils';

describe('LiveBadge', () => {
  it('says Live once the hub connection is up and subscribed', async () => {
    const live = fakeConnection();
    render(renderTree(<LiveBadge />, live.conn).ui);
    expect(await screen.findByText('Live')).toBeInTheDocument();
    expect(screen.getByTestId('live-status')).toHaveAttribute('data-status', 'live');
  });

  it('says it is offline and polling when the hub is missing, instead of failing', async () => {
    const live = fakeConnection({ failStart: true });
    render(renderTree(<LiveBadge />, live.conn).ui);
    expect(await screen.findByText('Offline — polling')).toBeInTheDocument();
    expect(screen.getByTestId('live-status')).toHaveAttribute('title', expect.stringContaining('404'));
  });
});
