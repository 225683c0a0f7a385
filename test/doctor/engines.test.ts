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

describe('satisfiesRange: the rest of npm range syntax', () => {
  it.each([
    // > and <= with partial versions: past the whole partial range, or up to its end.
    ['21.0.0', '>20', true],
    ['20.9.9', '>20', false],
    ['20.1.3', '>20.1.2', true],
    ['20.1.2', '>20.1.2', false],
    ['20.1.2', '<=20.1.2', true],
    ['20.1.3', '<=20.1.2', false],
    ['20.1.9', '<=20.1', true],
    ['20.2.0', '<=20.1', false],
    ['1.0.0', '<=*', true],
    ['1.0.0', '>*', false],
    ['20.0.0', '<20', false],
    // ~ with one part is the whole major; ~> is the same operator.
    ['20.9.0', '~20', true],
    ['21.0.0', '~20', false],
    ['20.11.5', '~>20.11', true],
    ['5.0.0', '~*', true],
    // ^ below 1.0.0: the first non-zero part may not change.
    ['0.9.0', '^0', true],
    ['1.0.0', '^0', false],
    ['0.0.3', '^0.0.3', true],
    ['0.0.4', '^0.0.3', false],
    ['0.0.9', '^0.0', true],
    ['0.1.0', '^0.0', false],
    ['9.0.0', '^*', true],
    ['1.5.0', '^1.2', true],
    ['2.0.0', '^1.2', false],
    // = and bare partial versions; x wildcards stop a version; an empty range is any version.
    ['20.4.1', '=20', true],
    ['20.1.7', '20.1.x', true],
    ['20.2.0', '20.1.x', false],
    ['20.0.0', 'X', true],
    ['20.0.0', '', true],
    ['20.0.0', 'v20.0.0-rc.1', true],
    // hyphen ranges: a full upper bound is inclusive, a partial one covers its whole range.
    ['20.1.2', '16 - 20.1.2', true],
    ['20.1.3', '16 - 20.1.2', false],
    ['99.0.0', '16 - *', true],
    ['15.9.9', '16 - *', false],
    ['20.5.0', '18 - 20.5', true],
  ] as const)('%s in "%s" → %s', (version, range, expected) => {
    expect(satisfiesRange(version, range)).toBe(expected);
  });

  it.each(['1.2.3.4', '>=1.two', '16 - 2.y', 'bad - 18', '!20'])('cannot read "%s"', (range) => {
    expect(satisfiesRange('20.0.0', range)).toBeUndefined();
  });
});
