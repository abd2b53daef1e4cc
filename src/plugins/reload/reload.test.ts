import { afterEach, describe, expect, it, vi } from 'vitest';
import { m } from '../../metrics/registry.js';
import type { ProcessContext } from '../types.js';
import { nextDelay, parseReload, recordReload, ReloadPlugin } from './index.js';
import { directiveOf as directive } from '../testing.test-helper.js';

const open: ReloadPlugin[] = [];
afterEach(() => {
  for (const p of open.splice(0)) p.close();
  vi.useRealTimers();
});

function started(body: string, proc: ProcessContext) {
  const p = new ReloadPlugin(parseReload(directive(body)), proc);
  open.push(p);
  p.start();
  return p;
}

describe('reload', () => {
  it('defaults to 30s with 15s of jitter', () => {
    expect(parseReload(directive('reload'))).toEqual({ intervalMs: 30_000, jitterMs: 15_000 });
  });

  it('caps the jitter at half the interval and allows none', () => {
    expect(parseReload(directive('reload 10s 8s'))).toEqual({ intervalMs: 10_000, jitterMs: 5000 });
    expect(parseReload(directive('reload 2s 0'))).toEqual({ intervalMs: 2000, jitterMs: 0 });
  });

  it('rejects intervals under 2s, jitter under 1s and bad durations', () => {
    expect(() => parseReload(directive('reload 1s'))).toThrow(/Corefile:2 - Error during parsing: plugin\/reload: interval value must be greater or equal to 2s/);
    expect(() => parseReload(directive('reload 10s 500ms'))).toThrow(/jitter value must be greater or equal to 1s/);
    expect(() => parseReload(directive('reload often'))).toThrow(/invalid duration/);
    expect(() => parseReload(directive('reload 10s 2s 1s'))).toThrow(/Wrong argument count/);
  });

  it('spreads ticks over interval ± jitter/2', () => {
    const cfg = { intervalMs: 30_000, jitterMs: 15_000 };
    expect(nextDelay(cfg, () => 0)).toBe(22_500);
    expect(nextDelay(cfg, () => 0.999999)).toBeCloseTo(37_500, -1);
    expect(nextDelay({ intervalMs: 5000, jitterMs: 0 })).toBe(5000);
  });

  it('asks the server to reload on every tick', () => {
    vi.useFakeTimers();
    const requestReload = vi.fn();
    started('reload 2s 0', { reloading: false, requestReload });
    vi.advanceTimersByTime(1999);
    expect(requestReload).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(requestReload).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(4000);
    expect(requestReload).toHaveBeenCalledTimes(3);
  });

  it('runs one timer per process: the configuration started last wins', () => {
    vi.useFakeTimers();
    const requestReload = vi.fn();
    const proc = { reloading: false, requestReload };
    const old = started('reload 2s 0', proc);
    started('reload 10s 0', proc);
    vi.advanceTimersByTime(9999);
    expect(requestReload).not.toHaveBeenCalled();
    old.close();
    vi.advanceTimersByTime(1);
    expect(requestReload).toHaveBeenCalledTimes(1);
  });

  it('stops ticking on close', () => {
    vi.useFakeTimers();
    const requestReload = vi.fn();
    const p = started('reload 2s 0', { reloading: false, requestReload });
    p.close();
    vi.advanceTimersByTime(10_000);
    expect(requestReload).not.toHaveBeenCalled();
  });

  it('records the running hash and failed attempts', async () => {
    const failed = async () => (await m.reloadFailed.get()).values[0]?.value ?? 0;
    const before = await failed();
    recordReload({ hash: 'aa' });
    recordReload({ hash: 'bb' });
    recordReload({ error: new Error('bad Corefile') });
    const versions = (await m.reloadVersion.get()).values;
    expect(versions).toEqual([{ labels: { hash: 'sha512', value: 'bb' }, value: 1 }]);
    expect(await failed()).toBe(before + 1);
  });
});
