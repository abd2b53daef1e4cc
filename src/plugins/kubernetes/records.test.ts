// The ClusterView's lazy, bounded view cache and its reverse lookups through the informer indexes.

import { describe, expect, it } from 'vitest';

import { FakeInformer, toNamespace, toService, toSlice } from './fake-informer.test-helper.js';
import { ClusterView, endpointsByLabel } from './records.js';
import type { ViewOptions } from './records.js';

const OPTS: ViewOptions = { endpointPodNames: false, primaryZone: 'cluster.local.', pods: false, endpoints: true, namespaceSelector: null };

function cluster(n: number): FakeInformer {
  const inf = new FakeInformer();
  inf.namespaces.map.set('ns', toNamespace({ metadata: { name: 'ns' } }));
  for (let i = 0; i < n; i++) {
    const svc = toService({ metadata: { namespace: 'ns', name: `s${i}` }, spec: { clusterIP: `10.96.0.${i + 1}`, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    inf.services.map.set(svc.key, svc);
    const slice = toSlice({
      metadata: { namespace: 'ns', name: `s${i}-1`, labels: { 'kubernetes.io/service-name': `s${i}` } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      endpoints: [
        { addresses: [`10.1.${i}.1`], conditions: { ready: true } },
        { addresses: [`10.1.${i}.2`], hostname: 'Web', conditions: { ready: true } },
        { addresses: [`10.1.${i}.3`], conditions: { ready: false } },
      ],
    });
    inf.endpointslices.map.set(slice.key, slice);
  }
  return inf;
}

describe('ClusterView', () => {
  it('builds nothing up front and views on first use', () => {
    const v = new ClusterView(cluster(5), OPTS);
    expect(v.cached).toBe(0);
    const s = v.lookup('ns/s3')!;
    expect(s.kind).toBe('ClusterIP');
    expect(s.ipItems.map((i) => i.rdata)).toEqual(['10.96.0.4']);
    expect(s.eps).toBeNull();
    const eps = v.endpoints(s);
    expect(eps.ready).toBe(2);
    expect(eps.items.map((i) => (i.t === 'addr' ? i.prefix : ''))).toEqual(['10-1-3-1.s3.ns.svc.', 'Web.s3.ns.svc.']);
    expect(endpointsByLabel(eps, 'web')?.map((i) => i.host)).toEqual(['10.1.3.2']);
    expect(endpointsByLabel(eps, 'nope')).toBeUndefined();
    expect(v.lookup('ns/missing')).toBeUndefined();
    expect(v.cached).toBe(1);
  });

  it('keeps the cache within its bound and rebuilds evicted views alike', () => {
    const inf = cluster(50);
    const v = new ClusterView(inf, OPTS, 20);
    const first = v.endpoints(v.lookup('ns/s0')!).items.map((i) => i.host);
    for (let i = 0; i < 50; i++) v.endpoints(v.lookup(`ns/s${i}`)!);
    expect(v.cached).toBeLessThanOrEqual(5);
    expect(v.endpoints(v.lookup('ns/s0')!).items.map((i) => i.host)).toEqual(first);
  });

  it('drops a cached view when its service or slice changes', () => {
    const inf = cluster(2);
    const v = new ClusterView(inf, OPTS);
    expect(v.endpoints(v.lookup('ns/s0')!).ready).toBe(2);
    const slice = toSlice({
      metadata: { namespace: 'ns', name: 's0-1', labels: { 'kubernetes.io/service-name': 's0' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.2.0.9'], conditions: { ready: true } }],
    });
    inf.apply('endpointslices', 'update', slice);
    expect(v.endpoints(v.lookup('ns/s0')!).items.map((i) => i.host)).toEqual(['10.2.0.9']);
    inf.apply('services', 'delete', inf.services.get('ns/s0')!);
    expect(v.lookup('ns/s0')).toBeUndefined();
    expect(v.lookup('ns/s1')?.kind).toBe('ClusterIP');
  });

  it('answers reverse lookups from the informer indexes, ready addresses only', () => {
    const v = new ClusterView(cluster(3), OPTS);
    expect(v.clusterIPServices('10.96.0.2').map((s) => s.key)).toEqual(['ns/s1']);
    expect(v.endpointTargets('10.1.2.2', () => true)).toEqual(['Web.s2.ns.svc.cluster.local.']);
    expect(v.endpointTargets('10.1.2.1', () => true)).toEqual(['10-1-2-1.s2.ns.svc.cluster.local.']);
    expect(v.endpointTargets('10.1.2.3', () => true)).toEqual([]);
    expect(v.endpointTargets('10.1.2.1', (ns) => ns !== 'ns')).toEqual([]);
    const noEps = new ClusterView(cluster(3), { ...OPTS, endpoints: false });
    expect(noEps.endpointTargets('10.1.2.1', () => true)).toEqual([]);
    expect(noEps.endpoints(noEps.lookup('ns/s1')!).items).toEqual([]);
  });
});
