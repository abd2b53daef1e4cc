// Replica informers against real informers, over an in-memory channel that round-trips every
// message through JSON (as the cluster IPC channel does).

import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInformers } from './informer.js';
import { createReplicaInformers, serveReplicas, type Channel, type ReplicaMessage } from './replica.js';
import type { ChangeEvent, Informers, InformerOptions, ServiceRecord } from './types.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

function channelPair(): [Channel, Channel] {
  const subs: [Set<(m: unknown) => void>, Set<(m: unknown) => void>] = [new Set(), new Set()];
  const end = (mine: number): Channel => ({
    send(msg: ReplicaMessage) {
      const copy = JSON.parse(JSON.stringify(msg));
      setImmediate(() => { for (const fn of subs[1 - mine]) fn(copy); });
    },
    onMessage(fn) {
      subs[mine].add(fn);
      return () => subs[mine].delete(fn);
    },
  });
  return [end(0), end(1)];
}

function list(services: { name: string; ip: string }[]): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } },
      ...services.map((s) => ({
        apiVersion: 'v1', kind: 'Service', metadata: { name: s.name, namespace: 'ns', resourceVersion: '1' },
        spec: { type: 'ClusterIP', clusterIP: s.ip, clusterIPs: [s.ip], ports: [{ port: 80, protocol: 'TCP' }] },
      })),
    ],
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-replica-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

function setup(file: string): { primary: Informers; replicas: Informers[]; opts: InformerOptions } {
  const primary = createInformers(quiet);
  const server = serveReplicas(primary, quiet);
  const replicas = [0, 1].map(() => {
    const [workerEnd, primaryEnd] = channelPair();
    server.attach(primaryEnd);
    return createReplicaInformers(workerEnd, quiet);
  });
  cleanup.push(async () => {
    for (const r of replicas) await r.closeAll();
    await primary.closeAll();
  });
  return { primary, replicas, opts: { snapshot: file, snapshotPollMs: 20, kinds: ['services', 'namespaces'] } };
}

describe('replica informers', () => {
  it('start from a snapshot of the primary and follow its changes with add/update/delete events', async () => {
    const file = path.join(dir, 'a.json');
    writeFileSync(file, list([{ name: 'web', ip: '10.0.0.1' }, { name: 'db', ip: '10.0.0.2' }]));
    const { primary, replicas, opts } = setup(file);
    const real = primary.get(opts);
    expect(await real.waitForSync(2000)).toBe(true);

    const infs = replicas.map((r) => r.get(opts));
    expect(infs[0].synced).toBe(false);
    for (const inf of infs) expect(await inf.waitForSync(2000)).toBe(true);
    for (const inf of infs) {
      expect(inf.services.byIndex('name', 'web').map((s) => s.clusterIPs)).toEqual([['10.0.0.1']]);
      expect(inf.services.byIndex('clusterIP', '10.0.0.2').map((s) => s.key)).toEqual(['ns/db']);
      expect(inf.namespaces.size).toBe(1);
      expect(inf.lastChange).toBe(real.lastChange);
    }

    const events: ChangeEvent[] = [];
    let batches = 0;
    infs[1].subscribe((ev) => events.push(ev));
    infs[1].onBatch(() => batches++);
    writeFileSync(file, list([{ name: 'web', ip: '10.0.0.9' }, { name: 'new', ip: '10.0.0.3' }]));
    await expect.poll(() => infs[1].services.get('ns/new')?.clusterIPs, { timeout: 2000 }).toEqual(['10.0.0.3']);
    expect(infs[1].services.get('ns/web')?.clusterIPs).toEqual(['10.0.0.9']);
    expect(infs[1].services.get('ns/db')).toBeUndefined();
    expect(infs[1].services.byIndex('clusterIP', '10.0.0.1')).toEqual([]);
    expect(events.map((e) => `${e.type} ${e.record.key}`).sort()).toEqual(['add ns/new', 'delete ns/db', 'update ns/web']);
    expect((events.find((e) => e.type === 'update')?.old as ServiceRecord | undefined)?.clusterIPs).toEqual(['10.0.0.1']);
    expect(batches).toBeGreaterThan(0);
    await expect.poll(() => infs[0].services.size).toBe(2);
    expect(infs[0].lastChange).toBe(real.lastChange);
  });

  it('shares one informer per connection and merges the kinds later gets ask for', async () => {
    const file = path.join(dir, 'b.json');
    writeFileSync(file, list([{ name: 'web', ip: '10.0.0.1' }]));
    const { replicas, opts } = setup(file);
    const a = replicas[0].get(opts);
    expect(replicas[0].get({ ...opts, kinds: ['services'] })).toBe(a);
    expect(await a.waitForSync(2000)).toBe(true);
    const again = replicas[0].get({ ...opts, kinds: ['pods'] });
    expect(again).toBe(a);
    expect(a.synced).toBe(false); // until the primary has listed pods too
    expect(await a.waitForSync(2000)).toBe(true);
  });

  it('throws configuration errors at get, as the real informers do', () => {
    const replicas = createReplicaInformers(channelPair()[0], quiet);
    expect(() => replicas.get({ endpoint: 'not a url', kinds: ['services'] })).toThrow();
    expect(() => replicas.get({ snapshot: '/x', endpoint: 'http://127.0.0.1:1', kinds: ['services'] })).toThrow(/snapshot excludes/);
  });
});
