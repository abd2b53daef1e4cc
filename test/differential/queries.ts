// Queries for the differential test, generated from the cluster fixture itself (every Service,
// port, endpoint, pod, namespace and IP), plus structural, malformed, mixed-case and wildcard
// names and a few names only the upstream knows.

import { ipv6Bytes } from '../../src/dns/wire.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type KObject = Record<string, any>;

export interface DiffQuery {
  name: string;
  type: string;
  /** Send an OPT record (UDP size 1232, DO set). */
  edns?: boolean;
  /** Query class other than IN. */
  qclass?: string;
  /** Clear RD. */
  norecurse?: boolean;
  /** Ask over TCP from the start. */
  tcp?: boolean;
}

export function reverseName(ip: string): string {
  if (ip.includes(':')) {
    const b = ipv6Bytes(ip);
    const nibbles: string[] = [];
    for (let i = 15; i >= 0; i--) nibbles.push((b[i]! & 0xf).toString(16), (b[i]! >> 4).toString(16));
    return `${nibbles.join('.')}.ip6.arpa.`;
  }
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa.`;
}

/** IPv4 dots / IPv6 colons to dashes, as endpoint and pod labels. */
export function dashed(ip: string): string {
  return ip.replace(/[.:]/g, '-');
}

/** Alternate upper/lower case letters, so the echo of the query's spelling is visible. */
export function mixCase(name: string): string {
  let up = false;
  return name.replace(/[a-z]/gi, (c) => ((up = !up) ? c.toUpperCase() : c.toLowerCase()));
}

const NAME_TYPES = ['A', 'AAAA', 'SRV', 'CNAME', 'TXT', 'PTR', 'MX', 'SOA', 'NS', 'HINFO'];

export function generateQueries(cluster: { items: KObject[] }, zone = 'cluster.local.'): DiffQuery[] {
  const out: DiffQuery[] = [];
  const seen = new Set<string>();
  const add = (name: string, ...types: string[]) => {
    for (const type of types) {
      const k = `${name} ${type}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ name, type });
    }
  };
  const of = (kind: string) => cluster.items.filter((i) => i.kind === kind);
  const namespaces = of('Namespace').map((n) => n.metadata.name as string);
  const services = of('Service');
  const slices = of('EndpointSlice');
  const pods = of('Pod');
  const ips = new Set<string>();

  // Zone apex and structure.
  add(zone, 'SOA', 'NS', 'A', 'AAAA', 'TXT', 'SRV', 'MX', 'HINFO', 'PTR', 'CNAME');
  for (const s of ['svc', 'pod']) add(`${s}.${zone}`, 'A', 'AAAA', 'TXT', 'SOA', 'NS', 'SRV');
  add(`dns-version.${zone}`, 'TXT', 'A', 'AAAA', 'SRV');
  add(`DNS-Version.${mixCase(zone)}`, 'TXT');
  add(`ns.dns.${zone}`, 'A', 'AAAA', 'TXT');
  add(`dns.${zone}`, 'A');
  for (const bad of ['foo', 'svc1', 'testns', '*', 'any', '_tcp']) add(`${bad}.${zone}`, 'A', 'TXT', 'SOA');
  add(`a.b.c.d.e.f.svc.${zone}`, 'A');
  add(`svc1.testns.foo.${zone}`, 'A');

  // Namespaces (existing and not), under svc and pod.
  for (const ns of [...namespaces, 'svc-nons', 'nsnoexist', 'foo']) {
    for (const s of ['svc', 'pod']) add(`${ns}.${s}.${zone}`, 'A', 'AAAA', 'TXT', 'SOA', 'NS', 'SRV');
  }
  add(`${mixCase('testns')}.svc.${mixCase(zone)}`, 'A', 'SOA');

  // Wildcard labels (ordinary labels since CoreDNS 1.9).
  for (const n of ['*.testns.svc', 'any.testns.svc', '*.*.svc', 'svc1.*.svc', 'svc1.any.svc', '*.svc1.testns.svc', 'any.svc1.testns.svc',
    '_http._tcp.*.testns.svc', '*._tcp.svc1.testns.svc', '_http.*.svc1.testns.svc', '*.*.svc1.testns.svc', '*.default.pod']) {
    add(`${n}.${zone}`, 'A', 'SRV');
  }

  // Services.
  for (const svc of services) {
    const ns = svc.metadata.namespace as string;
    const name = svc.metadata.name as string;
    const base = `${name}.${ns}.svc.${zone}`;
    add(base, ...NAME_TYPES);
    add(mixCase(base), 'A', 'AAAA', 'SRV', 'CNAME');
    add(`nope.${base}`, 'A', 'SRV');
    add(`a.b.${base}`, 'A');
    add(`x._http._tcp.${base}`, 'SRV', 'A');
    for (const ip of svc.spec.clusterIPs ?? [svc.spec.clusterIP]) if (ip && ip !== 'None') ips.add(ip);
    const ports: KObject[] = svc.spec.ports ?? [];
    for (const p of ports) {
      const proto = String(p.protocol ?? 'TCP').toLowerCase();
      const other = proto === 'tcp' ? 'udp' : 'tcp';
      if (p.name) {
        add(`_${p.name}._${proto}.${base}`, 'SRV', 'A', 'AAAA', 'TXT');
        add(`${p.name}.${proto}.${base}`, 'SRV');
        add(`_${p.name}._${other}.${base}`, 'SRV');
        add(mixCase(`_${p.name}._${proto}.${base}`), 'SRV');
      }
      add(`_${p.port}._${proto}.${base}`, 'SRV');
    }
    add(`_nope._tcp.${base}`, 'SRV');
    add(`_http._sctp.${base}`, 'SRV');
    add(`_dns._udp.${base}`, 'SRV');
    // Endpoints: every endpoint of every slice of this service, by hostname, dashed IP and pod name.
    for (const sl of slices.filter((s) => s.metadata.namespace === ns && s.metadata.labels?.['kubernetes.io/service-name'] === name)) {
      for (const ep of sl.endpoints ?? []) {
        const labels = new Set<string>();
        if (ep.hostname) labels.add(ep.hostname);
        if (ep.targetRef?.name) labels.add(ep.targetRef.name);
        for (const ip of ep.addresses ?? []) {
          ips.add(ip);
          labels.add(dashed(ip));
          labels.add(`${dashed(ip)}0`);
        }
        for (const l of labels) {
          if (l.length > 63) continue;
          add(`${l}.${base}`, 'A', 'AAAA', 'SRV', 'TXT');
          add(mixCase(`${l}.${base}`), 'A');
          for (const p of sl.ports ?? []) if (p.name) add(`_${p.name}._${String(p.protocol ?? 'TCP').toLowerCase()}.${l}.${base}`, 'SRV');
        }
      }
    }
  }
  // Endpoint labels of one service under another one.
  add(`ep1a.svc2.testns.svc.${zone}`, 'A');
  add(`double-ep.svc2.testns.svc.${zone}`, 'A');
  add(`double-ep.svc1.testns.svc.${zone}`, 'A');
  add(`my-pet.kubernetes.default.svc.${zone}`, 'A');

  // Pods: every pod IP in its own namespace, in another one and in a missing one.
  for (const pod of pods) {
    const ns = pod.metadata.namespace as string;
    const podIPs: string[] = (pod.status?.podIPs ?? []).map((p: KObject) => p.ip);
    if (pod.status?.podIP) podIPs.unshift(pod.status.podIP);
    for (const ip of new Set(podIPs)) {
      ips.add(ip);
      add(`${dashed(ip)}.${ns}.pod.${zone}`, 'A', 'AAAA', 'TXT', 'SRV');
      add(`${dashed(ip)}.testns.pod.${zone}`, 'A');
      add(`${dashed(ip)}.nsnoexist.pod.${zone}`, 'A');
      add(mixCase(`${dashed(ip)}.${ns}.pod.${zone}`), 'A');
    }
    add(`${pod.metadata.name}.${ns}.pod.${zone}`, 'A');
  }
  for (const l of ['1-2-3-4', '1-2-3', '1-2-3-4-5', '1--2-3-4', '256-1-1-1', '10-0-0-01', '1234-abcd--1', '1234-abcd-0-0-0-0-0-1', '--1', 'foo', 'x-y-z-w', '0-0-0-0']) {
    add(`${l}.podns.pod.${zone}`, 'A', 'AAAA');
  }
  add(`a.10-240-0-1.podns.pod.${zone}`, 'A');

  // Reverse names: every ClusterIP, endpoint and pod IP, plus unknown and partial names.
  for (const ip of [...ips, '10.0.0.250', '172.0.0.250', '1234:abcd::99', '1.2.3.4', '192.0.2.1']) {
    add(reverseName(ip), 'PTR', 'A', 'TXT');
    add(mixCase(reverseName(ip)), 'PTR');
  }
  for (const n of ['in-addr.arpa.', 'ip6.arpa.', '10.in-addr.arpa.', '0.10.in-addr.arpa.', '0.0.10.in-addr.arpa.', '1.0.0.0.10.in-addr.arpa.',
    '256.0.0.10.in-addr.arpa.', 'foo.in-addr.arpa.', 'svc1.testns.in-addr.arpa.', 'svc1.testns.svc.cluster.local.in-addr.arpa.',
    '1.ip6.arpa.', '4.3.2.1.ip6.arpa.', 'x.1.0.0.10.in-addr.arpa.', 'arpa.']) {
    add(n, 'PTR', 'SOA', 'NS');
  }
  const v6 = reverseName('1234:abcd::1');
  add(v6.split('.').slice(16).join('.'), 'PTR');
  add(`f.${v6}`, 'PTR');

  // Upstream names (forward), including ExternalName targets.
  add('ext.interwebs.test.', 'A', 'AAAA');
  add('www.example.com.', 'A', 'AAAA', 'TXT');
  add('example.net.', 'A');
  add('up.river.local.', 'A');
  add('nonexistent.example.', 'A');
  add('Www.Example.Com.', 'A');

  // Unusual types, classes and flags on a few representative names.
  const sample = [zone, `svc1.testns.svc.${zone}`, `hdls1.testns.svc.${zone}`, `foo.default.svc.${zone}`, `nope.testns.svc.${zone}`,
    `_http._tcp.svc1.testns.svc.${zone}`, `10-240-0-1.podns.pod.${zone}`, `testns.svc.${zone}`, reverseName('10.0.0.1'), 'in-addr.arpa.',
    `dns-version.${zone}`, 'www.example.com.'];
  for (const n of sample) {
    add(n, 'ANY', 'CAA', 'DS', 'DNSKEY', 'NAPTR', 'NULL', 'SPF', 'TLSA', 'DNAME');
    out.push({ name: n, type: 'A', qclass: 'CH' }, { name: n, type: 'A', qclass: 'ANY' }, { name: n, type: 'A', norecurse: true });
    out.push({ name: n, type: 'AXFR', tcp: true }, { name: n, type: 'IXFR', tcp: true }, { name: n, type: 'SRV', tcp: true });
  }

  // A few with EDNS (OPT, DO) to compare OPT handling.
  for (const n of [`svc1.testns.svc.${zone}`, `nope.testns.svc.${zone}`, `foo.default.svc.${zone}`, `_http._tcp.hdls1.testns.svc.${zone}`, 'www.example.com.', reverseName('10.0.0.1')]) {
    out.push({ name: n, type: n.startsWith('_') ? 'SRV' : n.endsWith('arpa.') ? 'PTR' : 'A', edns: true });
  }
  return out;
}
