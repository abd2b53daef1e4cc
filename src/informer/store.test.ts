import { describe, expect, it } from 'vitest';
import { convertEndpointSlice, convertPod, convertService } from './convert.js';
import { createStores } from './store.js';

const svc = (ns: string, name: string, ips: string[], rv = '1') =>
  convertService({ kind: 'Service', metadata: { name, namespace: ns, resourceVersion: rv }, spec: { clusterIP: ips[0] ?? 'None', clusterIPs: ips.length ? ips : ['None'] } });
const slice = (ns: string, name: string, service: string, ips: string[]) =>
  convertEndpointSlice({
    kind: 'EndpointSlice', metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4', endpoints: ips.map((ip) => ({ addresses: [ip] })),
  });

describe('store indexes', () => {
  it('finds services by name across namespaces, by cluster IP and by namespace', () => {
    const { services } = createStores();
    services.set(svc('a', 'web', ['10.0.0.1', 'fd00::1']));
    services.set(svc('b', 'web', ['10.0.0.2']));
    services.set(svc('b', 'db', []));
    expect(services.byIndex('name', 'web').map((s) => s.key).sort()).toEqual(['a/web', 'b/web']);
    expect(services.byIndex('clusterIP', 'fd00::1').map((s) => s.key)).toEqual(['a/web']);
    expect(services.byIndex('namespace', 'b').map((s) => s.key).sort()).toEqual(['b/db', 'b/web']);
    expect(services.byIndex('name', 'nothing')).toEqual([]);
    expect(services.size).toBe(3);
  });

  it('moves a record between index values on update and drops it on delete', () => {
    const { services } = createStores();
    services.set(svc('a', 'web', ['10.0.0.1']));
    services.set(svc('a', 'web', ['10.0.0.9'], '2'));
    expect(services.byIndex('clusterIP', '10.0.0.1')).toEqual([]);
    expect(services.byIndex('clusterIP', '10.0.0.9')[0]!.resourceVersion).toBe('2');
    expect(services.byIndex('name', 'web')).toHaveLength(1);
    expect(services.delete('a/web')?.key).toBe('a/web');
    expect(services.byIndex('name', 'web')).toEqual([]);
    expect(services.byIndex('clusterIP', '10.0.0.9')).toEqual([]);
    expect(services.delete('a/web')).toBeUndefined();
  });

  it('indexes slices by namespace/service and by every endpoint address', () => {
    const { endpointslices } = createStores();
    endpointslices.set(slice('n', 'web-1', 'web', ['10.1.0.1', '10.1.0.2']));
    endpointslices.set(slice('n', 'web-2', 'web', ['10.1.0.2']));
    endpointslices.set(slice('m', 'web-1', 'web', ['10.1.0.3']));
    expect(endpointslices.byIndex('service', 'n/web').map((s) => s.name).sort()).toEqual(['web-1', 'web-2']);
    expect(endpointslices.byIndex('ip', '10.1.0.2').map((s) => s.key).sort()).toEqual(['n/web-1', 'n/web-2']);
    endpointslices.set(slice('n', 'web-1', 'web', ['10.1.0.1']));
    expect(endpointslices.byIndex('ip', '10.1.0.2').map((s) => s.key)).toEqual(['n/web-2']);
  });

  it('indexes pods by primary pod IP only', () => {
    const { pods } = createStores();
    pods.set(convertPod({ kind: 'Pod', metadata: { name: 'p', namespace: 'n' }, status: { podIP: '10.2.0.1', podIPs: [{ ip: '10.2.0.1' }, { ip: 'fd00::7' }] } }));
    expect(pods.byIndex('ip', '10.2.0.1')).toHaveLength(1);
    expect(pods.byIndex('ip', 'fd00::7')).toEqual([]);
    expect(pods.byIndex('namespace', 'n')).toHaveLength(1);
  });

  it('returns the same cached array until the bucket changes', () => {
    const { services } = createStores();
    services.set(svc('a', 'web', ['10.0.0.1']));
    const first = services.byIndex('name', 'web');
    expect(services.byIndex('name', 'web')).toBe(first);
    services.set(svc('b', 'web', ['10.0.0.2']));
    expect(services.byIndex('name', 'web')).not.toBe(first);
    expect(services.byIndex('name', 'web')).toHaveLength(2);
  });

  it('rejects an index the kind does not have', () => {
    const { namespaces, services } = createStores();
    expect(() => namespaces.byIndex('name', 'x')).toThrow(/no index 'name'/);
    expect(() => services.byIndex('ip', 'x')).toThrow(/no index 'ip'/);
  });
});

describe('store buckets', () => {
  it('turns a one-record bucket into a shared one and back, keeping lookups exact', () => {
    const { endpointslices } = createStores();
    const a = slice('n', 'a', 'web', ['10.1.0.1']);
    endpointslices.set(a);
    const one = endpointslices.byIndex('ip', '10.1.0.1');
    expect(one).toEqual([a]);
    expect(Object.isFrozen(one)).toBe(true);
    expect(endpointslices.byIndex('ip', '10.1.0.1')).toBe(one);
    endpointslices.set(slice('n', 'b', 'web', ['10.1.0.1']));
    expect(endpointslices.byIndex('ip', '10.1.0.1').map((s) => s.name)).toEqual(['a', 'b']);
    expect(endpointslices.byIndex('service', 'n/web').map((s) => s.name)).toEqual(['a', 'b']);
    const a2 = slice('n', 'a', 'web', ['10.1.0.1', '10.1.0.1']); // replace in place, address listed twice
    endpointslices.set(a2);
    expect(endpointslices.byIndex('ip', '10.1.0.1')).toEqual([a2, endpointslices.get('n/b')]);
    endpointslices.delete('n/b');
    expect(endpointslices.byIndex('ip', '10.1.0.1')).toEqual([a2]);
    expect(endpointslices.byIndex('service', 'n/web')).toEqual([a2]);
    endpointslices.delete('n/a');
    expect(endpointslices.byIndex('ip', '10.1.0.1')).toEqual([]);
    expect(endpointslices.byIndex('service', 'n/web')).toEqual([]);
  });
});
