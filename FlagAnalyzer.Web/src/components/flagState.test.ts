import { describe, expect, it } from 'vitest';
import { flagState } from './flagState';

describe('flagState', () => {
  it('says an enabled flag at 0 % reaches nobody and hints at the rollout', () => {
    const s = flagState({ enabled: true, rolloutPercentage: 0 });
    expect(s.text).toBe('enabled for 0 %');
    expect(s.tone).toBe('idle');
    expect(s.hint).toMatch(/raise the rollout/);
  });

  it.each([
    [true, 25, 'enabled', 'on'],
    [false, 0, 'disabled', 'off'],
    [false, 50, 'disabled', 'off'],
  ])('enabled=%s at %s %% is %s', (enabled, rolloutPercentage, text, tone) =>
    expect(flagState({ enabled, rolloutPercentage })).toMatchObject({ text, tone }));
});
