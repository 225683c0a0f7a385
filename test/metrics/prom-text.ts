/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: every line
 * is parsed into HELP / TYPE / sample; a malformed line, a sample without a TYPE, a duplicate
 * series or a sample whose name does not belong to its family's type throws. No regex over the
 * whole document: label values are read character by character with their escapes.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string | null;
  type: MetricType;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses a whole exposition. Throws with the line number on the first problem. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  /** Families whose TYPE line was seen: a sample before its TYPE is an error here. */
  const typed = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const where = `line ${index + 1}: ${JSON.stringify(raw)}`;
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const parts = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (parts === null) return; // a plain comment
      const [, kind, name = '', rest = ''] = parts;
      if (!NAME.test(name)) throw new Error(`bad metric name in ${where}`);
      const family = families.get(name) ?? { name, help: null, type: 'untyped' as MetricType, samples: [] };
      if (kind === 'HELP') {
        if (family.help !== null) throw new Error(`second HELP for ${name} at ${where}`);
        family.help = unescapeHelp(rest);
      } else {
        if (!TYPES.has(rest as MetricType)) throw new Error(`bad TYPE in ${where}`);
        if (family.samples.length > 0) throw new Error(`TYPE after samples for ${name} at ${where}`);
        family.type = rest as MetricType;
        typed.add(name);
      }
      families.set(name, family);
      return;
    }
    const sample = parseSample(line, where);
    const family = familyOf(sample.name, families);
    if (family === undefined || !typed.has(family.name)) throw new Error(`sample without a TYPE in ${where}`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seenSeries.has(key)) throw new Error(`duplicate series in ${where}`);
    seenSeries.add(key);
    family.samples.push(sample);
  });
  return families;
}

/** The family a sample belongs to: its own name, or the histogram/summary it is a part of. */
function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  const own = families.get(sampleName);
  if (own !== undefined && own.type !== 'histogram' && own.type !== 'summary') return own;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue;
    const base = families.get(sampleName.slice(0, -suffix.length));
    if (base === undefined) continue;
    if (base.type === 'histogram') return base;
    if (base.type === 'summary' && suffix !== '_bucket') return base;
  }
  if (own !== undefined && own.type === 'summary') return own; // quantile samples carry the base name
  return undefined;
}

function parseSample(line: string, where: string): Sample {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i += 1;
  const name = line.slice(0, i);
  if (!NAME.test(name)) throw new Error(`bad sample name in ${where}`);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i += 1;
    // Bounded by the line length: every iteration consumes at least one character.
    while (i < line.length) {
      while (line[i] === ' ') i += 1;
      if (line[i] === '}') break;
      const start = i;
      while (i < line.length && line[i] !== '=') i += 1;
      const labelName = line.slice(start, i).trim();
      if (!LABEL_NAME.test(labelName)) throw new Error(`bad label name "${labelName}" in ${where}`);
      if (labelName in labels) throw new Error(`duplicate label ${labelName} in ${where}`);
      i += 1;
      if (line[i] !== '"') throw new Error(`label value not quoted in ${where}`);
      i += 1;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`unterminated label value in ${where}`);
        i += 1;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i];
          i += 1;
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new Error(`bad escape \\${String(e)} in ${where}`);
        } else {
          value += c;
        }
      }
      labels[labelName] = value;
      while (line[i] === ' ') i += 1;
      if (line[i] === ',') i += 1;
      else if (line[i] !== '}') throw new Error(`expected , or } in ${where}`);
    }
    if (line[i] !== '}') throw new Error(`unterminated label set in ${where}`);
    i += 1;
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === '') throw new Error(`expected a value (and optional timestamp) in ${where}`);
  const value = parseValue(rest[0] ?? '');
  if (value === null) throw new Error(`bad value in ${where}`);
  if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) throw new Error(`bad timestamp in ${where}`);
  return { name, labels, value };
}

/** Like Go's strconv.ParseFloat, which Prometheus uses: inf/infinity/nan in any case (prom-client writes "Nan"). */
function parseValue(text: string): number | null {
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf' || lower === '+infinity' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (lower === 'nan') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return null;
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(n|\\)/g, (_m, e: string) => (e === 'n' ? '\n' : '\\'));
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when none. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = familyOf(name, families);
  const matches = (family?.samples ?? []).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matches[0]?.value;
}
