import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from './prom-text.js';

// The test parser must itself be able to fail, or the /metrics tests prove nothing.
describe('the test helper parsePrometheusText', () => {
  it('parses families, escaped label values, histograms and special values', () => {
    const text = [
      '# HELP a_total Things, with a \\\\ backslash\\nand a newline.',
      '# TYPE a_total counter',
      'a_total{path="/x\\"y\\\\z",code="200"} 3',
      'a_total{path="/",code="500"} 1e3 1700000000000',
      '# TYPE h histogram',
      'h_bucket{le="0.5"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_sum 1.25',
      'h_count 2',
      '# TYPE g gauge',
      'g NaN',
      'g2_not_declared_is_an_error_below 1',
    ];
    expect(() => parsePrometheusText(text.join('\n'))).toThrow(/sample without a TYPE/);
    const families = parsePrometheusText(text.slice(0, -1).join('\n'));
    expect(families.get('a_total')?.help).toBe('Things, with a \\ backslash\nand a newline.');
    expect(sampleValue(families, 'a_total', { path: '/x"y\\z' })).toBe(3);
    expect(sampleValue(families, 'a_total', { code: '500' })).toBe(1000);
    expect(sampleValue(families, 'h_bucket', { le: '+Inf' })).toBe(2);
    expect(sampleValue(families, 'h_count')).toBe(2);
    expect(Number.isNaN(sampleValue(families, 'g'))).toBe(true);
    expect(() => sampleValue(families, 'a_total')).toThrow(/2 samples/);
  });

  it.each([
    ['a bad value', '# TYPE x gauge\nx one'],
    ['an unquoted label', '# TYPE x gauge\nx{a=b} 1'],
    ['an unterminated label value', '# TYPE x gauge\nx{a="b} 1'],
    ['a bad escape', '# TYPE x gauge\nx{a="\\t"} 1'],
    ['a duplicate series', '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2'],
    ['a duplicate label', '# TYPE x gauge\nx{a="1",a="2"} 1'],
    ['a bad metric name', '# TYPE 1x gauge\n'],
    ['an unknown type', '# TYPE x meter\n'],
    ['a second HELP', '# HELP x a\n# HELP x b\n'],
    ['a TYPE after samples', '# TYPE x gauge\nx 1\n# TYPE x counter\n'],
    ['a bucket of a gauge', '# TYPE x gauge\nx_bucket{le="1"} 1'],
    ['a bad timestamp', '# TYPE x gauge\nx 1 soon'],
  ])('rejects %s', (_what, text) => {
    expect(() => parsePrometheusText(text)).toThrow(/line \d+/);
  });
});
