// The server core on the wire: routing, EDNS, truncation, TCP, malformed input, plugin failures.

import { describe, it, expect, afterEach } from 'vitest';
import dnsPacket from 'dns-packet';
import net from 'node:net';
import { startServer, query, exchangeRaw, buildQuery, type RunningServer } from './harness.js';
import { PLUGINS } from '../src/plugins/registry.js';
import type { PluginDefinition } from '../src/plugins/types.js';
import { RCODE } from '../src/dns/constants.js';

const many: PluginDefinition = {
  name: 'testmany',
  setup: () => ({
    name: 'testmany',
    handle: (req) => ({
      rcode: RCODE.NOERROR,
      aa: true,
      answers: Array.from({ length: 100 }, (_, i) => ({ name: req.question.name, type: 'A', class: 'IN', ttl: 5, data: `10.0.${i >> 8}.${i & 255}` })),
      authorities: [],
      additionals: [],
    }),
  }),
};
const boom: PluginDefinition = {
  name: 'testboom',
  setup: () => ({ name: 'testboom', handle: () => { throw new Error('boom'); } }),
};
const slow: PluginDefinition = {
  name: 'testslow',
  setup: () => ({
    name: 'testslow',
    handle: async (req) => {
      const ms = Number(req.question.lname.split('.')[0].replace('ms', '')) || 0;
      await new Promise((r) => setTimeout(r, ms));
      return { rcode: RCODE.NOERROR, answers: [{ name: req.question.name, type: 'TXT', ttl: 0, data: req.question.name }], authorities: [], additionals: [] };
    },
  }),
};
const definitions = { ...PLUGINS, testmany: many, testboom: boom, testslow: slow };

let srv: RunningServer | null = null;
afterEach(async () => {
  await srv?.close();
  srv = null;
});

describe('server core', () => {
  it('answers whoami with the client address and port', async () => {
    srv = await startServer('.:0 {\n  whoami\n}\n');
    const r = await query(srv.port, 'example.org.', 'A');
    expect((r as any).rcode).toBe('NOERROR');
    const a = r.additionals!.find((x) => x.type === 'A') as any;
    expect(a.data).toBe('127.0.0.1');
    const srvRec = r.additionals!.find((x) => x.type === 'SRV') as any;
    expect(srvRec.name).toBe('_udp.example.org');
  });

  it('answers REFUSED when no server block zone matches', async () => {
    srv = await startServer('example.org:0 {\n  whoami\n}\n');
    const r = await query(srv.port, 'www.example.com.', 'A');
    expect((r as any).rcode).toBe('REFUSED');
    const ok = await query(srv.port, 'WWW.Example.ORG.', 'A');
    expect((ok as any).rcode).toBe('NOERROR');
  });

  it('routes by the longest zone suffix on label boundaries', async () => {
    srv = await startServer('example.org:0 {\n  whoami\n}\nsub.example.org:0 {\n  testboom\n}\n', { definitions });
    expect((await query(srv.port, 'a.sub.example.org.', 'A') as any).rcode).toBe('SERVFAIL');
    expect((await query(srv.port, 'a.xsub.example.org.', 'A') as any).rcode).toBe('NOERROR');
  });

  it('turns an exception in a plugin into SERVFAIL and keeps serving', async () => {
    srv = await startServer('.:0 {\n  testboom\n}\n', { definitions });
    const r = await query(srv.port, 'x.', 'A');
    expect((r as any).rcode).toBe('SERVFAIL');
    expect((await query(srv.port, 'y.', 'A') as any).rcode).toBe('SERVFAIL');
    expect(srv.logs.join('\n')).toMatch(/boom/);
  });

  it('echoes EDNS with the DO bit and answers BADVERS for EDNS version 1', async () => {
    srv = await startServer('.:0 {\n  whoami\n}\n');
    const r = await query(srv.port, 'x.', 'A', { udpSize: 1232, do: true });
    const opt = r.additionals!.find((x) => x.type === 'OPT') as any;
    expect(opt).toBeDefined();
    expect(opt.udpPayloadSize).toBe(1232);
    expect(opt.flags & dnsPacket.DNSSEC_OK).toBeTruthy();
    const q = dnsPacket.encode({ type: 'query', id: 7, flags: 0, questions: [{ name: 'x', type: 'A', class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 1, flags: 0 } as any] });
    const raw = await exchangeRaw(srv.port, q);
    // BADVERS = 16: header rcode 0, extended rcode 1 in the OPT TTL.
    expect(raw[3] & 0xf).toBe(0);
    const dec = dnsPacket.decode(raw) as any;
    const ropt = dec.additionals.find((x: any) => x.type === 'OPT');
    expect(ropt.extendedRcode).toBe(1);
  });

  it('truncates a UDP answer at a record boundary and sets TC; TCP gets everything', async () => {
    srv = await startServer('.:0 {\n  testmany\n}\n', { definitions });
    const raw = await exchangeRaw(srv.port, buildQuery('big.example.', 'A'));
    expect(raw.length).toBeLessThanOrEqual(512);
    const r = dnsPacket.decode(raw) as any;
    expect(r.flag_tc).toBe(true);
    expect(r.answers.length).toBeGreaterThan(0);
    expect(r.answers.length).toBeLessThan(100);
    const big = await exchangeRaw(srv.port, buildQuery('big.example.', 'A', { udpSize: 4096 }));
    expect((dnsPacket.decode(big) as any).answers.length).toBe(100);
    const t = await query(srv.port, 'big.example.', 'A', { tcp: true });
    expect(t.answers!.length).toBe(100);
    expect((t as any).flag_tc).toBe(false);
  });

  it('answers pipelined TCP queries on one connection as they complete', async () => {
    srv = await startServer('.:0 {\n  testslow\n}\n', { definitions });
    const c = net.connect({ host: '127.0.0.1', port: srv.port });
    await new Promise((r) => c.on('connect', r));
    const frames = ['300ms.x.', '1ms.x.', '100ms.x.'].map((n, i) => {
      const q = buildQuery(n, 'TXT', { id: i + 1 });
      const l = Buffer.alloc(2);
      l.writeUInt16BE(q.length);
      return Buffer.concat([l, q]);
    });
    c.write(Buffer.concat(frames));
    const order: number[] = [];
    let buf = Buffer.alloc(0);
    await new Promise<void>((resolve) => {
      c.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const n = buf.readUInt16BE(0);
          order.push(buf.readUInt16BE(2));
          buf = buf.subarray(2 + n);
        }
        if (order.length === 3) resolve();
      });
    });
    c.destroy();
    expect(order).toEqual([2, 3, 1]);
  });

  it('answers FORMERR to a message whose header is readable but body is not, and NOTIMP to other opcodes', async () => {
    srv = await startServer('.:0 {\n  whoami\n}\n');
    const bad = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f, 0x61]);
    const r = await exchangeRaw(srv.port, bad);
    expect(r.readUInt16BE(0)).toBe(0x1234);
    expect(r[3] & 0xf).toBe(RCODE.FORMERR);
    const upd = buildQuery('x.', 'A');
    upd[2] = (upd[2] & 0x87) | (5 << 3);
    const u = await exchangeRaw(srv.port, upd);
    expect(u[3] & 0xf).toBe(RCODE.NOTIMP);
    await expect(exchangeRaw(srv.port, Buffer.from([1, 2, 3]), { timeoutMs: 300 })).rejects.toThrow(/timed out/);
  });

  it('keeps answering after hundreds of malformed UDP and TCP messages', async () => {
    srv = await startServer('.:0 {\n  whoami\n}\n');
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const good = buildQuery('fuzz.example.', 'A', { udpSize: 1232 });
    const msgs: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(good);
      const kind = i % 3;
      if (kind === 0) for (let k = 0; k < 4; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const len = kind === 1 ? Math.floor(rnd() * b.length) : b.length;
      msgs.push(kind === 2 ? Buffer.from(Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256))) : b.subarray(0, len));
    }
    const dgram = await import('node:dgram');
    const s = dgram.createSocket('udp4');
    for (const m of msgs) s.send(m, srv.port, '127.0.0.1');
    const c = net.connect({ host: '127.0.0.1', port: srv.port });
    await new Promise((r) => c.on('connect', r));
    for (const m of msgs.slice(0, 100)) {
      const l = Buffer.alloc(2);
      l.writeUInt16BE(m.length);
      c.write(Buffer.concat([l, m]));
    }
    c.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    await new Promise((r) => setTimeout(r, 200));
    c.destroy();
    s.close();
    expect((await query(srv.port, 'after.example.', 'A') as any).rcode).toBe('NOERROR');
    expect((await query(srv.port, 'after.example.', 'A', { tcp: true }) as any).rcode).toBe('NOERROR');
  });

  it('rejects an unknown directive with file:line', async () => {
    await expect(startServer('.:0 {\n  whoami\n  nosuchplugin\n}\n', { file: undefined })).rejects.toThrow(/Corefile\.test:3 - Error during parsing: Unknown directive 'nosuchplugin'/);
  });

  it('rejects a zone served twice on one port', async () => {
    await expect(startServer('example.org:0 {\n  whoami\n}\nexample.org:0 {\n  whoami\n}\n')).rejects.toThrow(/already defined/);
  });
});
