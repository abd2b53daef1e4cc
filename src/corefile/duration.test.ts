import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseGoDuration } from './duration.js';

// Expected values and messages checked against Go's time.ParseDuration / Duration.String().
describe('Go durations', () => {
  it.each([
    ['0', 0], ['-0', 0], ['500ms', 500], ['5s', 5000], ['30s', 30_000], ['1m', 60_000], ['1m30s', 90_000],
    ['1h', 3_600_000], ['1h30m', 5_400_000], ['1.5h', 5_400_000], ['1h2m3.5s', 3_723_500], ['1.5s', 1500],
    ['1.1s', 1100], ['.5s', 500], ['5.s', 5000], ['250us', 0.25], ['250µs', 0.25], ['250μs', 0.25],
    ['1ns', 0.000001], ['1.5ns', 0.000001], ['-2s', -2000], ['+2s', 2000], ['3h4m5s6ms7us8ns', 11_045_006.007008],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseGoDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'time: invalid duration ""'],
    ['-', 'time: invalid duration "-"'],
    ['s', 'time: invalid duration "s"'],
    ['.s', 'time: invalid duration ".s"'],
    ['-.s', 'time: invalid duration "-.s"'],
    ['5', 'time: missing unit in duration "5"'],
    ['30', 'time: missing unit in duration "30"'],
    ['1s2', 'time: missing unit in duration "1s2"'],
    ['1.5.5s', 'time: missing unit in duration "1.5.5s"'],
    ['1x', 'time: unknown unit "x" in duration "1x"'],
    ['1e3s', 'time: unknown unit "e" in duration "1e3s"'],
    ['10 s', 'time: unknown unit " s" in duration "10 s"'],
    ['4µ', 'time: unknown unit "\\xc2\\xb5" in duration "4\\xc2\\xb5"'],
    ['5"', 'time: unknown unit "\\"" in duration "5\\""'],
    ['9223372036854775808ns', 'time: invalid duration "9223372036854775808ns"'],
    ['2562047h47m16.854775808s', 'time: invalid duration "2562047h47m16.854775808s"'],
  ])('rejects %j like Go', (text, message) => {
    expect(() => parseDuration(text)).toThrow(message);
    expect(parseGoDuration(text)).toBeNull();
  });

  it('accepts the int64 extremes', () => {
    expect(parseDuration('9223372036854775807ns')).toBe(9223372036854.775807);
    expect(parseDuration('-9223372036854775808ns')).toBe(-9223372036854.775808);
  });

  it.each([
    [5000, '5s'], [90_000, '1m30s'], [3_600_000, '1h0m0s'], [5_400_000, '1h30m0s'], [1500, '1.5s'], [100, '100ms'],
    [0.25, '250µs'], [0.0015, '1.5µs'], [0.000001, '1ns'], [0, '0s'], [-2000, '-2s'], [11_045_006.007008, '3h4m5.006007008s'],
  ])('formats %d ms like Duration.String() (%s)', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
