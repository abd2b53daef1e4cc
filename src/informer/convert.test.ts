import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { convertEndpoints, convertEndpointSlice, convertObject, convertPod, convertService } from './convert.js';
import type { EndpointSliceRecord, PodRecord, ServiceRecord } from './types.js';

const clusterFile = fileURLToPath(new URL('../../../shared/conformance/cluster.json', import.meta.url));
const cluster = existsSync(clusterFile) ? JSON.parse(readFileSync(clusterFile, 'utf8')) : null;

function item(kind: string, namespace: string, name: string) {
  const o = cluster.items.find((i: any) => i.kind === kind && i.metadata.name === name && (i.metadata.namespace ?? '') === namespace);
  if (!o) throw new Error(`${kind} ${namespace}/${name} not in cluster.json`);
  return o;
}

describe.skipIf(!cluster)('conversion of the shared conformance cluster', () => {
  const svc = (ns: string, n: string) => convertService(item('Service', ns, n));
  const slice = (ns: string, n: string) => convertEndpointSlice(item('EndpointSlice', ns, n));

  it('converts every object of the List by its kind', () => {
    const counts: Record<string, number> = {};
    for (const o of cluster.items) {
      const c = convertObject(o);
      expect(c).not.toBeNull();
      counts[c!.kind] = (counts[c!.kind] ?? 0) + 1;
    }
    expect(counts).toEqual({ namespaces: 8, services: 25, endpointslices: 21, pods: 12 });
  });

  it('treats an endpoint without conditions.ready as ready (hdls1)', () => {
    const s = slice('testns', 'hdls1-slice1');
    const e = s.endpoints.find((x) => x.addresses[0] === '172.0.0.3')!;
    expect(e.ready).toBe(true);
    expect(e.serving).toBe(true);
    expect(e.terminating).toBe(false);
  });

  it('keeps an endpoint with ready false as not ready', () => {
    expect(slice('test-1', 'svc-unready-9wq3d').endpoints[0]!.ready).toBe(false);
  });

  it('gives a portless slice the sentinel port -1', () => {
    expect(slice('testns', 'hdlsprtls-slice1').ports).toEqual([{ name: '', port: -1, protocol: '' }]);
  });

  it('takes serviceName from the kubernetes.io/service-name label and the trigger time from the annotation', () => {
    const s = slice('kube-system', 'kube-dns-8h2lq');
    expect(s.key).toBe('kube-system/kube-dns-8h2lq');
    expect(s.serviceName).toBe('kube-dns');
    expect(s.addressType).toBe('IPv4');
    expect(s.lastChangeTriggerTime).toBe(Date.parse('2024-01-01T00:00:00Z'));
    expect(s.ports.map((p) => `${p.name}/${p.port}/${p.protocol}`)).toEqual(['dns/53/UDP', 'dns-tcp/53/TCP', 'metrics/9153/TCP']);
    expect(s.endpoints[0]).toMatchObject({
      addresses: ['10.244.0.10'],
      targetRefName: 'coredns-5d78c9869d-abcde',
      targetRefNamespace: 'kube-system',
      nodeName: 'node-1',
      zone: 'zone-a',
      hostname: '',
    });
  });

  it('uses spec.clusterIPs for a dual-stack service', () => {
    const s = svc('testns', 'svc-dual-stack');
    expect(s.clusterIPs).toEqual(['10.0.0.3', '10::3']);
    expect(s.headless).toBe(false);
    expect(s.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }]);
  });

  it('marks clusterIP None as headless with no cluster IPs', () => {
    const s = svc('testns', 'hdls1');
    expect(s.headless).toBe(true);
    expect(s.clusterIPs).toEqual([]);
  });

  it('keeps externalName for ExternalName services', () => {
    const s = svc('testns', 'external');
    expect(s).toMatchObject({ type: 'ExternalName', externalName: 'ext.interwebs.test', clusterIPs: [], headless: false });
  });

  it('converts pods with primary and all pod IPs', () => {
    const p = convertPod(item('Pod', 'default', 'my-pet'));
    expect(p).toMatchObject({ key: 'default/my-pet', ip: '10.3.0.100', ips: ['10.3.0.100', '2001:db8::100'], phase: 'Running', nodeName: 'node-1', deleting: false });
  });
});

describe('conversion rules', () => {
  it('falls back to spec.clusterIP when clusterIPs is missing', () => {
    const s = convertService({ kind: 'Service', metadata: { name: 'a', namespace: 'n' }, spec: { clusterIP: '10.0.0.9' } });
    expect(s.clusterIPs).toEqual(['10.0.0.9']);
    expect(s.type).toBe('ClusterIP');
    expect(s.selector).toBeNull();
  });

  it('reads load balancer ingress, session affinity and traffic policies', () => {
    const s: ServiceRecord = convertService({
      kind: 'Service',
      metadata: { name: 'lb', namespace: 'n', resourceVersion: '7' },
      spec: {
        type: 'LoadBalancer', clusterIP: '10.0.0.5', selector: { app: 'x' }, externalIPs: ['1.2.3.4'],
        sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } },
        externalTrafficPolicy: 'Local', healthCheckNodePort: 31000,
        ports: [{ port: 80, nodePort: 30080, targetPort: 'http' }],
      },
      status: { loadBalancer: { ingress: [{ ip: '5.6.7.8' }, { hostname: 'lb.example' }] } },
    });
    expect(s).toMatchObject({
      selector: { app: 'x' }, externalIPs: ['1.2.3.4'], sessionAffinity: 'ClientIP', sessionAffinityTimeout: 300,
      externalTrafficPolicy: 'Local', healthCheckNodePort: 31000, resourceVersion: '7',
      loadBalancerIngress: [{ ip: '5.6.7.8' }, { hostname: 'lb.example' }],
      ports: [{ name: '', port: 80, protocol: 'TCP', targetPort: 'http', nodePort: 30080 }],
    });
  });

  it('gives a slice port without a number the port -1', () => {
    const s = convertEndpointSlice({ kind: 'EndpointSlice', metadata: { name: 's', namespace: 'n' }, addressType: 'IPv4', ports: [{ name: 'x', protocol: 'UDP' }], endpoints: [] });
    expect(s.ports).toEqual([{ name: 'x', port: -1, protocol: 'UDP' }]);
    expect(s.serviceName).toBe('');
    expect(s.lastChangeTriggerTime).toBeNull();
  });

  it('keeps targetRef names only for pods (or an unset kind)', () => {
    const s: EndpointSliceRecord = convertEndpointSlice({
      kind: 'EndpointSlice', metadata: { name: 's', namespace: 'n' }, addressType: 'IPv4',
      endpoints: [
        { addresses: ['1.1.1.1'], targetRef: { kind: 'Node', name: 'node-a' } },
        { addresses: ['1.1.1.2'], targetRef: { name: 'no-kind' } },
        { addresses: ['1.1.1.3'], targetRef: { kind: 'Pod', name: 'pod-a' }, conditions: { ready: null, terminating: true } },
      ],
    });
    expect(s.endpoints.map((e) => e.targetRefName)).toEqual(['', 'no-kind', 'pod-a']);
    expect(s.endpoints[2]).toMatchObject({ ready: true, terminating: true });
  });

  it('turns an Endpoints object into one slice record: addresses ready, notReadyAddresses not', () => {
    const s = convertEndpoints({
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'n', annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-05-01T10:00:00Z' } },
      subsets: [
        {
          addresses: [{ ip: '10.0.0.1', hostname: 'h1', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'p1', namespace: 'n' } }],
          notReadyAddresses: [{ ip: '10.0.0.2' }],
          ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
        },
        { addresses: [{ ip: '10.0.0.3' }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] },
      ],
    });
    expect(s).toMatchObject({ key: 'n/web', serviceName: 'web', addressType: 'IPv4', lastChangeTriggerTime: Date.parse('2024-05-01T10:00:00Z') });
    expect(s.ports.map((p) => `${p.name}/${p.port}/${p.protocol}`)).toEqual(['http/80/TCP', 'dns/53/UDP']);
    expect(s.endpoints.map((e) => [e.addresses[0], e.ready, e.hostname, e.targetRefName])).toEqual([
      ['10.0.0.1', true, 'h1', 'p1'],
      ['10.0.0.2', false, '', ''],
      ['10.0.0.3', true, '', ''],
    ]);
  });

  it('marks a pod with a deletionTimestamp as deleting and keeps a missing podIP empty', () => {
    const p: PodRecord = convertPod({ kind: 'Pod', metadata: { name: 'p', namespace: 'n', deletionTimestamp: '2024-01-01T00:00:00Z' }, spec: { hostNetwork: true }, status: { phase: 'Pending' } });
    expect(p).toMatchObject({ ip: '', ips: [], deleting: true, hostNetwork: true, phase: 'Pending' });
  });

  it('does not hold on to the API object', () => {
    const api = { kind: 'Service', metadata: { name: 'a', namespace: 'n', labels: { x: 'y' } }, spec: { clusterIP: '10.0.0.9', clusterIPs: ['10.0.0.9'], ports: [{ port: 1 }] } };
    const s = convertService(api);
    api.metadata.labels.x = 'changed';
    api.spec.clusterIPs.push('10.0.0.10');
    expect(s.labels).toEqual({ x: 'y' });
    expect(s.clusterIPs).toEqual(['10.0.0.9']);
  });

  it('converts nodes and namespaces and ignores unknown kinds', () => {
    expect(convertObject({ kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDR: '10.244.0.0/24' }, status: { addresses: [{ type: 'InternalIP', address: '172.18.0.2' }, { type: 'Hostname', address: 'n1' }] } })).toEqual({
      kind: 'nodes',
      record: { name: 'n1', key: 'n1', podCIDRs: ['10.244.0.0/24'], internalIPs: ['172.18.0.2'], labels: {}, resourceVersion: '' },
    });
    expect(convertObject({ metadata: { name: 'ns1', labels: { a: 'b' } } }, 'Namespace')).toMatchObject({ kind: 'namespaces', record: { key: 'ns1', labels: { a: 'b' } } });
    expect(convertObject({ kind: 'ConfigMap', metadata: { name: 'c' } })).toBeNull();
  });
});
