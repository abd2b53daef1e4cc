// `kdns -workers N`: one primary runs the API watches and N workers answer, through the real CLI
// against the API test double. Which worker answers a TCP query is decided by the primary's
// round-robin, so a run of new TCP connections reaches every worker; UDP goes to whichever worker
// reads the shared socket first.

import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startKdnsProcess, type KdnsProcess } from './procs.js';
import { query } from './harness.js';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.js';
import { resolveWorkers } from '../src/server/workers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-workers-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const NS = 'shop';

function service(name: string, ip: string) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  };
}

function exitOf(k: KdnsProcess): Promise<number | null> {
  return new Promise((r) => {
    if (k.proc.exitCode !== null) r(k.proc.exitCode);
    else k.proc.on('exit', (c) => r(c));
  });
}

/** PIDs whose parent is `ppid` (Linux /proc). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The primary prints the banner once every worker serves. */
async function waitForBanner(k: KdnsProcess, timeoutMs = 30000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!/^kdns-\d/m.test(k.output())) {
    if (k.proc.exitCode !== null) throw new Error(`kdns exited with ${k.proc.exitCode}:\n${k.output()}`);
    if (Date.now() > until) throw new Error(`no banner in ${timeoutMs} ms:\n${k.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function answer(port: number, name: string, tcp = false): Promise<string> {
  const r = await query(port, name, 'A', { tcp, timeoutMs: 1000 });
  const rcode = (r as { rcode?: string }).rcode ?? '?';
  return rcode === 'NOERROR' ? (r.answers ?? []).map((a) => String((a as { data?: unknown }).data)).join(',') : rcode;
}

/** The answers of `n` queries over new TCP connections (round-robin: every worker gets some). */
async function tcpAnswers(port: number, name: string, n = 6): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await answer(port, name, true));
  return out;
}

async function requestsTotal(metricsPort: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(res.status).toBe(200);
  let sum = 0;
  for (const line of (await res.text()).split('\n')) {
    if (line.startsWith('coredns_dns_requests_total{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

describe('kdns -workers 2 against the API test double', () => {
  let api: FakeApiServer;
  let kdns: KdnsProcess;
  let port: number;
  let metricsPort: number;

  beforeAll(async () => {
    api = await startFakeApiServer({ objects: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      service('web', '10.0.0.10'),
    ] });
    port = await freePort();
    metricsPort = await freePort();
    const f = path.join(dir, 'Corefile');
    writeFileSync(f, `.:${port} {\n    kubernetes cluster.local {\n        endpoint ${api.url}\n    }\n    prometheus 127.0.0.1:${metricsPort}\n}\n`);
    kdns = startKdnsProcess(['-conf', f, '-workers', '2']);
    await waitForBanner(kdns);
  });

  afterAll(async () => {
    await kdns?.stop('SIGKILL');
    await api?.close();
  });

  it('runs two workers and prints the banner once', () => {
    expect(childrenOf(kdns.proc.pid!)).toHaveLength(2);
    expect(kdns.output().match(/^kdns-\d/gm)).toHaveLength(1);
    expect(kdns.output()).toContain(`.:${port}`);
  });

  it('answers over UDP and TCP', async () => {
    expect(await answer(port, `web.${NS}.svc.cluster.local.`)).toBe('10.0.0.10');
    expect(await tcpAnswers(port, `web.${NS}.svc.cluster.local.`)).toEqual(Array(6).fill('10.0.0.10'));
  });

  it('opens one watch per resource for all workers', () => {
    const watches = api.counters.watches;
    expect(Object.keys(watches)).toEqual(expect.arrayContaining(['services', 'namespaces']));
    for (const [resource, n] of Object.entries(watches)) expect([resource, n]).toEqual([resource, 1]);
    for (const [resource, n] of Object.entries(api.counters.lists)) expect([resource, n]).toEqual([resource, 1]);
    expect(api.openWatches()).toBe(Object.keys(watches).length);
  });

  it('answers a Service added through the API on every worker within 1 s', async () => {
    const name = `fresh.${NS}.svc.cluster.local.`;
    expect(await answer(port, name)).toBe('NXDOMAIN');
    const t0 = Date.now();
    api.add(service('fresh', '10.0.77.1'));
    await expect.poll(() => tcpAnswers(port, name, 4), { timeout: 1000, interval: 10 }).toEqual(Array(4).fill('10.0.77.1'));
    expect(Date.now() - t0).toBeLessThan(1000);
    for (let i = 0; i < 10; i++) expect(await answer(port, name)).toBe('10.0.77.1');
  });

  it('counts the queries of every worker in /metrics, whichever worker serves the scrape', async () => {
    const before = await requestsTotal(metricsPort);
    await tcpAnswers(port, `web.${NS}.svc.cluster.local.`, 10);
    for (let i = 0; i < 10; i++) await answer(port, `web.${NS}.svc.cluster.local.`);
    // Each scrape is a new connection, so the scrapes too are spread over the workers.
    for (let i = 0; i < 4; i++) expect(await requestsTotal(metricsPort)).toBe(before + 20);
  });

  it('reports a headless slice change once in the programming histogram, not once per worker', async () => {
    api.add({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: NS }, spec: { clusterIP: 'None', clusterIPs: ['None'], selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] } });
    api.add({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
      metadata: { name: 'db-1', namespace: NS, labels: { 'kubernetes.io/service-name': 'db' }, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date(Date.now() - 100).toISOString() } },
      endpoints: [{ addresses: ['10.1.0.5'], conditions: { ready: true } }],
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    });
    await expect.poll(() => tcpAnswers(port, `db.${NS}.svc.cluster.local.`, 4), { timeout: 2000, interval: 20 }).toEqual(Array(4).fill('10.1.0.5'));
    const count = async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return text.match(/^coredns_kubernetes_dns_programming_duration_seconds_count\{service_kind="headless_with_selector"\} (\d+)$/m)?.[1];
    };
    await expect.poll(count, { timeout: 2000, interval: 50 }).toBe('1');
    for (let i = 0; i < 4; i++) expect(await count()).toBe('1');
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(new RegExp(`^coredns_kubernetes_rest_client_requests_total\\{code="200",host="127\\.0\\.0\\.1:${api.port}",method="GET"\\} \\d+$`, 'm'));
  });

  it('replaces a worker that dies, and the replacement knows the current cluster', async () => {
    const [victim] = childrenOf(kdns.proc.pid!);
    process.kill(victim, 'SIGKILL');
    // Changes keep flowing while the worker is dying: the primary's sends to it fail (EPIPE)
    // before its exit is seen, which must not take the primary down.
    for (let i = 0; i < 50; i++) api.add(service(`burst${i}`, `10.0.78.${i + 1}`));
    api.add(service('whiledead', '10.0.77.2'));
    try {
      await expect.poll(() => childrenOf(kdns.proc.pid!).filter((p) => p !== victim).length, { timeout: 15000, interval: 100 }).toBe(2);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nkdns (exit ${kdns.proc.exitCode}) output:\n${kdns.output()}`);
    }
    const name = `whiledead.${NS}.svc.cluster.local.`;
    await expect.poll(() => tcpAnswers(port, name, 4).catch((e) => [String(e)]), { timeout: 15000, interval: 100 }).toEqual(Array(4).fill('10.0.77.2'));
    expect(await tcpAnswers(port, `fresh.${NS}.svc.cluster.local.`, 4)).toEqual(Array(4).fill('10.0.77.1'));
    expect(api.counters.watches.services).toBe(1);
  });

  it('exits 0 on SIGTERM and leaves no processes', async () => {
    const workers = childrenOf(kdns.proc.pid!);
    expect(workers).toHaveLength(2);
    expect(await kdns.stop('SIGTERM')).toBe(0);
    for (const pid of workers) await expect.poll(() => alive(pid), { timeout: 5000 }).toBe(false);
    expect(kdns.output().match(/Shutting down/g)).toHaveLength(1);
  });
});

describe('kdns -workers startup', () => {
  let p: KdnsProcess | null = null;
  afterEach(async () => {
    await p?.stop('SIGKILL');
    p = null;
  });

  it('exits non-zero with the file:line of a Corefile mistake, printed once', async () => {
    const f = path.join(dir, 'Corefile.bad');
    writeFileSync(f, '.:0 {\n    whoami\n    whoareyou\n}\n');
    p = startKdnsProcess(['-conf', f, '-workers', '3']);
    expect(await exitOf(p)).toBe(1);
    const msg = `${f}:3 - Error during parsing: Unknown directive 'whoareyou'`;
    expect(p.output().split(msg).length - 1).toBe(1);
    expect(childrenOf(p.proc.pid!)).toEqual([]);
  });

  it('reloads every worker on SIGUSR1', async () => {
    const dnsPort = await freePort();
    const f = path.join(dir, 'Corefile.reload');
    writeFileSync(f, `.:${dnsPort} {\n    whoami\n}\n`);
    p = startKdnsProcess(['-conf', f, '-workers', '2']);
    await waitForBanner(p);
    writeFileSync(f, `.:${dnsPort} {\n    whoami\n    errors\n}\n`);
    p.proc.kill('SIGUSR1');
    await expect.poll(() => p!.output().match(/Reloading complete/g)?.length ?? 0, { timeout: 10000 }).toBe(2);
    expect((await query(dnsPort, 'example.org.', 'A', { tcp: true }) as { rcode?: string }).rcode).toBe('NOERROR');
  });

  it('takes -workers 0 as one worker per available CPU', () => {
    expect(resolveWorkers(0)).toBe(os.availableParallelism());
    expect(resolveWorkers(3)).toBe(3);
  });

  it('rejects a negative -workers', async () => {
    p = startKdnsProcess(['-workers', '-1']);
    expect(await exitOf(p)).toBe(2);
    expect(p.output()).toMatch(/-workers/);
  });
});
