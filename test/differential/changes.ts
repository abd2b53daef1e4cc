// The second round of the differential test: changes applied to the live fake API server (adds,
// updates, deletes of every watched kind) and unusual objects (a headless service whose A reply
// needs TCP, unnamed/SCTP ports, ExternalName to an IP, to itself and in a chain, FQDN slices,
// orphaned slices, a deleted namespace, pods that are pending, finished or terminating).

import type { FakeApiServer, KObject } from '../fake-apiserver.js';

const svc = (ns: string, name: string, spec: KObject): KObject => ({ kind: 'Service', metadata: { name, namespace: ns }, spec });
const slice = (ns: string, name: string, service: string | null, body: KObject): KObject => ({
  kind: 'EndpointSlice',
  metadata: { name, namespace: ns, labels: service ? { 'kubernetes.io/service-name': service } : {} },
  addressType: 'IPv4',
  ...body,
});
const ep = (ip: string, extra: KObject = {}): KObject => ({ addresses: [ip], conditions: { ready: true }, ...extra });
const pod = (ns: string, name: string, ip: string, status: KObject = {}, meta: KObject = {}): KObject => ({
  kind: 'Pod',
  metadata: { name, namespace: ns, ...meta },
  spec: { containers: [{ name: 'c', image: 'x' }] },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], ...status },
});

export interface Change {
  op: 'apply' | 'delete';
  obj: KObject;
}

export function changes(): Change[] {
  const big = Array.from({ length: 60 }, (_, i) => ep(`10.9.1.${i + 1}`));
  const add = (obj: KObject): Change => ({ op: 'apply', obj });
  const del = (kind: string, ns: string | undefined, name: string): Change => ({ op: 'delete', obj: { kind, metadata: { name, namespace: ns } } });
  return [
    add({ kind: 'Namespace', metadata: { name: 'dyn', labels: { 'kubernetes.io/metadata.name': 'dyn' } } }),
    add(svc('dyn', 'big', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })),
    add(slice('dyn', 'big-1', 'big', { endpoints: big, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })),
    add(svc('dyn', 'unnamed', { clusterIP: '10.9.0.1', clusterIPs: ['10.9.0.1'], ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }, { name: 'sctp', port: 9, protocol: 'SCTP' }] })),
    add(slice('dyn', 'unnamed-1', 'unnamed', { endpoints: [ep('10.9.2.1'), ep('10.9.2.2', { conditions: { ready: false, serving: true } }), ep('10.9.2.3', { hostname: '10-9-2-4' })], ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }, { name: 'sctp', port: 9, protocol: 'SCTP' }] })),
    add(svc('dyn', 'lb', { type: 'LoadBalancer', clusterIP: '10.9.0.2', clusterIPs: ['10.9.0.2'], ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] })),
    add(svc('dyn', 'ext-ip', { type: 'ExternalName', externalName: '1.2.3.4' })),
    add(svc('dyn', 'ext-self', { type: 'ExternalName', externalName: 'ext-self.dyn.svc.cluster.local' })),
    add(svc('dyn', 'ext-dot', { type: 'ExternalName', externalName: 'www.example.com.' })),
    add(svc('dyn', 'ext-upper', { type: 'ExternalName', externalName: 'WWW.Example.COM' })),
    add(svc('dyn', 'ext-missing', { type: 'ExternalName', externalName: 'nope.dyn.svc.cluster.local' })),
    add(svc('dyn', 'ext-headless', { type: 'ExternalName', externalName: 'hdls1.testns.svc.cluster.local' })),
    ...Array.from({ length: 9 }, (_, i) => add(svc('dyn', `chain${i}`, { type: 'ExternalName', externalName: i < 8 ? `chain${i + 1}.dyn.svc.cluster.local` : 'ext.interwebs.test' }))),
    add(svc('dyn', 'fqdn', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })),
    add(slice('dyn', 'fqdn-1', 'fqdn', { addressType: 'FQDN', endpoints: [ep('foo.example.com')], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })),
    add(slice('dyn', 'nolabel', null, { endpoints: [ep('10.9.3.1', { hostname: 'x' })], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })),
    // An endpoint using another service's ClusterIP (two PTR sources for one IP).
    add(svc('dyn', 'shadow', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })),
    add(slice('dyn', 'shadow-1', 'shadow', { endpoints: [ep('10.0.0.1', { hostname: 'shadow-ep' }), ep('10.9.0.2'), ep('10.9.4.1'), ep('10.9.4.1')], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })),
    add(svc('dyn', 'v6', { clusterIP: 'fd00::9:1', clusterIPs: ['fd00::9:1'], ipFamilies: ['IPv6'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })),
    add({ ...slice('dyn', 'v6-1', 'v6', { endpoints: [ep('fd00::9:100'), ep('fd00::'), ep('fd00::9:0:0')], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }), addressType: 'IPv6' }),
    // Pods: IPv6-only, pending, finished, terminating; a pod IP change.
    add(pod('dyn', 'p6', 'fd00::5')),
    add(pod('dyn', 'pending', '10.9.5.1', { phase: 'Pending' })),
    add(pod('dyn', 'done', '10.9.5.2', { phase: 'Succeeded' })),
    add(pod('dyn', 'gone', '10.9.5.3', {}, { deletionTimestamp: '2024-01-01T00:00:00Z' })),
    add(pod('dyn', 'multi', '10.9.5.4', { podIPs: [{ ip: '10.9.5.4' }, { ip: 'fd00::9:5:4' }] })),
    add(pod('podns', 'foo', '10.240.0.2')),
    // Updates and deletes of fixture objects.
    add(slice('testns', 'svc1-slice1', 'svc1', {
      endpoints: [ep('172.0.0.1', { hostname: 'ep1a', conditions: { ready: false } }), ep('172.0.0.99', { hostname: 'double-ep' }), ep('172.0.0.98', { hostname: 'ep1b' })],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    })),
    del('Service', 'testns', 'svc2'),
    del('Namespace', undefined, 'test-2'),
    del('EndpointSlice', 'test-1', 'headless-svc-mirror2'),
    del('Pod', 'test-1', 'de-c-6b8d9f7c4-q7w2e'),
    add(svc('testns', 'svc-dual-stack', { clusterIP: '10.0.0.3', clusterIPs: ['10.0.0.3'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] })),
    // Markers, applied last: both servers have seen everything once these resolve.
    add(svc('dyn', 'marker', { clusterIP: '10.9.9.9', clusterIPs: ['10.9.9.9'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })),
    add(slice('dyn', 'marker-1', 'marker', { endpoints: [ep('10.9.9.10', { hostname: 'marker-ep' })], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] })),
    add(pod('dyn', 'marker', '10.9.9.11')),
  ];
}

/** Names that are answered once every change has reached a server (per profile capabilities). */
export const MARKERS = ['marker.dyn.svc.cluster.local.', 'marker-ep.marker.dyn.svc.cluster.local.'];
export const POD_MARKER = '10-9-9-11.dyn.pod.cluster.local.';

/** Apply to the fake API server and to `items` (the mirrored fixture list). */
export function applyChanges(api: FakeApiServer, items: KObject[], list: Change[]): void {
  const key = (o: KObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
  for (const c of list) {
    const ns = c.obj.kind === 'Namespace' ? undefined : c.obj.metadata.namespace;
    const obj = ns === undefined ? c.obj : { ...c.obj, metadata: { ...c.obj.metadata, namespace: ns } };
    const i = items.findIndex((o) => key(o) === key(obj));
    if (c.op === 'delete') {
      api.delete(obj as never);
      if (i >= 0) items.splice(i, 1);
    } else {
      api.apply(obj);
      if (i >= 0) items[i] = obj;
      else items.push(obj);
    }
  }
}
