// The informer end to end against the Kubernetes API test double: initial list, watch events,
// resumption after cut watches, relist after 410 Gone, an unreachable API, the Endpoints fallback.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createInformer, createInformers, type KdnsInformer } from '../src/informer/informer.js';
import type { ChangeEvent, InformerOptions } from '../src/informer/types.js';
import { startFakeApiServer, type FakeApiServer, type FakeApiServerOptions } from './fake-apiserver.js';
import { recordingLogger, until, useCleanups } from './support/informer.js';

const clusterFile = fileURLToPath(new URL('../../shared/conformance/cluster.json', import.meta.url));
const legacyFile = fileURLToPath(new URL('./fixtures/informer/legacy-endpoints.json', import.meta.url));
const haveCluster = existsSync(clusterFile);
const haveOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

/** A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files in `dir`. */
function makeCerts(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string> {
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=kdns-test-ca');
  for (const [name, subj, ext] of [
    ['server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1'],
    ['client', '/CN=kdns-informer', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subj);
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '1', '-extfile', f(`${name}.ext`));
  }
  return { ca: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key') };
}

const cleanups = useCleanups();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function fakeApi(opts: FakeApiServerOptions = { listFile: clusterFile }): Promise<FakeApiServer> {
  const api = await startFakeApiServer(opts);
  cleanups.push(() => api.close());
  return api;
}

function informer(api: FakeApiServer, opts: Partial<InformerOptions> = {}) {
  const log = recordingLogger();
  const inf = createInformer({ endpoint: api.url, kinds: ['services', 'endpointslices', 'namespaces'], ...opts }, log);
  cleanups.push(() => inf.stop()); // runs before api.close (cleanups run in reverse)
  const events: ChangeEvent[] = [];
  inf.subscribe((e) => events.push(e));
  return { inf, log, events };
}

function service(name: string, ns: string, ip: string, labels: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, labels },
    spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  };
}

const keys = (it: Iterable<{ key: string }>) => [...it].map((r) => r.key).sort();

describe.skipIf(!haveCluster)('informer against the API', () => {
  it('lists every kind, then reports synced', async () => {
    const api = await fakeApi();
    const { inf, events } = informer(api);
    expect(inf.synced).toBe(false);
    expect(await inf.waitForSync(5000)).toBe(true);
    expect(inf.services.size).toBe(25);
    expect(inf.endpointslices.size).toBe(21);
    expect(inf.namespaces.size).toBe(8);
    expect(inf.pods.size).toBe(0); // pods were not asked for
    expect(api.counters.lists.pods).toBeUndefined();
    expect(events.filter((e) => e.type === 'add')).toHaveLength(54);
    expect(inf.services.get('testns/svc-dual-stack')?.clusterIPs).toEqual(['10.0.0.3', '10::3']);
    expect(inf.endpointslices.byIndex('service', 'testns/hdls1').map((s) => s.name).sort()).toEqual(['hdls1-slice1', 'hdls1-slice2']);
    expect(inf.lastChange).toBeGreaterThan(0);
    // watched from the list's resourceVersion, with bookmarks
    await until(() => api.openWatches() === 3, 3000, 'three watches');
    const w = api.requests.find((r) => r.path === '/api/v1/services' && r.query.watch)!;
    expect(w.query).toMatchObject({ resourceVersion: String(api.resourceVersion), allowWatchBookmarks: 'true' });
  });

  it('sees a Service added, updated and deleted within a second, with one batch per burst', async () => {
    const api = await fakeApi();
    const { inf, events } = informer(api);
    await inf.waitForSync(5000);
    await until(() => api.openWatches() === 3);
    let batches = 0;
    inf.onBatch(() => batches++);
    events.length = 0;
    const before = inf.lastChange;

    api.add(service('new', 'testns', '10.0.0.77'));
    await until(() => inf.services.get('testns/new') !== undefined, 1000, 'the added service');
    expect(inf.services.byIndex('clusterIP', '10.0.0.77')[0]?.name).toBe('new');
    expect(events).toMatchObject([{ kind: 'services', type: 'add', record: { key: 'testns/new' } }]);
    expect(inf.lastChange).toBeGreaterThanOrEqual(before);

    api.update(service('new', 'testns', '10.0.0.78'));
    await until(() => inf.services.get('testns/new')?.clusterIPs[0] === '10.0.0.78', 1000, 'the update');
    expect(events[1]).toMatchObject({ type: 'update', old: { clusterIPs: ['10.0.0.77'] }, record: { clusterIPs: ['10.0.0.78'] } });
    expect(inf.services.byIndex('clusterIP', '10.0.0.77')).toEqual([]);

    api.delete({ kind: 'Service', name: 'new', namespace: 'testns' });
    await until(() => inf.services.get('testns/new') === undefined, 1000, 'the delete');
    expect(events[2]).toMatchObject({ type: 'delete', record: { key: 'testns/new' } });

    await sleep(50);
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(3);
  });

  it('does not announce an update that changes nothing the records keep', async () => {
    const api = await fakeApi();
    const { inf, events } = informer(api);
    await inf.waitForSync(5000);
    await until(() => api.openWatches() === 3);
    events.length = 0;
    const svc = api.get('Service', 'svc1', 'testns')!;
    svc.metadata.annotations = { 'touched-by': 'test' };
    api.update(svc);
    api.add(service('marker', 'testns', '10.0.0.90'));
    await until(() => inf.services.get('testns/marker') !== undefined);
    expect(events.map((e) => `${e.type} ${e.record.key}`)).toEqual(['add testns/marker']);
  });

  it('passes label selectors to lists and watches', async () => {
    const api = await fakeApi({ listFile: clusterFile, objects: [service('labelled', 'testns', '10.0.0.50', { team: 'dns' })] });
    const { inf } = informer(api, { labelSelector: 'team in (dns, net)', namespaceLabelSelector: 'kubernetes.io/metadata.name=default' });
    await inf.waitForSync(5000);
    expect(keys(inf.services.values())).toEqual(['testns/labelled']);
    expect(inf.endpointslices.size).toBe(0);
    expect(keys(inf.namespaces.values())).toEqual(['default']);
    expect(api.requests.filter((r) => r.path === '/api/v1/namespaces').every((r) => r.query.labelSelector === 'kubernetes.io/metadata.name=default')).toBe(true);
    // a service that gains the label enters, one that loses it leaves
    await until(() => api.openWatches() === 3);
    const svc1 = api.get('Service', 'svc1', 'testns')!;
    svc1.metadata.labels = { team: 'net' };
    api.update(svc1);
    api.update(service('labelled', 'testns', '10.0.0.50', { team: 'web' }));
    await until(() => keys(inf.services.values()).join() === 'testns/svc1', 1000, 'selector transitions');
  });

  it('resumes after the watches are cut without losing or replaying state', async () => {
    const api = await fakeApi();
    const { inf, events } = informer(api);
    await inf.waitForSync(5000);
    await until(() => api.openWatches() === 3);
    const lists = { ...api.counters.lists };
    events.length = 0;

    api.cutWatches();
    api.add(service('during-cut', 'testns', '10.0.0.81'));
    api.delete({ kind: 'Service', name: 'svc2', namespace: 'testns' });
    await until(() => inf.services.get('testns/during-cut') !== undefined && !inf.services.get('testns/svc2'), 3000, 'the changes made while cut');
    expect(inf.services.size).toBe(25);
    expect(inf.synced).toBe(true);
    expect(api.counters.lists).toEqual(lists); // resumed from the resourceVersion, no relist
    expect(events.map((e) => `${e.type} ${e.record.key}`).sort()).toEqual(['add testns/during-cut', 'delete testns/svc2']);
  });

  it('relists after 410 Gone and announces only the difference', async () => {
    const api = await fakeApi();
    const { inf, events, log } = informer(api);
    await inf.waitForSync(5000);
    await until(() => api.openWatches() === 3);
    events.length = 0;

    api.cutWatches();
    api.add(service('after-gone', 'testns', '10.0.0.82'));
    api.delete({ kind: 'Service', name: 'svc2', namespace: 'testns' });
    api.expireResourceVersion();
    await until(() => inf.services.get('testns/after-gone') !== undefined && !inf.services.get('testns/svc2'), 3000, 'the relist');
    expect(api.counters.gone).toBeGreaterThanOrEqual(1);
    expect(api.counters.lists.services).toBe(2);
    expect(events.map((e) => `${e.type} ${e.record.key}`).sort()).toEqual(['add testns/after-gone', 'delete testns/svc2']);
    expect(log.lines.some((l) => l.includes('410'))).toBe(true);

    // and keeps watching afterwards
    await until(() => api.openWatches() === 3);
    api.add(service('later', 'testns', '10.0.0.83'));
    await until(() => inf.services.get('testns/later') !== undefined, 1000, 'a change after the relist');
  });

  it('relists on an ERROR 410 event in an open watch and on an HTTP 410 answer', async () => {
    const api = await fakeApi({ listFile: clusterFile, goneAs: 'http' });
    const { inf } = informer(api);
    await inf.waitForSync(5000);
    await until(() => api.openWatches() === 3);
    api.add(service('x1', 'testns', '10.0.0.84'));
    await until(() => inf.services.get('testns/x1') !== undefined);
    api.expireResourceVersion({ notifyOpenWatches: true });
    await until(() => (api.counters.lists.services ?? 0) === 2, 3000, 'relist after the ERROR event');
    api.cutWatches();
    api.add(service('x2', 'testns', '10.0.0.85'));
    api.expireResourceVersion(); // the re-watch now gets HTTP 410
    await until(() => inf.services.get('testns/x2') !== undefined && (api.counters.lists.services ?? 0) === 3, 3000, 'relist after HTTP 410');
    expect(inf.services.size).toBe(27);
  });

  it('pages through a large relist with limit and continue', async () => {
    const many = Array.from({ length: 1200 }, (_, i) => service(`s${i}`, 'bulk', `10.50.${i >> 8}.${i & 255}`));
    const api = await fakeApi({ objects: many });
    const { inf, events } = informer(api, { kinds: ['services'] });
    await inf.waitForSync(5000);
    expect(inf.services.size).toBe(1200);
    await until(() => api.openWatches() === 1);
    events.length = 0;
    api.cutWatches();
    api.delete({ kind: 'Service', name: 's7', namespace: 'bulk' });
    api.expireResourceVersion();
    await until(() => inf.services.size === 1199, 5000, 'the paged relist');
    const pages = api.requests.filter((r) => r.path === '/api/v1/services' && !r.query.watch && r.query.resourceVersion !== '0');
    expect(pages.length).toBe(3); // 500 + 500 + 199
    expect(pages[1]!.query.continue).toBeTruthy();
    expect(events.map((e) => `${e.type} ${e.record.key}`)).toEqual(['delete bulk/s7']);
  });

  it('keeps its stores and stays synced while the API is down, then catches up', async () => {
    const api = await fakeApi();
    const { inf, log } = informer(api);
    await inf.waitForSync(5000);
    await until(() => api.openWatches() === 3);
    api.setDown(true);
    await sleep(700);
    expect(inf.synced).toBe(true);
    expect(inf.services.size).toBe(25);
    expect(inf.endpointslices.size).toBe(21);
    expect(api.counters.refused).toBeGreaterThan(0);
    expect(log.lines.filter((l) => l.startsWith('warn')).length).toBeLessThanOrEqual(3); // one per kind, not per retry
    api.add(service('while-down', 'testns', '10.0.0.86'));
    api.setDown(false);
    await until(() => inf.services.get('testns/while-down') !== undefined, 5000, 'catch-up after the outage');
    expect(inf.services.size).toBe(26);
  });

  it('starts unsynced against an unreachable API and syncs once it answers', async () => {
    const api = await fakeApi();
    api.setDown(true);
    const { inf } = informer(api);
    expect(await inf.waitForSync(300)).toBe(false);
    api.setDown(false);
    expect(await inf.waitForSync(5000)).toBe(true);
    expect(inf.services.size).toBe(25);
  });

  it('falls back to core/v1 Endpoints when the API has no EndpointSlices', async () => {
    const api = await fakeApi({ listFile: legacyFile });
    api.disableEndpointSlices();
    const { inf, log } = informer(api);
    await inf.waitForSync(5000);
    expect(inf.usingLegacyEndpoints).toBe(true);
    expect(log.lines.some((l) => l.startsWith('warn') && l.includes('Endpoints'))).toBe(true);
    const [rec] = inf.endpointslices.byIndex('service', 'legacy/web');
    expect(rec).toMatchObject({ key: 'legacy/web', serviceName: 'web', lastChangeTriggerTime: Date.parse('2024-03-01T12:00:00Z') });
    expect(rec!.endpoints.map((e) => [e.addresses[0], e.ready, e.hostname])).toEqual([
      ['10.9.0.1', true, 'web-0'],
      ['10.9.0.2', true, ''],
      ['10.9.0.3', false, ''],
    ]);
    await until(() => api.openWatches() === 3);
    const ep = api.get('Endpoints', 'web', 'legacy')!;
    ep.subsets[0].notReadyAddresses = [];
    api.update(ep);
    await until(() => inf.endpointslices.get('legacy/web')?.endpoints.length === 2, 1000, 'the Endpoints update');
    expect(inf.endpointslices.byIndex('ip', '10.9.0.3')).toEqual([]);
  });

  it('shares one informer per connection and adds watches for new kinds', async () => {
    const api = await fakeApi();
    const informers = createInformers(recordingLogger());
    cleanups.push(() => informers.closeAll());
    const a = informers.get({ endpoint: api.url, kinds: ['services', 'namespaces'] }) as KdnsInformer;
    await a.waitForSync(5000);
    const b = informers.get({ endpoint: api.url, kinds: ['services', 'pods'] }) as KdnsInformer;
    expect(b).toBe(a);
    expect([...a.kinds].sort()).toEqual(['namespaces', 'pods', 'services']);
    expect(await b.waitForSync(5000)).toBe(true);
    expect(b.pods.size).toBe(12);
    expect(b.pods.byIndex('ip', '10.3.0.100')[0]?.name).toBe('my-pet');
    const c = informers.get({ endpoint: api.url, kinds: ['services'], labelSelector: 'a=b' });
    expect(c).not.toBe(a);
    expect(await c.waitForSync(5000)).toBe(true);
    expect(api.counters.lists.services).toBe(2); // a and c, not b
  });

  it('stops without clearing its stores', async () => {
    const api = await fakeApi();
    const { inf } = informer(api);
    await inf.waitForSync(5000);
    await until(() => api.openWatches() === 3);
    await inf.stop();
    await until(() => api.openWatches() === 0, 2000, 'watches closed by stop');
    api.add(service('after-stop', 'testns', '10.0.0.87'));
    await sleep(100);
    expect(inf.services.get('testns/after-stop')).toBeUndefined();
    expect(inf.services.size).toBe(25);
  });

  it('connects through a kubeconfig file and context', async () => {
    const api = await fakeApi();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-kubeconfig-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'config');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        `  cluster: { server: "${api.url}" }`,
        '- name: elsewhere',
        '  cluster: { server: "http://127.0.0.1:1" }',
        'users:',
        '- name: tester',
        '  user: { token: secret-token }',
        'contexts:',
        '- name: other',
        '  context: { cluster: elsewhere, user: tester }',
        '- name: test',
        '  context: { cluster: fake, user: tester }',
        'current-context: other',
        '',
      ].join('\n'),
    );
    const log = recordingLogger();
    const inf = createInformer({ kubeconfig: { file, context: 'test' }, kinds: ['namespaces'] }, log);
    cleanups.push(() => inf.stop());
    expect(await inf.waitForSync(5000)).toBe(true);
    expect(inf.namespaces.size).toBe(8);
    expect(api.requests.every((r) => r.authorization === 'Bearer secret-token')).toBe(true);
    expect(() => createInformer({ kubeconfig: { file, context: 'missing' }, kinds: ['namespaces'] }, log)).toThrow(/no context 'missing'/);
  });

  it.skipIf(!haveOpenssl)('connects over https with a client certificate and CA (tls)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-tls-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const c = makeCerts(dir);
    const api = await fakeApi({
      listFile: clusterFile,
      tls: { cert: readFileSync(c.serverCert), key: readFileSync(c.serverKey), ca: readFileSync(c.ca) },
    });
    expect(api.url.startsWith('https://127.0.0.1:')).toBe(true);
    const { inf } = informer(api, { tls: { cert: c.clientCert, key: c.clientKey, ca: c.ca } });
    expect(await inf.waitForSync(5000)).toBe(true);
    expect(inf.services.size).toBe(25);
    expect(api.requests.every((r) => r.clientCN === 'kdns-informer')).toBe(true);
  });

  it('rejects unusable connection options at creation', () => {
    expect(() => createInformer({ endpoint: 'ftp://127.0.0.1', kinds: ['services'] }, recordingLogger())).toThrow(/not http/);
    expect(() => createInformer({ kubeconfig: { file: '/nonexistent/kubeconfig' }, kinds: ['services'] }, recordingLogger())).toThrow();
  });
});
