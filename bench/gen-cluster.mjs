#!/usr/bin/env node
// Generates a benchmark cluster (a v1 List as `kubectl get -o json` prints it), the dnsperf query
// files (`name TYPE` per line) and expect.json (every answer the cluster implies, used by the
// unbound config and the bare Node ceiling server).
//
//   node bench/gen-cluster.mjs [--services N] [--endpoints E] [--namespaces K] [--headless-every H]
//                              [--pods P] [--external X] [--seed S] [--out DIR]
//
// Service i is `svc-i` (ClusterIP, port `http` 80/TCP) or, every H-th, `headless-i` (clusterIP
// None, ports `http` 80/TCP and `grpc` 9090/TCP), in namespace `ns-(i % K)`, each with one
// EndpointSlice of E ready endpoints. Pods (P, default 0) back the endpoints first, then stand alone.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ZONE = 'cluster.local';
export const SOA = {
  name: ZONE,
  type: 'SOA',
  ttl: 30,
  data: {
    mname: `ns.dns.${ZONE}`,
    rname: `hostmaster.${ZONE}`,
    serial: 1700000000,
    refresh: 7200,
    retry: 1800,
    expire: 86400,
    minimum: 30,
  },
};

const ipToInt = (s) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
export const intToIp = (n) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const SVC_BASE = ipToInt('10.96.0.0') + 16;
const EP_BASE = ipToInt('10.244.0.0') + 2;
const EXT_BASE = ipToInt('198.18.0.0') + 1;

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(arr, rnd) {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return arr;
}

export const extName = (i) => `ext-${i}.example.test`;
export const extIp = (i) => intToIp(EXT_BASE + i);

/** Deterministic model of the cluster; objects are built lazily by the callers below. */
export function model({ services = 1000, endpoints = 10, namespaces = 10, headlessEvery = 10, pods = 0 } = {}) {
  const svcs = [];
  let ep = 0;
  for (let i = 0; i < services; i++) {
    const headless = headlessEvery > 0 && i % headlessEvery === headlessEvery - 1;
    const name = headless ? `headless-${i}` : `svc-${i}`;
    const ns = `ns-${(i + Math.floor(i / Math.max(1, headlessEvery))) % namespaces}`;
    svcs.push({
      i,
      name,
      ns,
      headless,
      clusterIP: headless ? null : intToIp(SVC_BASE + i),
      epBase: ep,
      epCount: endpoints,
    });
    ep += endpoints;
  }
  return { svcs, totalEndpoints: ep, namespaces, pods, endpoints };
}

export const epIp = (k) => intToIp(EP_BASE + k);
export const fqdn = (s) => `${s.name}.${s.ns}.svc.${ZONE}`;

export function serviceObject(s, rv = '1') {
  const ports = [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }];
  if (s.headless) ports.push({ name: 'grpc', port: 9090, protocol: 'TCP', targetPort: 9090 });
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: s.name,
      namespace: s.ns,
      uid: `svc-uid-${s.ns}-${s.name}`,
      resourceVersion: rv,
      labels: { app: s.name },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: s.headless ? 'None' : s.clusterIP,
      clusterIPs: [s.headless ? 'None' : s.clusterIP],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      selector: { app: s.name },
      ports,
    },
  };
}

export function sliceObject(s, rv = '1', addrs = null) {
  const eps = [];
  const list = addrs ?? Array.from({ length: s.epCount }, (_, j) => epIp(s.epBase + j));
  list.forEach((ip, j) => {
    eps.push({
      addresses: [ip],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${j % 3}`,
      targetRef: { kind: 'Pod', namespace: s.ns, name: `${s.name}-pod-${j}` },
    });
  });
  const ports = [{ name: 'http', port: 8080, protocol: 'TCP' }];
  if (s.headless) ports.push({ name: 'grpc', port: 9090, protocol: 'TCP' });
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${s.name}-abcde`,
      namespace: s.ns,
      uid: `eps-uid-${s.ns}-${s.name}`,
      resourceVersion: rv,
      labels: { 'kubernetes.io/service-name': s.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: s.name, uid: `svc-uid-${s.ns}-${s.name}` }],
    },
    addressType: 'IPv4',
    endpoints: eps,
    ports,
  };
}

export function namespaceObject(name) {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: `ns-uid-${name}`, resourceVersion: '1', labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

function podObject(name, ns, ip, app) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, uid: `pod-uid-${ns}-${name}`, resourceVersion: '1', labels: { app } },
    spec: { nodeName: 'node-0', containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9' }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: '192.168.0.10' },
  };
}

/** Every object of the cluster, in List order. */
export function* objects(m) {
  const nsNames = ['default', 'kube-system', ...Array.from({ length: m.namespaces }, (_, k) => `ns-${k}`)];
  for (const n of nsNames) yield namespaceObject(n);
  const fixed = [
    { name: 'kubernetes', ns: 'default', headless: false, clusterIP: '10.96.0.1', epBase: -1, epCount: 0 },
    { name: 'kube-dns', ns: 'kube-system', headless: false, clusterIP: '10.96.0.10', epBase: -1, epCount: 0 },
  ];
  for (const s of fixed) {
    yield serviceObject(s);
    yield sliceObject(s, '1', [s.name === 'kubernetes' ? '192.168.0.10' : '10.244.255.250']);
  }
  for (const s of m.svcs) yield serviceObject(s);
  for (const s of m.svcs) yield sliceObject(s);
  let k = 0;
  outer: for (const s of m.svcs) {
    for (let j = 0; j < s.epCount; j++) {
      if (k >= m.pods) break outer;
      yield podObject(`${s.name}-pod-${j}`, s.ns, epIp(s.epBase + j), s.name);
      k++;
    }
  }
  for (; k < m.pods; k++) {
    yield podObject(`pod-${k}`, `ns-${k % m.namespaces}`, epIp(k), 'standalone');
  }
}

export function clusterList(m) {
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: [...objects(m)] };
}

/** Write the List as JSON without building one giant string (100k pods are ~60 MB). */
export function writeClusterFile(file, m) {
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, '{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[\n');
  let first = true;
  let chunk = [];
  const flush = () => {
    if (chunk.length) fs.writeSync(fd, chunk.join(''));
    chunk = [];
  };
  for (const o of objects(m)) {
    chunk.push((first ? '' : ',\n') + JSON.stringify(o));
    first = false;
    if (chunk.length >= 2000) flush();
  }
  flush();
  fs.writeSync(fd, '\n]}\n');
  fs.closeSync(fd);
}

const a = (name, ip, ttl = 30) => ({ name, type: 'A', ttl, data: ip });

/** Every answer implied by the cluster and the external names. */
export function expectedAnswers(m, externalCount) {
  const entries = [];
  const add = (name, type, rcode, answers, additionals = [], authorities = []) =>
    entries.push({ name, type, rcode, answers, additionals, authorities });
  const fixed = [
    ['kubernetes.default.svc.cluster.local', '10.96.0.1'],
    ['kube-dns.kube-system.svc.cluster.local', '10.96.0.10'],
  ];
  for (const [n, ip] of fixed) add(n, 'A', 'NOERROR', [a(n, ip)]);
  for (const s of m.svcs) {
    const n = fqdn(s);
    if (!s.headless) {
      add(n, 'A', 'NOERROR', [a(n, s.clusterIP)]);
      const srv = `_http._tcp.${n}`;
      add(srv, 'SRV', 'NOERROR', [{ name: srv, type: 'SRV', ttl: 30, data: { priority: 0, weight: 100, port: 80, target: n } }], [a(n, s.clusterIP)]);
    } else {
      const ips = Array.from({ length: s.epCount }, (_, j) => epIp(s.epBase + j));
      add(n, 'A', 'NOERROR', ips.map((ip) => a(n, ip)));
      const weight = Math.floor(100 / Math.max(1, ips.length));
      for (const [pname, port] of [
        ['http', 8080],
        ['grpc', 9090],
      ]) {
        const srv = `_${pname}._tcp.${n}`;
        const targets = ips.map((ip) => `${ip.replace(/\./g, '-')}.${n}`);
        add(
          srv,
          'SRV',
          'NOERROR',
          targets.map((t) => ({ name: srv, type: 'SRV', ttl: 30, data: { priority: 0, weight, port, target: t } })),
          targets.map((t, j) => a(t, ips[j])),
        );
      }
      ips.forEach((ip) => {
        const t = `${ip.replace(/\./g, '-')}.${n}`;
        add(t, 'A', 'NOERROR', [a(t, ip)]);
      });
    }
  }
  for (let i = 0; i < externalCount; i++) {
    const e = extName(i);
    for (const sfx of searchSuffixes(i, m)) add(`${e}.${sfx}`, 'A', 'NXDOMAIN', [], [], [SOA]);
    add(e, 'A', 'NOERROR', [a(e, extIp(i))]);
  }
  return { zone: ZONE, soa: SOA, entries };
}

/** The search list of the pod that looks up external name i (ndots:5, namespace ns-(i % K)). */
export function searchSuffixes(i, m) {
  const ns = `ns-${i % m.namespaces}`;
  return [`${ns}.svc.${ZONE}`, `svc.${ZONE}`, ZONE];
}

export const WORKLOADS = ['clusterip', 'headless', 'srv', 'ndots', 'external', 'mixed'];

/** Query files: {workload: lines[]} */
export function queryFiles(m, { distinct = 1000, externalCount = 1000, seed = 1 } = {}) {
  const rnd = mulberry32(seed);
  const cip = shuffle(m.svcs.filter((s) => !s.headless), rnd).slice(0, distinct);
  const hl = shuffle(m.svcs.filter((s) => s.headless), rnd).slice(0, distinct);
  const out = {};
  out.clusterip = cip.map((s) => `${fqdn(s)} A`);
  out.headless = hl.map((s) => `${fqdn(s)} A`);
  // SRV in the population's proportion of ClusterIP to headless services.
  const nh = Math.round((distinct * hl.length) / Math.max(1, cip.length + hl.length));
  out.srv = shuffle(
    [...cip.slice(0, distinct - nh).map((s) => `_http._tcp.${fqdn(s)} SRV`), ...hl.slice(0, nh).map((s) => `_http._tcp.${fqdn(s)} SRV`)],
    rnd,
  );
  out.ndots = [];
  out.external = [];
  const ext = Math.min(externalCount, distinct);
  for (let i = 0; i < ext; i++) {
    for (const sfx of searchSuffixes(i, m)) out.ndots.push(`${extName(i)}.${sfx} A`);
    out.ndots.push(`${extName(i)} A`);
    out.external.push(`${extName(i)} A`);
  }
  // Mixed: blocks of 4 ClusterIP A, 1 headless A, 1 SRV, one ndots:5 sequence (4 queries).
  out.mixed = [];
  for (let b = 0; b < 300; b++) {
    for (let j = 0; j < 4; j++) out.mixed.push(out.clusterip[(b * 4 + j) % out.clusterip.length]);
    if (out.headless.length) out.mixed.push(out.headless[b % out.headless.length]);
    out.mixed.push(out.srv[b % out.srv.length]);
    const e = b % ext;
    for (let j = 0; j < 4; j++) out.mixed.push(out.ndots[e * 4 + j]);
  }
  for (const k of Object.keys(out)) if (!out[k].length) delete out[k];
  return out;
}

/** Generate everything into `dir`; returns paths and the model. */
export function generate(dir, opts = {}) {
  const { services = 1000, endpoints = 10, namespaces = 10, headlessEvery = 10, pods = 0, external = 1000, seed = 1, withExpect = true } = opts;
  fs.mkdirSync(dir, { recursive: true });
  const m = model({ services, endpoints, namespaces, headlessEvery, pods });
  const clusterFile = path.join(dir, 'cluster.json');
  writeClusterFile(clusterFile, m);
  const queries = {};
  for (const [w, lines] of Object.entries(queryFiles(m, { externalCount: external, seed }))) {
    const f = path.join(dir, `queries-${w}.txt`);
    fs.writeFileSync(f, lines.join('\n') + '\n');
    queries[w] = f;
  }
  let expectFile = null;
  if (withExpect) {
    expectFile = path.join(dir, 'expect.json');
    fs.writeFileSync(expectFile, JSON.stringify(expectedAnswers(m, external)));
  }
  return { dir, clusterFile, queries, expectFile, model: m };
}

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    const num = () => {
      i++;
      return Number(v);
    };
    if (k === '--services') o.services = num();
    else if (k === '--endpoints') o.endpoints = num();
    else if (k === '--namespaces') o.namespaces = num();
    else if (k === '--headless-every') o.headlessEvery = num();
    else if (k === '--pods') o.pods = num();
    else if (k === '--external') o.external = num();
    else if (k === '--seed') o.seed = num();
    else if (k === '--out') {
      o.out = v;
      i++;
    } else if (k === '-h' || k === '--help') {
      console.log('usage: node bench/gen-cluster.mjs [--services N] [--endpoints E] [--namespaces K] [--headless-every H] [--pods P] [--external X] [--seed S] [--out DIR]');
      process.exit(0);
    } else throw new Error(`unknown flag ${k}`);
  }
  return o;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseArgs(process.argv.slice(2));
  const dir = o.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-bench-gen-'));
  const r = generate(dir, o);
  console.log(JSON.stringify({ dir: r.dir, cluster: r.clusterFile, expect: r.expectFile, queries: r.queries }, null, 2));
}
