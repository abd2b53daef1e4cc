import { describe, expect, it } from 'vitest';
import { matchesSelector, parseSelector } from './selector.js';

const m = (sel: string, labels: Record<string, string>) => matchesSelector(parseSelector(sel), labels);

describe('label selectors', () => {
  it('matches equality, inequality and existence requirements', () => {
    expect(m('app=web', { app: 'web' })).toBe(true);
    expect(m('app==web', { app: 'db' })).toBe(false);
    expect(m('app!=web', {})).toBe(true);
    expect(m('app!=web', { app: 'web' })).toBe(false);
    expect(m('tier', { tier: '' })).toBe(true);
    expect(m('!tier', { tier: 'x' })).toBe(false);
    expect(m('!tier', {})).toBe(true);
    expect(m('', { anything: 'x' })).toBe(true);
  });

  it('matches set-based requirements combined with commas', () => {
    expect(m('env in (prod, staging),app', { env: 'prod', app: 'x' })).toBe(true);
    expect(m('env in (prod,staging)', { env: 'dev' })).toBe(false);
    expect(m('env notin (prod)', {})).toBe(true);
    expect(m('env notin (prod),app=x', { env: 'dev', app: 'x' })).toBe(true);
    expect(m('example.com/tier=a', { 'example.com/tier': 'a' })).toBe(true);
    expect(m('n>3', { n: '4' })).toBe(true);
  });

  it('rejects malformed selectors', () => {
    expect(() => parseSelector('app in (a')).toThrow();
    expect(() => parseSelector('app=web,')).toThrow();
    expect(() => parseSelector('=x')).toThrow();
  });
});
