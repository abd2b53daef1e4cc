import { describe, it, expect } from 'vitest';
import { makeRequest } from '../../dns/request.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { emptyResponse, type DnsResponse } from '../../dns/message.js';
import type { Plugin } from '../types.js';
import type { Informer, Store, ServiceRecord, EndpointSliceRecord, NamespaceRecord } from '../../informer/types.js';
import { k8s_external, External } from './index.js';
import { directiveOf, fakeContext } from '../testing.test-helper.js';

function store<T extends { key: string }>(items: T[], indexes: Record<string, (t: T) => string[]>): Store<T> {
  return {
    get: (k) => items.find((i) => i.key === k),
    values: () => items[Symbol.iterator](),
    size: items.length,
    byIndex: (index, value) => items.filter((i) => indexes[index]?.(i).includes(value)),
  };
}

function svc(ns: string, name: string, o: Partial<ServiceRecord> = {}): ServiceRecord {
  return {
    namespace: ns, name, key: `${ns}/${name}`, type: 'LoadBalancer', clusterIPs: ['10.96.0.10'], headless: false,
    externalName: '', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], externalIPs: [], loadBalancerIngress: [],
    selector: null, labels: {}, sessionAffinity: 'None', publishNotReadyAddresses: false, resourceVersion: '1', ...o,
  };
}

const services = [
  svc('testns', 'svc1', { externalIPs: ['1.2.3.4'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] }),
  svc('testns', 'svc6', { externalIPs: ['1:2::5'], loadBalancerIngress: [{ ip: '1.2.3.5' }] }),
  svc('testns', 'lb', { loadBalancerIngress: [{ hostname: 'lb.cloud.example' }] }),
  svc('testns', 'internal'),
  svc('testns', 'hdls', { clusterIPs: [], headless: true, type: 'ClusterIP' }),
];
const slices: EndpointSliceRecord[] = [{
  namespace: 'testns', name: 'hdls-abc', key: 'testns/hdls-abc', serviceName: 'hdls', addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], labels: {}, lastChangeTriggerTime: null, resourceVersion: '1',
  endpoints: [
    { addresses: ['172.0.0.2'], ready: true, serving: true, terminating: false, hostname: 'web-0', targetRefName: '', targetRefNamespace: '', nodeName: '', zone: '' },
    { addresses: ['172.0.0.3'], ready: true, serving: true, terminating: false, hostname: '', targetRefName: '', targetRefNamespace: '', nodeName: '', zone: '' },
    { addresses: ['172.0.0.4'], ready: false, serving: true, terminating: false, hostname: '', targetRefName: '', targetRefNamespace: '', nodeName: '', zone: '' },
  ],
}];
const namespaces: NamespaceRecord[] = [{ name: 'testns', key: 'testns', labels: {}, resourceVersion: '1' }];

const informer = {
  services: store(services, { name: (s) => [s.name] }),
  endpointslices: store(slices, { service: (s) => [`${s.namespace}/${s.serviceName}`], ip: (s) => s.endpoints.flatMap((e) => e.addresses) }),
  namespaces: store(namespaces, {}),
  pods: store([], {}),
  nodes: store([], {}),
  synced: true,
  lastChange: 1_700_000_000_000,
} as unknown as Informer;

function setup(body: string, peer: Plugin | null = { name: 'kubernetes', informer } as unknown as Plugin, bind = ['172.0.0.2']): External {
  const d = directiveOf(body, 'Corefile');
  const ctx = fakeContext({
    block: { bind },
    peer: (n: string) => (n === 'kubernetes' ? (peer ?? undefined) : undefined),
    lookup: async (name: string, qtype: number) => ({
      rcode: 0, authorities: [], additionals: [],
      answers: qtype === TYPE.A ? [{ name, type: 'A', class: 'IN', ttl: 30, data: '203.0.113.9' }] : [],
    }),
  });
  return k8s_external.setup(d, ctx) as External;
}

const nextMarker = emptyResponse(RCODE.REFUSED, 'next');
async function ask(p: External, name: string, type: number): Promise<DnsResponse> {
  return await p.handle(makeRequest(name, type), () => nextMarker);
}

describe('k8s_external', () => {
  it('answers A from external IPs with the default TTL of 5', async () => {
    const p = setup('k8s_external example.com');
    const r = await ask(p, 'svc1.TestNS.example.com.', TYPE.A);
    expect(r.aa).toBe(true);
    expect(r.answers).toEqual([{ name: 'svc1.TestNS.example.com.', type: 'A', class: 'IN', ttl: 5, data: '1.2.3.4' }]);
  });

  it('answers AAAA and A from external IPs and LoadBalancer ingress IPs by family', async () => {
    const p = setup('k8s_external example.com');
    expect((await ask(p, 'svc6.testns.example.com.', TYPE.AAAA)).answers.map((a) => a.data)).toEqual(['1:2::5']);
    expect((await ask(p, 'svc6.testns.example.com.', TYPE.A)).answers.map((a) => a.data)).toEqual(['1.2.3.5']);
  });

  it('answers a LoadBalancer hostname with a CNAME and the resolved target', async () => {
    const p = setup('k8s_external example.com');
    const r = await ask(p, 'lb.testns.example.com.', TYPE.A);
    expect(r.answers.map((a) => [a.type, a.data])).toEqual([['CNAME', 'lb.cloud.example.'], ['A', '203.0.113.9']]);
  });

  it('answers SRV per port with glue for the service target', async () => {
    const p = setup('k8s_external example.com');
    const all = await ask(p, 'svc1.testns.example.com.', TYPE.SRV);
    expect(all.answers.map((a) => a.data)).toEqual([
      { priority: 0, weight: 50, port: 80, target: 'svc1.testns.example.com.' },
      { priority: 0, weight: 50, port: 53, target: 'svc1.testns.example.com.' },
    ]);
    expect(all.additionals).toEqual([{ name: 'svc1.testns.example.com.', type: 'A', class: 'IN', ttl: 5, data: '1.2.3.4' }]);
    const one = await ask(p, '_http._tcp.svc1.testns.example.com.', TYPE.SRV);
    expect(one.answers.map((a) => a.data.port)).toEqual([80]);
    expect((await ask(p, '_https._tcp.svc1.testns.example.com.', TYPE.SRV)).rcode).toBe(RCODE.NXDOMAIN);
  });

  it('answers NXDOMAIN with the SOA for services without external addresses and unknown names', async () => {
    const p = setup('k8s_external example.com');
    for (const n of ['internal.testns.example.com.', 'nope.testns.example.com.', 'svc1.nons.example.com.', 'a.b.c.svc1.testns.example.com.']) {
      const r = await ask(p, n, TYPE.A);
      expect(r.rcode).toBe(RCODE.NXDOMAIN);
      expect(r.authorities[0]).toMatchObject({ name: 'example.com.', type: 'SOA', ttl: 5 });
    }
  });

  it('answers NODATA for other types and for an existing namespace name', async () => {
    const p = setup('k8s_external example.com');
    for (const [n, t] of [['svc1.testns.example.com.', TYPE.TXT], ['svc1.testns.example.com.', TYPE.AAAA], ['testns.example.com.', TYPE.A]] as const) {
      const r = await ask(p, n, t);
      expect(r.rcode).toBe(RCODE.NOERROR);
      expect(r.answers).toEqual([]);
      expect(r.authorities[0].type).toBe('SOA');
    }
  });

  it('falls through on NXDOMAIN when configured', async () => {
    const p = setup('k8s_external example.com {\n fallthrough\n}');
    expect(await ask(p, 'nope.testns.example.com.', TYPE.A)).toBe(nextMarker);
  });

  it('serves SOA and NS at the apex with ns1 under the apex label', async () => {
    const p = setup('k8s_external example.com {\n apex ext\n ttl 30\n}');
    const soa = await ask(p, 'example.com.', TYPE.SOA);
    expect(soa.answers[0]).toEqual({
      name: 'example.com.', type: 'SOA', class: 'IN', ttl: 30,
      data: { mname: 'ns1.ext.example.com.', rname: 'hostmaster.ext.example.com.', serial: 1_700_000_000, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 },
    });
    const ns = await ask(p, 'example.com.', TYPE.NS);
    expect(ns.answers[0].data).toBe('ns1.ext.example.com.');
    expect((await ask(p, 'ext.example.com.', TYPE.A)).answers).toEqual([]);
    expect((await ask(p, 'ns2.ext.example.com.', TYPE.A)).rcode).toBe(RCODE.NXDOMAIN);
    expect((await ask(p, 'example.com.', TYPE.A)).authorities[0].type).toBe('SOA');
  });

  it('gives ns1 the local addresses when no endpoint holds them', async () => {
    const p = setup('k8s_external example.com', null, ['192.0.2.53']);
    const none = await ask(p, 'ns1.dns.example.com.', TYPE.A);
    expect(none).toBe(nextMarker); // no kubernetes peer: queries pass on
    const q = setup('k8s_external example.com', { name: 'kubernetes', informer } as unknown as Plugin, ['192.0.2.53']);
    expect((await ask(q, 'ns1.dns.example.com.', TYPE.A)).answers.map((a) => a.data)).toEqual(['192.0.2.53']);
  });

  it('serves headless endpoints by name when enabled', async () => {
    const off = setup('k8s_external example.com');
    expect((await ask(off, 'hdls.testns.example.com.', TYPE.A)).rcode).toBe(RCODE.NXDOMAIN);
    const p = setup('k8s_external example.com {\n headless\n}');
    expect((await ask(p, 'hdls.testns.example.com.', TYPE.A)).answers.map((a) => a.data)).toEqual(['172.0.0.2', '172.0.0.3']);
    expect((await ask(p, 'web-0.hdls.testns.example.com.', TYPE.A)).answers.map((a) => a.data)).toEqual(['172.0.0.2']);
    expect((await ask(p, '172-0-0-3.hdls.testns.example.com.', TYPE.A)).answers.map((a) => a.data)).toEqual(['172.0.0.3']);
    const srv = await ask(p, '_http._tcp.hdls.testns.example.com.', TYPE.SRV);
    expect(srv.answers.map((a) => a.data.target)).toEqual(['web-0.hdls.testns.example.com.', '172-0-0-3.hdls.testns.example.com.']);
  });

  it('answers PTR for external IPs in a reverse zone it serves', async () => {
    const p = setup('k8s_external example.com in-addr.arpa');
    const r = await ask(p, '4.3.2.1.in-addr.arpa.', TYPE.PTR);
    expect(r.answers).toEqual([{ name: '4.3.2.1.in-addr.arpa.', type: 'PTR', class: 'IN', ttl: 5, data: 'svc1.testns.example.com.' }]);
    const miss = await ask(p, '9.9.9.9.in-addr.arpa.', TYPE.PTR);
    expect(miss.rcode).toBe(RCODE.NXDOMAIN);
    expect(miss.authorities[0].name).toBe('in-addr.arpa.');
  });

  it('rejects bad options', () => {
    expect(() => setup('k8s_external example.com {\n ttl 4000\n}')).toThrow(/Corefile:3 .*ttl must be in range/);
    expect(() => setup('k8s_external example.com {\n nope\n}')).toThrow(/unknown property 'nope'/);
  });
});
