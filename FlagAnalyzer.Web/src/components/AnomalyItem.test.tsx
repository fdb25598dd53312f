import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import { AnomalyItem } from './AnomalyItem';
import { mockFetch, renderTree } from '../test/utils';
import type { Anomaly } from '../api/types';

const anomaly: Anomaly = {
  id: 'anm_1', flagId: 'flg_1', environment: 'production', type: 'error_spike', severity: 'high', metric: 'error_rate', baselineValue: 2, observedValue: 6,
  changePercent: 200, confidence: 0.999, pValue: 0.001, message: 'Error rate rose', status: 'active', detectedAt: '2026-01-01T00:00:00Z',
  acknowledgedAt: null, acknowledgedBy: null, resolvedAt: null, changeId: null, variant: null, actorKeyId: null, actorName: null,
};

afterEach(() => vi.unstubAllGlobals());

describe('AnomalyItem', () => {
  it('names the variant a regression is about', () => {
    mockFetch(() => undefined);
    render(renderTree(<AnomalyItem anomaly={{ ...anomaly, variant: 'green' }} flagName="checkout" />).ui);
    expect(screen.getByTestId('anomaly-variant')).toHaveTextContent('variant green');
  });

  it('shows no variant when the anomaly is about the treatment as a whole', () => {
    mockFetch(() => undefined);
    render(renderTree(<AnomalyItem anomaly={{ ...anomaly, variant: null }} />).ui);
    expect(screen.queryByTestId('anomaly-variant')).toBeNull();
  });
});
