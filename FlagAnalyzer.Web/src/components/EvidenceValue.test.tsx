import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { EvidenceValue } from './EvidenceValue';

const show = (value: unknown) => render(<MemoryRouter><div data-testid="v"><EvidenceValue value={value} /></div></MemoryRouter>);

describe('EvidenceValue', () => {
  it('renders a nested object as labelled values, not JSON', () => {
    show({ mean: 1.622, volatility: 0.772 });
    const text = screen.getByTestId('v').textContent!;
    expect(text).toContain('mean 1.622');
    expect(text).toContain('volatility 0.772');
    expect(text).not.toContain('{');
  });

  it('renders open anomalies as links to them', () => {
    show([{ id: 'anm_1', type: 'error_spike', metric: 'error_rate', severity: 'critical', changePercent: 301.6 }]);
    const link = screen.getByTestId('evidence-anomaly');
    expect(link).toHaveTextContent('critical error spike error_rate (+302%)');
    expect(link).toHaveAttribute('href', '/anomalies#anm_1');
  });

  it('renders an interval as a range and an empty list as none', () => {
    show({ interval: [127.5, 372.5], openAnomalies: [] });
    expect(screen.getByTestId('v').textContent).toBe('interval 127.5 … 372.5openAnomalies none');
  });
});
