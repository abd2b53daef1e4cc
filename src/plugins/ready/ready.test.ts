import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../log/logger.js';
import type { Plugin, ProcessContext, SetupContext } from '../types.js';
import { parseReady, ReadyPlugin } from './index.js';
import { directiveOf as directive } from '../testing.test-helper.js';

/** A plugin whose readiness the test flips, counting how often it is asked. */
function fake(name: string, ok = false) {
  const p = { name, ok, asked: 0, ready: () => (p.asked++, p.ok) };
  return p;
}

const open: ReadyPlugin[] = [];
afterEach(async () => {
  for (const p of open.splice(0)) await p.close();
});

function make(body: string, peers: Plugin[], proc: ProcessContext, lines: string[] = []) {
  const ctx = {
    log: createLogger({ write: (l) => lines.push(l) }),
    process: proc,
    peers: () => peers,
  } as unknown as SetupContext;
  const p = new ReadyPlugin(parseReady(directive(body)), ctx);
  open.push(p);
  return p;
}

async function get(p: ReadyPlugin) {
  const res = await fetch(`http://127.0.0.1:${p.port()}/ready`);
  return { status: res.status, body: await res.text() };
}

describe('ready', () => {
  it('answers 503 with the sorted names of plugins not ready, then 200 OK', async () => {
    const k8s = fake('kubernetes');
    const hosts = fake('hosts');
    const lines: string[] = [];
    const p = make('ready 127.0.0.1:0', [k8s, hosts, { name: 'cache' }], { reloading: false }, lines);
    await p.start();
    expect(await get(p)).toEqual({ status: 503, body: 'hosts,kubernetes' });
    expect(lines).toContain('[INFO] plugin/ready: Plugins not ready: "hosts,kubernetes"');
    hosts.ok = true;
    expect(await get(p)).toEqual({ status: 503, body: 'kubernetes' });
    k8s.ok = true;
    expect(await get(p)).toEqual({ status: 200, body: 'OK' });
  });

  it('stops asking a plugin once it was ready (until-ready)', async () => {
    const k8s = fake('kubernetes', true);
    const p = make('ready 127.0.0.1:0', [k8s], { reloading: false });
    await p.start();
    expect((await get(p)).status).toBe(200);
    k8s.ok = false;
    expect((await get(p)).status).toBe(200);
    expect(k8s.asked).toBe(1);
  });

  it('keeps asking with monitor continuously', async () => {
    const k8s = fake('kubernetes', true);
    const p = make('ready 127.0.0.1:0 {\n monitor continuously\n}', [k8s], { reloading: false });
    await p.start();
    expect((await get(p)).status).toBe(200);
    k8s.ok = false;
    expect(await get(p)).toEqual({ status: 503, body: 'kubernetes' });
  });

  it('combines the blocks that share the address', async () => {
    const proc = { reloading: false };
    const a = make('ready 127.0.0.1:0', [fake('kubernetes', true)], proc);
    const b = make('ready 127.0.0.1:0', [fake('hosts')], proc);
    await a.start();
    await b.start();
    expect(await get(a)).toEqual({ status: 503, body: 'hosts' });
  });

  it('answers for the new configuration only after a reload', async () => {
    const proc = { reloading: false };
    const old = make('ready 127.0.0.1:0', [fake('kubernetes')], proc);
    await old.start();
    expect((await get(old)).status).toBe(503);
    proc.reloading = true;
    const fresh = make('ready 127.0.0.1:0', [fake('kubernetes', true)], proc);
    await fresh.start();
    expect(await get(fresh)).toEqual({ status: 200, body: 'OK' });
    await old.close();
    expect(await get(fresh)).toEqual({ status: 200, body: 'OK' });
  });

  it('answers 503 Shutting down after shutdown, but not for a reload', async () => {
    const proc = { reloading: true };
    const p = make('ready 127.0.0.1:0', [], proc);
    await p.start();
    p.shutdown();
    expect(await get(p)).toEqual({ status: 200, body: 'OK' });
    proc.reloading = false;
    p.shutdown();
    expect(await get(p)).toEqual({ status: 503, body: 'Shutting down' });
  });

  it('defaults to :8181 until-ready and rejects bad options', () => {
    expect(parseReady(directive('ready'))).toEqual({ address: ':8181', continuously: false });
    expect(() => parseReady(directive('ready 8181'))).toThrow(/missing port in address/);
    expect(() => parseReady(directive('ready {\n monitor sometimes\n}'))).toThrow(/Corefile:3 - Error during parsing: plugin\/ready: monitor must be/);
    expect(() => parseReady(directive('ready {\n check 1s\n}'))).toThrow(/unknown property 'check'/);
  });
});
