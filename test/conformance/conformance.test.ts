// The shared conformance cases, run against the real `kdns` CLI: for each profile (a Corefile),
// kdns reads the cluster from our Kubernetes API test double (list + watch of cluster.json) and
// forwards to a fake upstream with the file's records; every case is queried over UDP (TCP when
// truncated) and compared by the file's conventions.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sharedDir, freePort, startKdnsProcess, waitForDns, type KdnsProcess } from '../procs.js';
import { query } from '../harness.js';
import { compareReply, type Case } from './compare.js';
import { adaptCorefile } from './corefile.js';
import { startFakeApiServer } from '../fake-apiserver.js';
import { startFakeUpstream } from '../fake-upstream.js';

const cases = sharedDir ? JSON.parse(readFileSync(path.join(sharedDir, 'conformance', 'cases.json'), 'utf8')) : null;

describe.skipIf(!cases)('conformance cases from shared/conformance', () => {
  const profiles: Record<string, { corefile: string }> = cases?.profiles ?? {};
  const all: Case[] = cases?.cases ?? [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-conformance-'));
  let api: Awaited<ReturnType<typeof startFakeApiServer>>;
  let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;
  const servers = new Map<string, { port: number; proc: KdnsProcess; http: { health: number; ready: number; metrics: number } }>();

  beforeAll(async () => {
    api = await startFakeApiServer({ file: path.join(sharedDir!, 'conformance', 'cluster.json') });
    upstream = await startFakeUpstream({ records: cases.upstream.records });
    // One kdns per profile, started in parallel.
    await Promise.all(
      Object.entries(profiles).map(async ([name, prof]) => {
        const port = await freePort();
        const http = { health: await freePort(), ready: await freePort(), metrics: await freePort() };
        const file = path.join(dir, `Corefile.${name}`);
        writeFileSync(file, adaptCorefile(prof.corefile, { port, api: api.url, upstream: upstream.address, http }));
        const proc = startKdnsProcess(['-conf', file, '-quiet']);
        servers.set(name, { port, proc, http });
        await waitForDns(port, proc);
      }),
    );
  }, 120000);

  afterAll(async () => {
    await Promise.all([...servers.values()].map((s) => s.proc.stop()));
    await upstream?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const runnable = all.filter((c) => !c.precondition && !c.environment_dependent);
  it.each(runnable.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const srv = servers.get(c.profile);
    expect(srv, `profile ${c.profile} running`).toBeDefined();
    let reply = await query(srv!.port, c.qname, c.qtype, { udpSize: undefined });
    if (((reply.flags ?? 0) & (1 << 9)) !== 0) reply = await query(srv!.port, c.qname, c.qtype, { tcp: true });
    const problems = compareReply(c, reply);
    expect(problems, `${c.qname} ${c.qtype} (${c.profile})`).toEqual([]);
  });

  it('answers the apex NS with ns.dns.<zone> and glue for its own addresses, or the Service that selects it', async () => {
    const c = all.find((x) => x.name === 'apex-ns');
    if (!c) return;
    const reply = await query(servers.get(c.profile)!.port, c.qname, c.qtype);
    expect((reply as any).rcode).toBe('NOERROR');
    expect(reply.answers?.length).toBeGreaterThan(0);
    for (const a of reply.answers ?? []) expect(a.type).toBe('NS');
  });

  const httpChecks: [string, any][] = (cases?.http_checks ?? []).filter((h: any) => !h.precondition).map((h: any) => [h.name, h]);
  it.each(httpChecks)('http check %s', async (_n: string, h: any) => {
    const srv = servers.get(h.profile)!;
    const m = /GET http:\/\/<server>:(\d+)(\/\S*)/.exec(h.request)!;
    const port = m[1] === '8080' ? srv.http.health : m[1] === '8181' ? srv.http.ready : srv.http.metrics;
    const res = await fetch(`http://127.0.0.1:${port}${m[2]}`);
    const body = await res.text();
    expect(res.status).toBe(h.expect.status);
    if (h.expect.body !== undefined) expect(body.trim()).toBe(h.expect.body);
  });
});
