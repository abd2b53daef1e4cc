import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { createLogger } from '../../log/logger.js';
import { m } from '../../metrics/registry.js';
import type { ProcessContext } from '../types.js';
import { HealthPlugin, parseHealth } from './index.js';
import { directiveOf as directive } from '../testing.test-helper.js';

const open: HealthPlugin[] = [];
afterEach(async () => {
  for (const p of open.splice(0)) await p.close();
});

async function started(body: string, proc: ProcessContext = { reloading: false }) {
  const lines: string[] = [];
  const p = new HealthPlugin(parseHealth(directive(body)), createLogger({ write: (l) => lines.push(l) }), proc);
  open.push(p);
  await p.start();
  return { p, lines, url: `http://127.0.0.1:${p.port()}/health` };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

describe('health', () => {
  it('answers GET /health with 200 OK', async () => {
    const { url } = await started('health 127.0.0.1:0');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('OK');
  });

  it('probes itself every second for the health metrics', async () => {
    const count = async () => (await m.healthDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    const before = await count();
    await started('health 127.0.0.1:0');
    await new Promise((r) => setTimeout(r, 1300));
    expect(await count()).toBeGreaterThan(before);
  });

  it('keeps answering through lameduck on shutdown, then releases the port on close', async () => {
    const { p, lines, url } = await started('health 127.0.0.1:0 {\n lameduck 300ms\n}');
    const port = p.port()!;
    const t0 = Date.now();
    const shutdown = p.shutdown();
    const during = await fetch(url);
    expect(during.status).toBe(200);
    await shutdown;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(lines).toContain('[INFO] plugin/health: Going into lameduck mode for 300ms');
    await p.close();
    expect(await refused(port)).toBe(true);
  });

  it('skips lameduck during a reload', async () => {
    const { p, lines } = await started('health 127.0.0.1:0 {\n lameduck 5s\n}', { reloading: true });
    const t0 = Date.now();
    await p.shutdown();
    expect(Date.now() - t0).toBeLessThan(100);
    expect(lines).toEqual([]);
  });

  it('defaults to :8080 without lameduck', () => {
    expect(parseHealth(directive('health'))).toEqual({ address: ':8080', lameduckMs: 0 });
  });

  it('rejects bad addresses and options with the line', () => {
    expect(() => parseHealth(directive('health localhost'))).toThrow(/Corefile:2 - Error during parsing: plugin\/health: address localhost: missing port in address/);
    expect(() => parseHealth(directive('health :8080 :8081'))).toThrow(/Wrong argument count/);
    expect(() => parseHealth(directive('health {\n lameduck soon\n}'))).toThrow(/unable to parse lameduck duration value: "soon"/);
    expect(() => parseHealth(directive('health {\n lameduck\n}'))).toThrow(/Wrong argument count/);
    expect(() => parseHealth(directive('health {\n deadline 5s\n}'))).toThrow(/unknown property 'deadline'/);
  });
});
