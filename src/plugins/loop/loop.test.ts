import { afterEach, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { parseCorefile } from '../../corefile/parser.js';
import { emptyResponse } from '../../dns/message.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { makeRequest } from '../../dns/request.js';
import { parseQuery } from '../../dns/query.js';
import { encodeResponse } from '../../dns/wire.js';
import { createLogger } from '../../log/logger.js';
import type { SetupContext } from '../types.js';
import { blockTarget, loop, LoopPlugin, probeName, type LoopDeps } from './index.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function make(deps: Partial<LoopDeps> = {}, zone = 'cluster.local.') {
  const lines: string[] = [];
  const exits: number[] = [];
  const p = new LoopPlugin(zone, {
    log: createLogger({ write: (l) => lines.push(l) }),
    exit: (c) => exits.push(c),
    target: { host: '127.0.0.1', port: 53, display: ':53' },
    ...deps,
  });
  cleanup.push(() => p.close());
  return { p, lines, exits };
}

const next = () => emptyResponse(RCODE.SERVFAIL);
const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
};

/** A UDP responder on 127.0.0.1 that answers every query (or stays silent). */
async function responder(answer: boolean) {
  const sock = dgram.createSocket('udp4');
  const seen: string[] = [];
  sock.on('message', (msg, rinfo) => {
    const q = parseQuery(msg);
    seen.push(`${q.question?.name} ${q.question?.type}`);
    if (answer) sock.send(encodeResponse({ id: q.id, opcode: 0, rd: q.rd, cd: false, question: q.question, edns: null }, emptyResponse(RCODE.NXDOMAIN), 512), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  cleanup.push(() => sock.close());
  return { port: sock.address().port, seen };
}

describe('loop', () => {
  it('probes with two random numeric labels under the zone', () => {
    expect(probeName('cluster.local.')).toMatch(/^\d+\.\d+\.cluster\.local\.$/);
    expect(probeName('.')).toMatch(/^\d+\.\d+\.$/);
    expect(probeName('.')).not.toBe(probeName('.'));
  });

  it('exits with status 1 when the probe comes back a third time', () => {
    const { p, lines, exits } = make();
    const req = makeRequest(p.qname.toUpperCase(), TYPE.HINFO, { remoteAddress: '127.0.0.1', remotePort: 55386 });
    p.handle(req, next);
    p.handle(req, next);
    expect(exits).toEqual([]);
    p.handle(req, next);
    p.handle(req, next);
    expect(exits).toEqual([1]);
    expect(lines).toEqual([
      `[ERROR] plugin/loop: Loop (127.0.0.1:55386 -> :53) detected for zone "cluster.local.", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO ${p.qname}"`,
    ]);
  });

  it('counts only HINFO queries for exactly the probe name', () => {
    const { p, exits } = make();
    for (let i = 0; i < 5; i++) {
      p.handle(makeRequest(p.qname, TYPE.A), next);
      p.handle(makeRequest(`x.${p.qname}`, TYPE.HINFO), next);
    }
    expect(exits).toEqual([]);
  });

  it('sends the probe to its own address and steps aside once answered', async () => {
    const r = await responder(true);
    const { p, exits } = make({ target: { host: '127.0.0.1', port: r.port, display: `:${r.port}` }, graceMs: 50 });
    p.start();
    expect(await until(() => p.disabled)).toBe(true);
    expect(r.seen).toEqual([`${p.qname} HINFO`]);
    const req = makeRequest(p.qname, TYPE.HINFO);
    for (let i = 0; i < 4; i++) p.handle(req, next);
    expect(exits).toEqual([]);
  });

  it('retries an unanswered probe and gives up when the window ends', async () => {
    const r = await responder(false);
    const { p } = make({ target: { host: '127.0.0.1', port: r.port, display: '' }, probeWindowMs: 250, probeTimeoutMs: 50, retryAfterMs: 20 });
    p.start();
    expect(await until(() => p.disabled)).toBe(true);
    expect(r.seen.length).toBeGreaterThan(1);
  });

  it('starts counting afresh for each retry, so a slow upstream is not taken for a loop (as CoreDNS resets)', async () => {
    // The server sees each try of the probe once, but no reply comes back in time (a silent
    // upstream behind forward): several tries must not add up to "seen three times".
    const sock = dgram.createSocket('udp4');
    let plugin: LoopPlugin | null = null;
    let tries = 0;
    sock.on('message', (msg) => {
      tries++;
      plugin?.handle(makeRequest(parseQuery(msg).question!.name, TYPE.HINFO), next);
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    cleanup.push(() => sock.close());
    const { p, exits } = make({ target: { host: '127.0.0.1', port: sock.address().port, display: '' }, probeWindowMs: 400, probeTimeoutMs: 30, retryAfterMs: 10 });
    plugin = p;
    p.start();
    expect(await until(() => p.disabled)).toBe(true);
    expect(tries).toBeGreaterThan(3);
    expect(exits).toEqual([]);
  });

  it('does not probe when the port is not known', () => {
    const { p } = make({ target: null });
    p.start();
    expect(p.disabled).toBe(true);
  });

  it('aims at the first bind address, loopback for wildcards', () => {
    const block = { zones: ['.'], port: 53, server: '', bind: [] as string[], corefile: '' };
    expect(blockTarget(block)).toEqual({ host: '127.0.0.1', port: 53, display: ':53' });
    expect(blockTarget({ ...block, bind: ['::'] })).toEqual({ host: '::1', port: 53, display: '[::]:53' });
    expect(blockTarget({ ...block, bind: ['10.0.0.5'] })).toEqual({ host: '10.0.0.5', port: 53, display: '10.0.0.5:53' });
  });

  it('takes no arguments and watches the first zone of the block', () => {
    const d = (body: string) => parseCorefile(`example.org other.org {\n${body}\n}\n`, '/tmp/Corefile')[0].directives[0];
    const ctx = { block: { zones: ['example.org.', 'other.org.'], port: 0, bind: [] }, log: createLogger({ write: () => {} }) } as unknown as SetupContext;
    expect(() => loop.setup(d('loop 1'), ctx)).toThrow(/Corefile:2 - Error during parsing: plugin\/loop: this plugin takes no arguments/);
    const p = loop.setup(d('loop'), ctx) as LoopPlugin;
    cleanup.push(() => p.close());
    expect(p.qname.endsWith('.example.org.')).toBe(true);
  });
});
