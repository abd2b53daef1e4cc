import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('Go durations', () => {
  it('parses the units and compound forms CoreDNS accepts', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('250us')).toBe(0.25);
    expect(parseDuration('250µs')).toBe(0.25);
    expect(parseDuration('0')).toBe(0);
  });

  it('rejects what Go rejects', () => {
    expect(() => parseDuration('30')).toThrow(/missing unit/);
    expect(() => parseDuration('5x')).toThrow(/unknown unit "x"/);
    expect(() => parseDuration('')).toThrow(/invalid duration/);
    expect(() => parseDuration('s')).toThrow(/invalid duration/);
  });

  it('formats like Duration.String()', () => {
    expect(formatDuration(5000)).toBe('5s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(3_600_000)).toBe('1h0m0s');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(100)).toBe('100ms');
    expect(formatDuration(0.0015)).toBe('1.5µs');
    expect(formatDuration(0)).toBe('0s');
  });
});
