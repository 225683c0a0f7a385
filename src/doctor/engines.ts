/**
 * Does a Node version satisfy a package's `engines.node` range? A small evaluator of npm's range
 * syntax (`>=20.19`, `^18 || >=20`, `18.x`, `~20.11.1`, `16 - 20`, `*`), so doctor needs no
 * semver dependency. Prerelease tags are ignored (Node releases have none). Anything it cannot
 * read gives `undefined`, which doctor reports as "cannot evaluate", never as a pass or a fail.
 */

type Triple = [number, number, number];
type Comparator = { op: '>=' | '<' | '<=' | '>' | '='; version: Triple };

/** "v20.20.2" → [20, 20, 2]; null when it is not a version. */
export function parseVersion(text: string): Triple | null {
  const match = /^\s*v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (match === null) return null;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

function compare(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** A partial version: its known parts (x/X/* and missing parts are wildcards). */
function parsePartial(text: string): number[] | null {
  const clean = text.replace(/^v/, '').replace(/[-+].*$/, '');
  if (clean === '' || clean === '*' || /^[xX]$/.test(clean)) return [];
  const parts = clean.split('.');
  if (parts.length > 3) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    if (/^[xX*]$/.test(part)) break;
    if (!/^\d+$/.test(part)) return null;
    numbers.push(Number(part));
  }
  return numbers;
}

function floor(parts: number[]): Triple {
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
}

/** The first version above every version matching `parts` ([1, 2] → 1.3.0). */
function ceiling(parts: number[]): Triple | null {
  if (parts.length === 0) return null;
  const [major, minor, patch] = floor(parts);
  if (parts.length === 1) return [major + 1, 0, 0];
  return parts.length === 2 ? [major, minor + 1, 0] : [major, minor, patch + 1];
}

/** The comparators one range token stands for; null when it cannot be read. */
function tokenComparators(token: string): Comparator[] | null {
  // Always matches (the version part takes the rest); the tokens hold no newline.
  const match = /^(\^|~>?|>=|<=|>|<|=)?\s*(.*)$/.exec(token) as RegExpExecArray;
  const op = match[1] ?? '';
  const parts = parsePartial(match[2] as string);
  if (parts === null) return null;
  const low = floor(parts);
  const high = ceiling(parts);
  switch (op) {
    case '':
    case '=':
      if (parts.length === 3) return [{ op: '=', version: low }];
      return high === null ? [] : [{ op: '>=', version: low }, { op: '<', version: high }];
    case '>=':
      return [{ op: '>=', version: low }];
    case '>':
      if (parts.length === 3) return [{ op: '>', version: low }];
      return high === null ? [{ op: '<', version: [0, 0, 0] }] : [{ op: '>=', version: high }];
    case '<':
      return [{ op: '<', version: low }];
    case '<=':
      if (parts.length === 3) return [{ op: '<=', version: low }];
      return high === null ? [] : [{ op: '<', version: high }];
    case '~':
    case '~>': {
      const upper = parts.length <= 1 ? ceiling(parts) : ceiling(parts.slice(0, 2));
      return upper === null ? [] : [{ op: '>=', version: low }, { op: '<', version: upper }];
    }
    case '^': {
      if (parts.length === 0) return [];
      // The first non-zero part is the one that may not change (^0.2.3 → <0.3.0).
      const [major, minor, patch] = low;
      let upper: Triple;
      if (major > 0 || parts.length === 1) upper = [major + 1, 0, 0];
      else if (minor > 0 || parts.length === 2) upper = [0, minor + 1, 0];
      else upper = [0, 0, patch + 1];
      return [{ op: '>=', version: low }, { op: '<', version: upper }];
    }
    default:
      return null;
  }
}

function holds(version: Triple, comparator: Comparator): boolean {
  const c = compare(version, comparator.version);
  switch (comparator.op) {
    case '>=':
      return c >= 0;
    case '>':
      return c > 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
  }
}

/**
 * Whether `version` ("20.20.2", "v20.20.2") satisfies `range`; undefined when either cannot be
 * read.
 */
export function satisfiesRange(version: string, range: string): boolean | undefined {
  const v = parseVersion(version);
  if (v === null) return undefined;
  let any = false;
  for (const alternative of range.split('||')) {
    const set = alternative.trim();
    let comparators: Comparator[] = [];
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(set);
    if (hyphen !== null) {
      const lowParts = parsePartial(hyphen[1] as string);
      const highParts = parsePartial(hyphen[2] as string);
      if (lowParts === null || highParts === null) return undefined;
      comparators.push({ op: '>=', version: floor(lowParts) });
      if (highParts.length === 3) comparators.push({ op: '<=', version: floor(highParts) });
      else {
        const high = ceiling(highParts);
        if (high !== null) comparators.push({ op: '<', version: high });
      }
    } else {
      // ">= 20" is one comparator written with a space: glue operators to their versions first.
      const tokens = set.replace(/(\^|~>?|>=|<=|>|<|=)\s+/g, '$1').split(/\s+/).filter((t) => t !== '');
      for (const token of tokens) {
        const found = tokenComparators(token);
        if (found === null) return undefined;
        comparators = comparators.concat(found);
      }
    }
    if (comparators.every((comparator) => holds(v, comparator))) any = true;
  }
  return any;
}
