/** The engines range evaluator against npm's range forms. */
import { describe, expect, it } from 'vitest';
import { parseVersion, satisfiesRange } from '../../src/doctor/engines.js';

describe('satisfiesRange', () => {
  it.each([
    ['20.20.2', '>=20.19', true],
    ['20.18.0', '>=20.19', false],
    ['v20.20.2', '>= 20.19.0', true],
    ['18.20.0', '^18 || >=20', true],
    ['19.0.0', '^18 || >=20', false],
    ['20.11.9', '~20.11.1', true],
    ['20.12.0', '~20.11.1', false],
    ['20.5.0', '20.x', true],
    ['21.0.0', '20', false],
    ['18.0.0', '16 - 18', true],
    ['19.0.0', '16 - 18', false],
    ['20.20.2', '*', true],
    ['0.2.5', '^0.2.3', true],
    ['0.3.0', '^0.2.3', false],
    ['20.20.2', '>18 <21', true],
    ['21.0.0', '>18 <21', false],
    ['20.0.0', '<=20', true],
    ['20.20.2', '20.20.2', true],
  ] as const)('%s in %s → %s', (version, range, expected) => {
    expect(satisfiesRange(version, range)).toBe(expected);
  });

  it('says undefined for what it cannot read', () => {
    expect(satisfiesRange('20.1.0', 'latest')).toBeUndefined();
    expect(satisfiesRange('twenty', '>=20')).toBeUndefined();
    expect(parseVersion('v20.20.2')).toEqual([20, 20, 2]);
  });
});
