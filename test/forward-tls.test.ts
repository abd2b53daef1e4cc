// forward to a DNS-over-TLS upstream: a tiny DoT server with a self-signed certificate made by
// openssl at test time.

import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import dnsPacket from 'dns-packet';
import { startServer, query, type RunningServer } from './harness.js';
import { answerFromRecords, parseRecord, serveStream, writeFramed } from './fake-upstream.js';
import { registry } from '../src/metrics/registry.js';
import { makeRequest } from '../src/dns/request.js';
import type { Forward } from '../src/plugins/forward/forward.js';

const forwardOf = (s: RunningServer) => s.server.instance!.allPlugins().find((p) => p.name === 'forward') as Forward;

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
if (!hasOpenssl) console.warn('forward-tls: openssl not found, skipping the DoT tests');

interface DotServer {
  port: number;
  queries: number;
  connections: number;
  close(): Promise<void>;
}

/** A DoT server answering from `records`, with the given certificate. */
async function startDot(certFile: string, keyFile: string, records: string[]): Promise<DotServer> {
  const rrs = records.map(parseRecord);
  const state = { queries: 0, connections: 0 };
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (c) => {
    state.connections++;
    serveStream(c, sockets, (raw) => {
      const msg = dnsPacket.decode(raw);
      state.queries++;
      const q = msg.questions![0];
      const a = answerFromRecords(rrs, { name: q.name, type: q.type, class: 'IN' });
      writeFramed(c, dnsPacket.encode({
        type: 'response', id: msg.id, questions: [q],
        flags: dnsPacket.AUTHORITATIVE_ANSWER | (a.rcode === 'NXDOMAIN' ? 3 : 0),
        answers: (a.answers ?? []) as dnsPacket.Answer[],
      }));
    });
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    get queries() { return state.queries; },
    get connections() { return state.connections; },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.skipIf(!hasOpenssl)('forward over TLS', () => {
  let dir: string;
  let dot: DotServer;
  const servers: RunningServer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kdns-dot-'));
    writeFileSync(path.join(dir, 'san.cnf'), '[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=IP:127.0.0.1,DNS:dns.kdns.test\nbasicConstraints=critical,CA:true\n');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=dns.kdns.test', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      '-config', path.join(dir, 'san.cnf'), '-extensions', 'ext',
    ], { stdio: 'pipe' });
    dot = await startDot(path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'), ['secure.test. 300 IN A 192.0.2.44']);
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  afterAll(async () => {
    await dot?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function kdns(body: string): Promise<RunningServer> {
    const s = await startServer(`.:0 {\n${body}\n}\n`);
    servers.push(s);
    return s;
  }

  it('answers through a DoT upstream whose certificate the configured CA signs, reusing the connection', async () => {
    const s = await kdns(`forward . tls://127.0.0.1:${dot.port} {\n tls ${path.join(dir, 'cert.pem')}\n}`);
    const before = dot.connections;
    for (let i = 0; i < 3; i++) {
      const r = await query(s.port, 'secure.test', 'A');
      expect(r.answers?.map((a: any) => a.data)).toEqual(['192.0.2.44']);
    }
    expect(dot.connections - before).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain(`coredns_proxy_conn_cache_hits_total{proxy_name="forward",to="127.0.0.1:${dot.port}",proto="tcp-tls"} 2`);
  });

  it('verifies the server name given as tls://IP%NAME', async () => {
    const s = await kdns(`forward . tls://127.0.0.1%dns.kdns.test:${dot.port} {\n tls ${path.join(dir, 'cert.pem')}\n}`);
    const r = await query(s.port, 'secure.test', 'A', { tcp: true });
    expect(r.answers?.map((a: any) => a.data)).toEqual(['192.0.2.44']);
  });

  it('refuses an upstream whose certificate does not match tls_servername', async () => {
    const s = await kdns(`forward . tls://127.0.0.1:${dot.port} {\n tls ${path.join(dir, 'cert.pem')}\n tls_servername other.example\n max_connect_attempts 1\n}`);
    const queriesBefore = dot.queries;
    const r = await query(s.port, 'secure.test', 'A');
    expect(r.rcode).toBe('SERVFAIL');
    expect(dot.queries).toBe(queriesBefore);
    const res = await forwardOf(s).handle(makeRequest('secure.test', 1), () => { throw new Error('no next'); });
    expect(res.error?.message).toMatch(new RegExp(`^dial tcp 127\\.0\\.0\\.1:${dot.port}: tls: Hostname/IP does not match certificate's altnames`));
  });

  it('refuses an upstream whose certificate no trusted CA signs', async () => {
    const s = await kdns(`forward . tls://127.0.0.1:${dot.port} {\n max_connect_attempts 1\n}`);
    expect((await query(s.port, 'secure.test', 'A')).rcode).toBe('SERVFAIL');
    const res = await forwardOf(s).handle(makeRequest('secure.test', 1), () => { throw new Error('no next'); });
    expect(res.error?.message).toContain('self-signed certificate');
  });
});
