// Behaviour of the kubernetes handler beyond the shared conformance sample.

import { describe, expect, it } from 'vitest';

import { RCODE, TYPE } from '../../dns/constants.js';
import type { DnsResponse, RR } from '../../dns/message.js';
import { loadCases, makeHarness, rdataText } from './conformance-harness.test-helper.js';
import { FakeInformer, HAVE_CONFORMANCE, toService, toSlice } from './fake-informer.test-helper.js';
import { onProgrammingDuration } from './metrics.js';

const profiles = loadCases().profiles;
const BASE = profiles.base?.corefile ?? '';
const withOptions = (opts: string): string =>
  `.:53 {\n  kubernetes cluster.local in-addr.arpa ip6.arpa {\n    pods insecure\n${opts}\n  }\n}\n`;

const names = (rrs: RR[]): string[] => rrs.map((r) => `${r.name} ${r.type} ${rdataText(r)}`);
const soaOwner = (res: DnsResponse): string | undefined => res.authorities[0]?.name;

describe.skipIf(!HAVE_CONFORMANCE)('kubernetes handler', () => {
  it('answers NXDOMAIN with the zone SOA for an unknown service', async () => {
    const h = await makeHarness({ corefile: BASE });
    const res = await h.query('nope.testns.svc.cluster.local.', 'A');
    expect(res.rcode).toBe(RCODE.NXDOMAIN);
    expect(res.aa).toBe(true);
    expect(res.authorities).toHaveLength(1);
    expect(res.authorities[0]!.type).toBe('SOA');
    expect(soaOwner(res)).toBe('cluster.local.');
  });

  it('names the Service whose endpoints hold the server address in the apex NS record', async () => {
    const h = await makeHarness({ corefile: BASE, bind: ['10.244.0.10'] });
    const res = await h.query('cluster.local.', 'NS');
    expect(names(res.answers)).toEqual(['cluster.local. NS kube-dns.kube-system.svc.cluster.local.']);
    expect(names(res.additionals)).toEqual(['kube-dns.kube-system.svc.cluster.local. A 10.96.0.10']);
  });

  it('answers ns.dns.<zone> with the bound addresses and NODATA for the other family', async () => {
    const h = await makeHarness({ corefile: BASE, bind: ['192.0.2.7', '127.0.0.1'] });
    expect(names((await h.query('ns.dns.cluster.local.', 'A')).answers)).toEqual(['ns.dns.cluster.local. A 192.0.2.7']);
    const aaaa = await h.query('ns.dns.cluster.local.', 'AAAA');
    expect(aaaa.rcode).toBe(RCODE.NOERROR);
    expect(aaaa.answers).toEqual([]);
  });

  it('serves dns-version TXT 1.1.0 with TTL 28800 and nothing else at that name', async () => {
    const h = await makeHarness({ corefile: BASE });
    const txt = await h.query('dns-version.cluster.local.', 'TXT');
    expect(txt.answers).toEqual([{ name: 'dns-version.cluster.local.', type: 'TXT', class: 'IN', ttl: 28800, data: '1.1.0' }]);
    expect((await h.query('dns-version.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
  });

  it('answers TXT with NODATA on an existing service and NXDOMAIN on structural names', async () => {
    const h = await makeHarness({ corefile: BASE });
    const svc = await h.query('svc1.testns.svc.cluster.local.', 'TXT');
    expect([svc.rcode, svc.answers.length]).toEqual([RCODE.NOERROR, 0]);
    expect((await h.query('svc.cluster.local.', 'TXT')).rcode).toBe(RCODE.NXDOMAIN);
    expect((await h.query('testns.svc.cluster.local.', 'TXT')).rcode).toBe(RCODE.NXDOMAIN);
    expect((await h.query('testns.svc.cluster.local.', 'A')).rcode).toBe(RCODE.NOERROR);
  });

  it('answers SOA on any non-apex name with NODATA, even one that does not exist', async () => {
    const h = await makeHarness({ corefile: BASE });
    const res = await h.query('nope.nowhere.svc.cluster.local.', 'SOA');
    expect(res.rcode).toBe(RCODE.NOERROR);
    expect(res.answers).toEqual([]);
    expect(soaOwner(res)).toBe('cluster.local.');
  });

  it('refuses zone transfers', async () => {
    const h = await makeHarness({ corefile: BASE });
    const res = await h.query('cluster.local.', TYPE.AXFR);
    expect(res.rcode).toBe(RCODE.REFUSED);
    expect(res.authorities).toEqual([]);
  });

  it('passes names outside its zones to the next plugin', async () => {
    const h = await makeHarness({ corefile: BASE });
    const res = await h.query('example.net.', 'A');
    expect(res.plugin).toBe('forward');
  });

  it('falls through on NXDOMAIN only in the fallthrough zones', async () => {
    const h = await makeHarness({ corefile: profiles.kubeadm!.corefile });
    const ptr = await h.query('4.3.2.1.in-addr.arpa.', 'PTR');
    expect(ptr.plugin).toBe('forward');
    expect(names(ptr.answers)).toEqual(['4.3.2.1.in-addr.arpa. PTR host-1-2-3-4.example.net.']);
    const nx = await h.query('svc0.testns.svc.cluster.local.', 'A');
    expect([nx.rcode, nx.plugin]).toEqual([RCODE.NXDOMAIN, 'kubernetes']);
    // NODATA never falls through.
    const nodata = await h.query('svc1.testns.svc.cluster.local.', 'AAAA');
    expect([nodata.rcode, nodata.plugin]).toEqual([RCODE.NOERROR, 'kubernetes']);
  });

  it('answers SERVFAIL instead of NXDOMAIN while unsynced but still serves what it knows', async () => {
    const informer = FakeInformer.fromConformance();
    informer.synced = false;
    const h = await makeHarness({ corefile: BASE, informer });
    expect(h.plugin.ready!()).toBe(false);
    const nx = await h.query('svc0.testns.svc.cluster.local.', 'A');
    expect([nx.rcode, nx.authorities.length]).toEqual([RCODE.SERVFAIL, 1]);
    expect(names((await h.query('svc1.testns.svc.cluster.local.', 'A')).answers)).toEqual(['svc1.testns.svc.cluster.local. A 10.0.0.1']);
  });

  it('hides namespaces outside the namespaces option, also in PTR', async () => {
    const base = await makeHarness({ corefile: BASE });
    expect(names((await base.query('2.0.0.10.in-addr.arpa.', 'PTR')).answers)).toEqual(['2.0.0.10.in-addr.arpa. PTR svc1.unexposedns.svc.cluster.local.']);
    const h = await makeHarness({ corefile: profiles.namespaces!.corefile });
    expect((await h.query('svc1.unexposedns.svc.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
    expect((await h.query('unexposedns.svc.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
    expect((await h.query('2.0.0.10.in-addr.arpa.', 'PTR')).rcode).toBe(RCODE.NXDOMAIN);
    expect((await h.query('1.0.0.10.in-addr.arpa.', 'PTR')).rcode).toBe(RCODE.NOERROR);
  });

  it('keeps an internal ExternalName CNAME only when the target has records of the asked type', async () => {
    const h = await makeHarness({ corefile: BASE });
    const aaaa = await h.query('external-to-service.testns.svc.cluster.local.', 'AAAA');
    expect([aaaa.rcode, aaaa.answers.length]).toEqual([RCODE.NOERROR, 0]);
    expect(h.lookups).toEqual([]);
  });

  it('returns only the CNAME with NOERROR when the outside target does not resolve', async () => {
    const h = await makeHarness({ corefile: BASE });
    const res = await h.query('upriver.test-2.svc.cluster.local.', 'A');
    expect(res.rcode).toBe(RCODE.NOERROR);
    expect(names(res.answers)).toEqual(['upriver.test-2.svc.cluster.local. CNAME up.river.local.']);
    expect(h.lookups).toEqual([{ name: 'up.river.local.', qtype: TYPE.A }]);
  });

  it('answers SRV on an ExternalName with NODATA and its _port._proto names with NXDOMAIN', async () => {
    const h = await makeHarness({ corefile: BASE });
    const srv = await h.query('external.testns.svc.cluster.local.', 'SRV');
    expect([srv.rcode, srv.answers.length]).toEqual([RCODE.NOERROR, 0]);
    expect((await h.query('_http._tcp.external.testns.svc.cluster.local.', 'SRV')).rcode).toBe(RCODE.NXDOMAIN);
  });

  it('propagates truncation from the upstream lookup of an ExternalName target', async () => {
    const h = await makeHarness({ corefile: BASE });
    h.setLookup(async () => ({ rcode: RCODE.SERVFAIL, tc: true, answers: [], authorities: [], additionals: [] }));
    const res = await h.query('external.testns.svc.cluster.local.', 'A');
    expect(res.rcode).toBe(RCODE.NOERROR);
    expect(res.tc).toBe(true);
    expect(names(res.answers)).toEqual(['external.testns.svc.cluster.local. CNAME ext.interwebs.test.']);
  });

  it('ignores an ExternalName that is an IP literal', async () => {
    const informer = FakeInformer.fromConformance();
    const h = await makeHarness({ corefile: BASE, informer });
    informer.apply('services', 'add', toService({ metadata: { namespace: 'testns', name: 'ipname' }, spec: { type: 'ExternalName', externalName: '192.0.2.1' } }));
    expect((await h.query('ipname.testns.svc.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
  });

  it('follows informer changes: new services, slice updates, deletions and PTRs', async () => {
    const informer = FakeInformer.fromConformance();
    const h = await makeHarness({ corefile: BASE, informer });
    const svc = toService({ metadata: { namespace: 'testns', name: 'fresh' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    informer.apply('services', 'add', svc);
    expect((await h.query('fresh.testns.svc.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
    const slice = (ip: string) =>
      toSlice({ metadata: { namespace: 'testns', name: 'fresh-1', labels: { 'kubernetes.io/service-name': 'fresh' } }, addressType: 'IPv4', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: [{ addresses: [ip], conditions: { ready: true } }] });
    informer.apply('endpointslices', 'add', slice('172.30.0.1'));
    expect(names((await h.query('fresh.testns.svc.cluster.local.', 'A')).answers)).toEqual(['fresh.testns.svc.cluster.local. A 172.30.0.1']);
    expect(names((await h.query('1.0.30.172.in-addr.arpa.', 'PTR')).answers)).toEqual(['1.0.30.172.in-addr.arpa. PTR 172-30-0-1.fresh.testns.svc.cluster.local.']);
    informer.apply('endpointslices', 'update', slice('172.30.0.2'));
    expect(names((await h.query('fresh.testns.svc.cluster.local.', 'A')).answers)).toEqual(['fresh.testns.svc.cluster.local. A 172.30.0.2']);
    expect((await h.query('1.0.30.172.in-addr.arpa.', 'PTR')).rcode).toBe(RCODE.NXDOMAIN);
    informer.apply('services', 'delete', svc);
    expect((await h.query('fresh.testns.svc.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
    // The slice alone still names its endpoint in reverse, as in CoreDNS.
    expect((await h.query('2.0.30.172.in-addr.arpa.', 'PTR')).rcode).toBe(RCODE.NOERROR);
  });

  it('answers an FQDN endpoint address with a CNAME, as CoreDNS (addressType is not checked)', async () => {
    const informer = FakeInformer.fromConformance();
    const h = await makeHarness({ corefile: BASE, informer });
    informer.apply('services', 'add', toService({ metadata: { namespace: 'testns', name: 'fq' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } }));
    informer.apply('endpointslices', 'add', toSlice({ metadata: { namespace: 'testns', name: 'fq-1', labels: { 'kubernetes.io/service-name': 'fq' } }, addressType: 'FQDN', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: [{ addresses: ['www.example.com'], conditions: { ready: true } }] }));
    // A/AAAA: the CNAME, then the target resolved through the server (upstream).
    expect(names((await h.query('fq.testns.svc.cluster.local.', 'A')).answers)).toEqual(['fq.testns.svc.cluster.local. CNAME www.example.com.', 'www.example.com. A 192.0.2.53']);
    expect(names((await h.query('_http._tcp.fq.testns.svc.cluster.local.', 'AAAA')).answers)).toEqual(['_http._tcp.fq.testns.svc.cluster.local. CNAME www.example.com.', 'www.example.com. AAAA 2001:db8::53']);
    // The endpoint label is the address with dots dashed.
    expect(names((await h.query('www-example-com.fq.testns.svc.cluster.local.', 'CNAME')).answers)).toEqual(['www-example-com.fq.testns.svc.cluster.local. CNAME www.example.com.']);
    // SRV drops CNAME items (not implemented in CoreDNS): NODATA, not NXDOMAIN; wrong port stays NXDOMAIN.
    const srv = await h.query('_http._tcp.fq.testns.svc.cluster.local.', 'SRV');
    expect([srv.rcode, srv.answers.length]).toEqual([RCODE.NOERROR, 0]);
    expect((await h.query('_https._tcp.fq.testns.svc.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
  });

  it('appends 0 to a dashed IPv6 endpoint label that ends in a dash', async () => {
    const informer = FakeInformer.fromConformance();
    const h = await makeHarness({ corefile: BASE, informer });
    informer.apply('endpointslices', 'add', toSlice({ metadata: { namespace: 'testns', name: 'hdls1-v6b', labels: { 'kubernetes.io/service-name': 'hdls1' } }, addressType: 'IPv6', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], endpoints: [{ addresses: ['2001:db8::'], conditions: {} }] }));
    expect(names((await h.query('2001-db8--0.hdls1.testns.svc.cluster.local.', 'AAAA')).answers)).toEqual(['2001-db8--0.hdls1.testns.svc.cluster.local. AAAA 2001:db8::']);
  });

  it('echoes the query spelling in owners, SRV targets and the SOA', async () => {
    const h = await makeHarness({ corefile: BASE });
    const res = await h.query('_HTTP._Tcp.SVC1.TestNS.svc.Cluster.Local.', 'SRV');
    expect(names(res.answers)).toEqual(['_HTTP._Tcp.SVC1.TestNS.svc.Cluster.Local. SRV 0 100 80 svc1.testns.svc.Cluster.Local.']);
    expect(names(res.additionals)).toEqual(['svc1.testns.svc.Cluster.Local. A 10.0.0.1']);
    expect(soaOwner(await h.query('NOPE.testns.svc.CLUSTER.local.', 'A'))).toBe('CLUSTER.local.');
  });

  it('accepts _port._proto without underscores and answers A there with the ClusterIP', async () => {
    const h = await makeHarness({ corefile: BASE });
    expect(names((await h.query('http.tcp.svc1.testns.svc.cluster.local.', 'SRV')).answers)).toEqual(['http.tcp.svc1.testns.svc.cluster.local. SRV 0 100 80 svc1.testns.svc.cluster.local.']);
    expect(names((await h.query('_http._tcp.svc1.testns.svc.cluster.local.', 'A')).answers)).toEqual(['_http._tcp.svc1.testns.svc.cluster.local. A 10.0.0.1']);
    expect((await h.query('a.b.c.svc1.testns.svc.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
  });

  it('answers endpoint names under a ClusterIP service', async () => {
    const h = await makeHarness({ corefile: BASE });
    expect(names((await h.query('ep1a.svc1.testns.svc.cluster.local.', 'A')).answers)).toEqual(['ep1a.svc1.testns.svc.cluster.local. A 172.0.0.1']);
  });

  it('requires the namespace to exist for insecure pod names and answers NODATA for the other family', async () => {
    const h = await makeHarness({ corefile: BASE });
    expect((await h.query('10-0-0-1.nsnoexist.pod.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
    const aaaa = await h.query('10-0-0-1.podns.pod.cluster.local.', 'AAAA');
    expect([aaaa.rcode, aaaa.answers.length]).toEqual([RCODE.NOERROR, 0]);
    expect(names((await h.query('1234-abcd--1.podns.pod.cluster.local.', 'AAAA')).answers)).toEqual(['1234-abcd--1.podns.pod.cluster.local. AAAA 1234:abcd::1']);
  });

  it('ignores terminating pods in verified mode', async () => {
    const informer = FakeInformer.fromConformance();
    const h = await makeHarness({ corefile: profiles['pods-verified']!.corefile, informer });
    expect((await h.query('10-240-0-1.podns.pod.cluster.local.', 'A')).rcode).toBe(RCODE.NOERROR);
    const pod = informer.pods.get('podns/foo')!;
    informer.apply('pods', 'update', { ...pod, deleting: true });
    expect((await h.query('10-240-0-1.podns.pod.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
  });

  it('answers NXDOMAIN for headless and endpoint names with noendpoints', async () => {
    const h = await makeHarness({ corefile: withOptions('    noendpoints') });
    expect((await h.query('hdls1.testns.svc.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
    expect((await h.query('ep1a.svc1.testns.svc.cluster.local.', 'A')).rcode).toBe(RCODE.NXDOMAIN);
    expect((await h.query('svc1.testns.svc.cluster.local.', 'A')).rcode).toBe(RCODE.NOERROR);
  });

  it('uses the ttl option for records and the SOA (capped at 300 for the SOA TTL)', async () => {
    const h = await makeHarness({ corefile: withOptions('    ttl 600') });
    expect((await h.query('svc1.testns.svc.cluster.local.', 'A')).answers[0]!.ttl).toBe(600);
    const soa = (await h.query('cluster.local.', 'SOA')).answers[0]!;
    expect([soa.ttl, soa.data.minimum]).toEqual([300, 600]);
  });

  it('reports DNS programming durations for slices of headless services only, as CoreDNS', async () => {
    const informer = FakeInformer.fromConformance();
    await makeHarness({ corefile: BASE, informer });
    const seen: [number, string][] = [];
    const off = onProgrammingDuration((s, k) => seen.push([s, k]));
    informer.apply('endpointslices', 'update', { ...informer.endpointslices.get('testns/svc1-slice1')!, lastChangeTriggerTime: Date.now() - 5000 });
    informer.apply('endpointslices', 'update', { ...informer.endpointslices.get('testns/hdls1-slice1')!, lastChangeTriggerTime: Date.now() - 2000 });
    informer.apply('endpointslices', 'update', { ...informer.endpointslices.get('testns/hdls1-slice1')!, lastChangeTriggerTime: null });
    off();
    expect(seen.map(([, k]) => k)).toEqual(['headless_with_selector']);
    expect(seen[0]![0]).toBeGreaterThanOrEqual(1.9);
    expect(seen[0]![0]).toBeLessThan(4);
  });
});
