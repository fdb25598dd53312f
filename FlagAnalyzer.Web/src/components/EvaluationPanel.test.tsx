import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { EvaluateAs, ExposuresCard, VariantsEditor } from './EvaluationPanel';
import { json, mockFetch, renderTree } from '../test/utils';
import type { Flag } from '../api/types';

const flag: Flag = {
  id: 'flg_1', name: 'header-color', key: 'headerColor', description: '', enabled: true, rolloutPercentage: 100,
  targetEnvironment: 'production', owner: '', tags: [], autoRollback: false,
  createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', version: 2,
  variants: { red: '#f00', blue: '#00f' }, defaultVariant: 'red', offVariant: 'red', targeting: null, rules: null, eTag: null,
};

afterEach(() => vi.unstubAllGlobals());

describe('EvaluationPanel', () => {
  it('evaluates the typed context through OFREP and shows value, variant and reason', async () => {
    const fetch = mockFetch((url) => url.pathname === '/ofrep/v1/evaluate/flags/headerColor'
      ? json({ key: 'headerColor', value: '#00f', variant: 'blue', reason: 'TARGETING_MATCH' }) : undefined);
    render(renderTree(<EvaluateAs flag={flag} />).ui);

    await userEvent.click(screen.getByTestId('evaluate'));

    expect(await screen.findByTestId('evaluation-variant')).toHaveTextContent('blue');
    expect(screen.getByTestId('evaluation-reason')).toHaveTextContent('TARGETING_MATCH');
    expect(JSON.parse(String(fetch.mock.calls[0][1]!.body))).toEqual({ context: { targetingKey: 'user-1' } });
  });

  it('shows an evaluation error code as an answer', async () => {
    mockFetch(() => json({ key: 'headerColor', errorCode: 'TARGETING_KEY_MISSING' }, 400));
    render(renderTree(<EvaluateAs flag={flag} />).ui);

    await userEvent.click(screen.getByTestId('evaluate'));

    expect(await screen.findByTestId('evaluation-error-code')).toHaveTextContent('TARGETING_KEY_MISSING');
  });

  it('shows the API validation message for the bad targeting node', async () => {
    mockFetch((url, init) => url.pathname === '/api/flags/flg_1' && init?.method === 'PATCH'
      ? json({ title: 'The request is invalid', errors: { 'targeting.if[0].bogus': ["unknown operator 'bogus'"] } }, 400) : undefined);
    render(renderTree(<VariantsEditor flag={flag} />).ui);

    fireEvent.change(screen.getByTestId('targeting-json'), { target: { value: '{"if":[{"bogus":[1]},"blue"]}' } });
    await userEvent.click(screen.getByTestId('save-evaluation'));

    expect(await screen.findByTestId('evaluation-error')).toHaveTextContent("targeting.if[0].bogus: unknown operator 'bogus'");
  });

  it('lists exposures per variant with the split check', async () => {
    mockFetch((url) => url.pathname === '/api/flags/flg_1/exposures' ? json({
      flagId: 'flg_1', flagKey: 'headerColor', from: '', series: [],
      variants: [{ variant: 'on', count: 30 }, { variant: 'off', count: 70 }],
      srm: { defaultVariant: 'on', offVariant: 'off', expectedDefaultShare: 0.3, defaultCount: 30, offCount: 70, chiSquared: 0, pValue: 1, mismatch: false, since: '' },
    }) : undefined);
    render(renderTree(<ExposuresCard flag={flag} />).ui);

    expect(await screen.findAllByTestId('exposure')).toHaveLength(2);
    expect(screen.getByTestId('exposure-srm')).toHaveTextContent('Split as promised');
  });
});
