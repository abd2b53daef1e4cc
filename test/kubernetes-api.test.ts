// The kubernetes plugin fed by list/watch from our API test double, through the real server:
// changes show up in answers, watch cuts and 410 Gone are survived, an unreachable API does not
// turn unknown names into NXDOMAIN.

import { describe, it, expect, afterEach, beforeEach } from 'vitest';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { startServer, query, type RunningServer } from './harness.js';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.js';
import { sharedDir, repoRoot, freePort, startKdnsProcess, type KdnsProcess } from './procs.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const clusterFile = sharedDir ? path.join(sharedDir, 'conformance', 'cluster.json') : path.join(repoRoot, 'examples', 'cluster.yaml');
const NAME = sharedDir ? 'svc1.testns.svc.cluster.local.' : 'web.shop.svc.cluster.local.';
const NS = sharedDir ? 'testns' : 'shop';

let api: FakeApiServer | null = null;
let srv: RunningServer | null = null;

afterEach(async () => {
  await srv?.close();
  await api?.close();
  srv = null;
  api = null;
});

function corefile(endpoint: string, extra = ''): string {
  return `.:0 {\n  kubernetes cluster.local in-addr.arpa ip6.arpa {\n    endpoint ${endpoint}\n    pods insecure\n${extra}  }\n}\n`;
}

function service(name: string, ip: string, port = 80) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port, protocol: 'TCP' }] },
  };
}

async function answersOf(name: string, type = 'A') {
  const r = await query(srv!.port, name, type);
  return { rcode: (r as any).rcode as string, data: (r.answers ?? []).map((a: any) => (typeof a.data === 'object' ? a.data.port : a.data)) };
}

describe('kubernetes plugin against the API test double', () => {
  beforeEach(async () => {
    api = await startFakeApiServer(sharedDir ? { file: clusterFile } : { objects: (yaml.load(readFileSync(clusterFile, 'utf8')) as any).items });
  });

  it('answers a Service added, changed and deleted through the API within 1 s', async () => {
    srv = await startServer(corefile(api!.url));
    const name = `fresh.${NS}.svc.cluster.local.`;
    expect((await answersOf(name)).rcode).toBe('NXDOMAIN');
    api!.add(service('fresh', '10.0.77.1'));
    await expect.poll(() => answersOf(name), { timeout: 1000, interval: 20 }).toEqual({ rcode: 'NOERROR', data: ['10.0.77.1'] });
    api!.update(service('fresh', '10.0.77.1', 8080));
    await expect.poll(async () => (await answersOf(`_http._tcp.${name}`, 'SRV')).data, { timeout: 1000, interval: 20 }).toEqual([8080]);
    api!.delete({ kind: 'Service', metadata: { name: 'fresh', namespace: NS } });
    await expect.poll(async () => (await answersOf(name)).rcode, { timeout: 1000, interval: 20 }).toBe('NXDOMAIN');
  });

  it('recovers after every watch stream is cut, keeping what it knew', async () => {
    srv = await startServer(corefile(api!.url));
    const before = await answersOf(NAME);
    expect(before.rcode).toBe('NOERROR');
    api!.cutWatches();
    expect(await answersOf(NAME)).toEqual(before);
    api!.add(service('aftercut', '10.0.77.2'));
    await expect.poll(() => answersOf(`aftercut.${NS}.svc.cluster.local.`), { timeout: 3000, interval: 50 }).toEqual({ rcode: 'NOERROR', data: ['10.0.77.2'] });
    expect(await answersOf(NAME)).toEqual(before);
  });

  it('relists after 410 Gone and applies what changed meanwhile', async () => {
    srv = await startServer(corefile(api!.url));
    const before = await answersOf(NAME);
    api!.expireResourceVersion({ notifyOpenWatches: true });
    api!.add(service('aftergone', '10.0.77.3'));
    await expect.poll(() => answersOf(`aftergone.${NS}.svc.cluster.local.`), { timeout: 3000, interval: 50 }).toEqual({ rcode: 'NOERROR', data: ['10.0.77.3'] });
    expect(await answersOf(NAME)).toEqual(before);
  });

  it('keeps serving the last known state while the API is down', async () => {
    srv = await startServer(corefile(api!.url));
    const before = await answersOf(NAME);
    api!.setDown(true);
    api!.cutWatches();
    await new Promise((r) => setTimeout(r, 300));
    expect(await answersOf(NAME)).toEqual(before);
    expect((await answersOf(`nosuch.${NS}.svc.cluster.local.`)).rcode).toBe('NXDOMAIN');
  });

  it('falls back to core/v1 Endpoints when the API has no EndpointSlices', async () => {
    api!.disableEndpointSlices(true);
    api!.add(service('legacy', 'None'));
    const svc = api!.get('Service', 'legacy', NS)!;
    svc.spec.clusterIPs = ['None'];
    api!.update(svc);
    api!.add({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'legacy', namespace: NS }, subsets: [{ addresses: [{ ip: '10.9.9.9', hostname: 'one' }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }] });
    srv = await startServer(corefile(api!.url));
    await expect.poll(() => answersOf(`one.legacy.${NS}.svc.cluster.local.`), { timeout: 3000, interval: 50 }).toEqual({ rcode: 'NOERROR', data: ['10.9.9.9'] });
  });
});

describe('kubernetes plugin with the API unreachable', () => {
  it('answers SERVFAIL instead of NXDOMAIN before the first sync', async () => {
    const port = await freePort();
    srv = await startServer(corefile(`http://127.0.0.1:${port}`, '    startup_timeout 500ms\n'));
    const r = await query(srv.port, 'nosuch.default.svc.cluster.local.', 'A');
    expect((r as any).rcode).toBe('SERVFAIL');
    expect(r.authorities?.[0]?.type).toBe('SOA');
  });

  it('serves /health 200 and /ready 503 "kubernetes" while it waits for the API, as CoreDNS', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-unsynced-'));
    let p: KdnsProcess | null = null;
    try {
      const [dns, api, health, ready] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const file = path.join(dir, 'Corefile');
      writeFileSync(file, `.:${dns} {\n  health 127.0.0.1:${health}\n  ready 127.0.0.1:${ready}\n  kubernetes cluster.local {\n    endpoint http://127.0.0.1:${api}\n    startup_timeout 3s\n  }\n}\n`);
      p = startKdnsProcess(['-conf', file]);
      const get = async (port: number, what: string) => {
        const res = await fetch(`http://127.0.0.1:${port}/${what}`);
        return `${res.status} ${(await res.text()).trim()}`;
      };
      // During the startup wait: the probes answer, DNS does not listen yet.
      await expect.poll(() => get(health, 'health').catch((e) => String(e)), { timeout: 2500, interval: 50 }).toBe('200 OK');
      expect(await get(ready, 'ready')).toBe('503 kubernetes');
      await expect(query(dns, 'nosuch.default.svc.cluster.local.', 'A', { timeoutMs: 200 })).rejects.toThrow();
      // After startup_timeout: DNS serves (SERVFAIL for unknown names), still not ready.
      await expect.poll(async () => ((await query(dns, 'nosuch.default.svc.cluster.local.', 'A', { timeoutMs: 300 }).catch(() => null)) as any)?.rcode, { timeout: 6000, interval: 100 }).toBe('SERVFAIL');
      expect(await get(ready, 'ready')).toBe('503 kubernetes');
      expect(p.output()).toMatch(/starting server with unsynced Kubernetes API/);
    } finally {
      await p?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20000);
});
