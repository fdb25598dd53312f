import { describe, expect, it } from 'vitest';
import { formatPValue } from './pValue';

describe('formatPValue', () => {
  it.each([
    [0, 'p < 1e-10'],
    [4.0e-44, 'p < 1e-10'],
    [3.2e-7, 'p = 3.2e-7'],
    [0.0123, 'p = 0.0123'],
    [1, 'p = 1'],
  ])('writes %s as %s', (p, text) => expect(formatPValue(p)).toBe(text));
});
