// Snapshot mode: a `kubectl get -o yaml|json` file is the cluster; changes are applied as diffs and
// a broken file keeps the last good state.

import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createInformer } from '../src/informer/informer.js';
import { parseSnapshot } from '../src/informer/snapshot-source.js';
import type { ChangeEvent, InformerOptions } from '../src/informer/types.js';
import { recordingLogger, until, useCleanups } from './support/informer.js';

const fixtures = fileURLToPath(new URL('./fixtures/informer/', import.meta.url));
const clusterFile = fileURLToPath(new URL('../../shared/conformance/cluster.json', import.meta.url));

const cleanups = useCleanups();

function tempCopy(fixture: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-snapshot-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, path.basename(fixture));
  copyFileSync(fixture, file);
  return file;
}

function snapshotInformer(file: string, opts: Partial<InformerOptions> = {}) {
  const log = recordingLogger();
  const inf = createInformer({ snapshot: file, snapshotPollMs: 50, kinds: ['services', 'endpointslices', 'namespaces'], ...opts }, log);
  cleanups.push(() => inf.stop());
  const events: ChangeEvent[] = [];
  inf.subscribe((e) => events.push(e));
  return { inf, log, events };
}

/** Rewrites the file with a later mtime (the poller compares stat results). */
function rewrite(file: string, text: string): void {
  writeFileSync(file, text);
  const t = new Date(Date.now() + 2000);
  utimesSync(file, t, t);
}

describe('snapshot mode', () => {
  it('loads a kubectl -o yaml List and is synced after the first read', async () => {
    const { inf } = snapshotInformer(path.join(fixtures, 'snapshot.yaml'));
    expect(await inf.waitForSync(2000)).toBe(true);
    expect(inf.services.get('shop/cart')).toMatchObject({ clusterIPs: ['10.96.5.5'], selector: { app: 'cart' }, resourceVersion: '11' });
    const [slice] = inf.endpointslices.byIndex('service', 'shop/cart');
    expect(slice).toMatchObject({ lastChangeTriggerTime: Date.parse('2024-02-02T02:02:02Z'), ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
    expect(slice!.endpoints[0]!.targetRefName).toBe('cart-7d9f-abcde');
    expect(inf.namespaces.get('shop')).toBeDefined();
  });

  it('loads multi-document YAML and uses Endpoints when there are no slices', async () => {
    const { inf } = snapshotInformer(path.join(fixtures, 'snapshot-multidoc.yaml'));
    await inf.waitForSync(2000);
    expect(inf.endpointslices.byIndex('ip', '10.244.7.9')[0]).toMatchObject({ key: 'shop/cart', serviceName: 'cart' });
    expect(inf.services.get('shop/cart')?.ports).toEqual([{ name: '', port: 80, protocol: 'TCP' }]);
  });

  it.skipIf(!existsSync(clusterFile))('loads a kubectl -o json List (the conformance cluster)', async () => {
    const { inf } = snapshotInformer(clusterFile, { kinds: ['services', 'endpointslices', 'namespaces', 'pods'] });
    await inf.waitForSync(2000);
    expect([inf.services.size, inf.endpointslices.size, inf.namespaces.size, inf.pods.size]).toEqual([25, 21, 8, 12]);
  });

  it('applies a changed file as a diff', async () => {
    const file = tempCopy(path.join(fixtures, 'snapshot.yaml'));
    const { inf, events } = snapshotInformer(file);
    await inf.waitForSync(2000);
    events.length = 0;
    let batches = 0;
    inf.onBatch(() => batches++);
    const text = readFileSync(file, 'utf8')
      .replace('clusterIP: 10.96.5.5\n    clusterIPs:\n    - 10.96.5.5', 'clusterIP: 10.96.5.6\n    clusterIPs:\n    - 10.96.5.6')
      .replace(/- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: shop\n    labels:\n      kubernetes.io\/metadata.name: shop\n/, '');
    rewrite(file, text);
    await until(() => inf.services.get('shop/cart')?.clusterIPs[0] === '10.96.5.6', 3000, 'the reload');
    await until(() => batches > 0, 1000, 'a batch');
    expect(events.map((e) => `${e.type} ${e.kind} ${e.record.key}`).sort()).toEqual(['delete namespaces shop', 'update services shop/cart']);
    expect(inf.services.byIndex('clusterIP', '10.96.5.5')).toEqual([]);
  });

  it('keeps the last good state when the file breaks, and logs an error', async () => {
    const file = tempCopy(path.join(fixtures, 'snapshot.yaml'));
    const { inf, log, events } = snapshotInformer(file);
    await inf.waitForSync(2000);
    events.length = 0;
    rewrite(file, 'items: [ {{{ not yaml');
    await until(() => log.lines.some((l) => l.startsWith('error')), 3000, 'an error log');
    expect(inf.services.get('shop/cart')).toBeDefined();
    expect(inf.synced).toBe(true);
    expect(events).toEqual([]);
    rmSync(file);
    await until(() => log.lines.filter((l) => l.startsWith('error')).length >= 2, 3000, 'an error for the missing file');
    expect(inf.services.size).toBe(1);
  });

  it('filters by the label selectors like the API would', async () => {
    const { inf } = snapshotInformer(path.join(fixtures, 'snapshot.yaml'), { labelSelector: 'app=other' });
    await inf.waitForSync(2000);
    expect(inf.services.size).toBe(0);
    expect(inf.namespaces.size).toBe(1);
  });

  it('is not synced while the file is missing', async () => {
    const { inf, log } = snapshotInformer('/nonexistent/kdns-snapshot.yaml');
    expect(await inf.waitForSync(200)).toBe(false);
    expect(log.lines.some((l) => l.startsWith('error') && l.includes('ENOENT'))).toBe(true);
  });

  it('parses typed lists, JSON arrays and single objects', () => {
    expect(parseSnapshot('{"kind":"ServiceList","items":[{"metadata":{"name":"a"}}]}')).toEqual([{ obj: { metadata: { name: 'a' } }, kind: 'Service' }]);
    expect(parseSnapshot('[{"kind":"Pod","metadata":{"name":"p"}}]').map((x) => x.kind)).toEqual(['Pod']);
    expect(parseSnapshot('kind: Node\nmetadata:\n  name: n1\n').map((x) => x.obj.metadata.name)).toEqual(['n1']);
  });
});
