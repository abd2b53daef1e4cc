// Answers one query from the ClusterView, following CoreDNS's kubernetes handler and
// plugin/backend_lookup.go: the qname is parsed into (port, protocol, endpoint, service, namespace,
// svc|pod); `services()` yields the matching items or a name error; A/AAAA/SRV/TXT/... build their
// records from those. Names are matched lower-cased; owners echo the query's spelling and
// generated targets use object names plus the zone as spelled in the query.

import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import type { Handler, Result } from '../types.js';
import { addressFromReverse, isReverseName, parseIP, podLabelToIP } from './ip.js';
import type { ParsedIP } from './ip.js';
import { endpointsByLabel, joinZone } from './records.js';
import type { AddrItem, ClusterView, CnameItem, Item } from './records.js';
import type { KubernetesConfig } from './config.js';

const PLUGIN = 'kubernetes';
/** Schema version served at `dns-version.<zone>` TXT (kubernetes/dns specification). */
export const DNS_SCHEMA_VERSION = '1.1.0';
const DNS_VERSION_TTL = 28800;
/** CNAME chain cap for ExternalName services (CoreDNS 1.12.1+; 7 before). */
const MAX_CNAME_CHAIN = 10;

/** A name error: NXDOMAIN (or fallthrough / SERVFAIL while unsynced). */
const NX = Symbol('nxdomain');
type NX = typeof NX;

interface RecordRequest {
  podOrSvc: '' | 'svc' | 'pod';
  namespace: string;
  service: string;
  endpoint: string;
  port: string;
  protocol: string;
}

/** An A/AAAA answer under construction: CNAMEs to outside targets need a lookup. */
type Part =
  | { k: 'rr'; rr: RR }
  | { k: 'ext'; cname: RR; target: string }
  | { k: 'int'; cname: RR; parts: Part[] };

export interface ClusterState {
  readonly synced: boolean;
  /** Unix ms of the last change (SOA serial). */
  readonly lastChange: number;
}

export type Lookup = (name: string, qtype: number, from: DnsRequest) => Promise<DnsResponse>;

function trimZone(lname: string, zone: string): string {
  if (zone === '.') return lname === '.' ? '' : lname.slice(0, -1);
  return lname.length === zone.length ? '' : lname.slice(0, lname.length - zone.length - 1);
}

/** `child` equals `parent` or is below it (both lower case, absolute). */
function isSubdomain(parent: string, child: string): boolean {
  if (parent === '.') return true;
  return child === parent || child.endsWith(`.${parent}`);
}

function stripUnderscore(s: string): string {
  return s.startsWith('_') ? s.slice(1) : s;
}

const EMPTY_REQ: RecordRequest = { podOrSvc: '', namespace: '', service: '', endpoint: '', port: '', protocol: '' };

/** CoreDNS parse.go parseRequest; NX for names that cannot exist. */
function parseRequest(base: string): RecordRequest | NX {
  if (base === '' || base === 'svc' || base === 'pod') return EMPTY_REQ;
  const segs = base.split('.');
  let last = segs.length - 1;
  const podOrSvc = segs[last]!;
  if (podOrSvc !== 'svc' && podOrSvc !== 'pod') return NX;
  const r: RecordRequest = { podOrSvc, namespace: '', service: '', endpoint: '', port: '', protocol: '' };
  if (--last < 0) return r;
  r.namespace = segs[last]!;
  if (--last < 0) return r;
  r.service = segs[last]!;
  if (--last < 0) return r;
  if (last === 0) r.endpoint = segs[0]!;
  else if (last === 1) {
    r.protocol = stripUnderscore(segs[1]!);
    r.port = stripUnderscore(segs[0]!);
  } else return NX;
  return r;
}

function matchPort(r: RecordRequest, it: { portName: string; protocol: string }): boolean {
  return (r.port === '' || r.port === it.portName.toLowerCase()) && (r.protocol === '' || r.protocol === it.protocol.toLowerCase());
}

export class KubernetesHandler {
  private localIPCache: ParsedIP[] | null = null;

  constructor(
    private readonly cfg: KubernetesConfig,
    private readonly view: ClusterView,
    private readonly state: ClusterState,
    private readonly lookup: Lookup,
    private readonly localIPs: () => ParsedIP[],
  ) {}

  handle(req: DnsRequest, next: Handler): Result {
    const q = req.question;
    const zone = this.matchZone(q.lname);
    if (zone === null) return next(req);
    if (this.view.pending) this.view.flush();
    // The zone as spelled in the query: SOA owners and generated targets echo it.
    const zs = q.name.slice(q.name.length - zone.length);
    const ttl = this.cfg.ttl;
    const lname = q.lname;

    switch (q.qtype) {
      case TYPE.AXFR:
      case TYPE.IXFR:
        // Zone transfers need the transfer plugin; CoreDNS returns REFUSED (written by the server).
        return { rcode: RCODE.REFUSED, answers: [], authorities: [], additionals: [], plugin: PLUGIN };
      case TYPE.A:
      case TYPE.AAAA: {
        const parts = this.addressParts(lname, q.name, zone, zs, q.qtype, []);
        if (parts === NX) return this.nameError(req, next, zs);
        const flat = flattenSync(parts);
        if (flat) return this.answer(zs, flat, []);
        return this.resolveParts(parts, req).then(({ rrs, tc }) => {
          const res = this.answer(zs, rrs, []) as DnsResponse;
          if (tc) res.tc = true;
          return res;
        });
      }
      case TYPE.TXT: {
        const items = this.txt(lname, zone);
        if (items === NX) return this.nameError(req, next, zs);
        const rrs: RR[] = items ? [{ name: q.name, type: 'TXT', class: 'IN', ttl: DNS_VERSION_TTL, data: DNS_SCHEMA_VERSION }] : [];
        return this.answer(zs, rrs, []);
      }
      case TYPE.CNAME: {
        const items = this.services(lname, zone, zs, q.qtype);
        if (items === NX) return this.nameError(req, next, zs);
        const first = items[0];
        const rrs: RR[] = first && first.t === 'cname' ? [{ name: q.name, type: 'CNAME', class: 'IN', ttl, data: first.host }] : [];
        return this.answer(zs, rrs, []);
      }
      case TYPE.PTR: {
        const targets = this.reverse(lname, zone);
        if (targets === NX) return this.nameError(req, next, zs);
        const seen = new Set<string>();
        const rrs: RR[] = [];
        for (const t of targets) {
          if (seen.has(t)) continue;
          seen.add(t);
          rrs.push({ name: q.name, type: 'PTR', class: 'IN', ttl, data: t });
        }
        return this.answer(zs, rrs, []);
      }
      case TYPE.SRV: {
        const items = this.services(lname, zone, zs, q.qtype);
        if (items === NX) return this.nameError(req, next, zs);
        const { answers, extra } = this.srv(items as readonly AddrItem[], q.name, zs);
        return this.answer(zs, answers, extra);
      }
      case TYPE.MX: {
        // No kubernetes item is a mail exchanger: existing names are NODATA.
        const items = this.services(lname, zone, zs, q.qtype);
        if (items === NX) return this.nameError(req, next, zs);
        return this.answer(zs, [], []);
      }
      case TYPE.SOA:
        // Only the apex has an SOA; any other name is NODATA, even one that does not exist.
        return this.answer(zs, lname === zone ? [this.soa(zs)] : [], []);
      case TYPE.NS:
        // CoreDNS compares the lower-cased qname with the zone as spelled in the query, so an
        // apex NS query in upper case falls to the NODATA path below.
        if (lname === zs) {
          const { answers, extra } = this.ns(q.name, zs);
          return this.answer(zs, answers, extra);
        }
      // falls through
      default: {
        // Any other type: only tell NODATA from NXDOMAIN, with an A lookup of the name.
        const items = this.services(lname, zone, zs, TYPE.A);
        if (items === NX) return this.nameError(req, next, zs);
        return this.answer(zs, [], []);
      }
    }
  }

  // --- zone, SOA, responses -------------------------------------------------------------------

  private matchZone(lname: string): string | null {
    let best: string | null = null;
    for (const z of this.cfg.zones) {
      if (isSubdomain(z, lname) && (best === null || z.length > best.length)) best = z;
    }
    return best;
  }

  private soa(zs: string): RR {
    const ttl = this.cfg.ttl;
    return {
      name: zs,
      type: 'SOA',
      class: 'IN',
      ttl: Math.min(ttl, 300),
      data: {
        mname: joinZone('ns.dns.', zs),
        rname: joinZone('hostmaster.', zs),
        serial: Math.floor(this.state.lastChange / 1000) >>> 0,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: ttl,
      },
    };
  }

  /** A positive answer, or NODATA (NOERROR + SOA) when there are no records. */
  private answer(zs: string, answers: RR[], extra: RR[]): DnsResponse {
    if (answers.length === 0) {
      return { rcode: RCODE.NOERROR, aa: true, answers: [], authorities: [this.soa(zs)], additionals: [], plugin: PLUGIN };
    }
    return { rcode: RCODE.NOERROR, aa: true, answers, authorities: [], additionals: extra, plugin: PLUGIN };
  }

  private nameError(req: DnsRequest, next: Handler, zs: string): Result {
    if (this.cfg.fallthrough && this.cfg.fallthrough.some((z) => isSubdomain(z, req.question.lname))) return next(req);
    // Unsynced caches must not produce authoritative NXDOMAINs.
    const rcode = this.state.synced ? RCODE.NXDOMAIN : RCODE.SERVFAIL;
    return { rcode, aa: true, answers: [], authorities: [this.soa(zs)], additionals: [], plugin: PLUGIN };
  }

  // --- the backend: names to items --------------------------------------------------------------

  private namespaceExposed(ns: string): boolean {
    const conf = this.cfg.namespaces;
    if (conf.size > 0 && !conf.has(ns)) return false;
    return this.view.namespaces.has(ns);
  }

  /** CoreDNS Kubernetes.Services for a query type (TXT handled by txt()). */
  private services(lname: string, zone: string, zs: string, qtype: number): readonly Item[] | NX {
    if (this.isDefaultNS(lname, zs)) {
      // `ns.dns.<zone>` answers the server's own addresses (A/AAAA only).
      if (qtype !== TYPE.A && qtype !== TYPE.AAAA) return [];
      const fam = qtype === TYPE.A ? 4 : 6;
      return this.nsAddrs(zs)
        .filter((n) => n.ip.family === fam)
        .map((n) => ({ t: 'addr', host: n.ip.text, rdata: n.ip.text, family: n.ip.family, port: 0, portName: '', protocol: '', prefix: '' }));
    }
    const items = this.records(lname, zone);
    if (items === NX || qtype !== TYPE.SRV) return items;
    // SRV for ExternalName services is not implemented in CoreDNS: drop the CNAME items.
    return items.filter((i) => i.t === 'addr');
  }

  private isDefaultNS(lname: string, zs: string): boolean {
    return lname.startsWith('ns.dns.') && lname.indexOf(zs) === 7;
  }

  /** TXT: only `dns-version.<zone>` has one; other existing names are NODATA, the rest NXDOMAIN
   *  (also structural names like the apex: CoreDNS quirk). Returns true for the version record. */
  private txt(lname: string, zone: string): boolean | NX {
    if (trimZone(lname, zone) === 'dns-version') return true;
    const items = this.records(lname, zone);
    return items !== NX && items.length > 0 ? false : NX;
  }

  /** CoreDNS Kubernetes.Records. */
  private records(lname: string, zone: string): readonly Item[] | NX {
    const r = parseRequest(trimZone(lname, zone));
    if (r === NX) return NX;
    if (r.podOrSvc === '') return [];
    if (isReverseName(lname)) return NX;
    if (!this.namespaceExposed(r.namespace)) return NX;
    return r.podOrSvc === 'pod' ? this.findPods(r) : this.findServices(r);
  }

  private findPods(r: RecordRequest): readonly Item[] | NX {
    const mode = this.cfg.podMode;
    if (mode === 'disabled') return NX;
    if (r.service === '') return [];
    const ipText = podLabelToIP(r.service);
    const ip = parseIP(ipText);
    if (!ip) return NX;
    if (mode === 'verified' && !this.view.hasPod(ipText, r.namespace)) return NX;
    return [{ t: 'addr', host: ipText, rdata: ip.text, family: ip.family, port: 0, portName: '', protocol: '', prefix: `${r.service}.${r.namespace}.pod.` }];
  }

  private findServices(r: RecordRequest): readonly Item[] | NX {
    if (r.service === '') return [];
    const v = this.view.lookup(`${r.namespace}/${r.service}`);
    if (!v) return NX;
    if (v.kind === 'ExternalName') {
      if (r.endpoint !== '' || r.port !== '' || r.protocol !== '' || !v.externalName) return NX;
      return [v.externalName];
    }
    if (this.cfg.ignoreEmptyService && v.kind === 'ClusterIP' && this.view.endpoints(v).ready === 0) return NX;
    if (v.kind === 'Headless' || r.endpoint !== '') {
      const eps = this.view.endpoints(v);
      const base = r.endpoint !== '' ? endpointsByLabel(eps, r.endpoint) : eps.items;
      if (!base) return NX;
      const items = r.port === '' && r.protocol === '' ? base : base.filter((it) => matchPort(r, it));
      return items.length ? items : NX;
    }
    if (r.port === '' && r.protocol === '') return v.ipItems;
    if (!v.ports.some((p) => matchPort(r, { portName: p.name, protocol: p.protocol }))) return NX;
    return v.ipItems.filter((it) => matchPort(r, it));
  }

  /** PTR targets for a reverse name; NX when the address is unknown or the name is not one. */
  private reverse(lname: string, zone: string): string[] | NX {
    const ip = addressFromReverse(lname);
    if (ip === '') {
      const items = this.records(lname, zone);
      return items === NX ? NX : [];
    }
    const restricted = this.cfg.namespaces.size > 0 || this.cfg.namespaceSelector !== null;
    const exposed = restricted ? (ns: string) => this.namespaceExposed(ns) : () => true;
    // A ClusterIP wins over endpoint addresses; only the first service counts.
    for (const s of this.view.clusterIPServices(ip)) {
      if (!exposed(s.namespace)) continue;
      return [joinZone(`${s.name}.${s.namespace}.svc.`, this.cfg.primaryZone)];
    }
    const out = this.view.endpointTargets(ip, exposed);
    return out.length ? out : NX;
  }

  // --- record builders ----------------------------------------------------------------------------

  /** CoreDNS plugin.A / plugin.AAAA, with outside CNAME targets left as lookups. */
  private addressParts(lname: string, qname: string, zone: string, zs: string, qtype: number, chain: string[]): Part[] | NX {
    const items = this.services(lname, zone, zs, qtype);
    if (items === NX) return NX;
    const fam = qtype === TYPE.A ? 4 : 6;
    const type = qtype === TYPE.A ? 'A' : 'AAAA';
    const ttl = this.cfg.ttl;
    const parts: Part[] = [];
    let dup: Set<string> | null = null;
    for (const it of items) {
      if (it.t === 'addr') {
        if (it.family !== fam) continue;
        dup ??= new Set();
        if (dup.has(it.host)) continue;
        dup.add(it.host);
        parts.push({ k: 'rr', rr: { name: qname, type, class: 'IN', ttl, data: it.rdata } });
        continue;
      }
      const part = this.cnamePart(it, lname, qname, zone, zs, qtype, chain);
      if (part) parts.push(part);
    }
    return parts;
  }

  private cnamePart(it: CnameItem, lname: string, qname: string, zone: string, zs: string, qtype: number, chain: string[]): Part | null {
    const ltarget = it.host.toLowerCase();
    // `x CNAME x` (or a target below the name) is a direct loop.
    if (isSubdomain(lname, ltarget)) return null;
    if (chain.length >= MAX_CNAME_CHAIN || chain.includes(it.host)) return null;
    const cname: RR = { name: qname, type: 'CNAME', class: 'IN', ttl: this.cfg.ttl, data: it.host };
    if (isSubdomain(zone, ltarget)) {
      const inner = this.addressParts(ltarget, it.host, zone, zs, qtype, [...chain, it.host]);
      if (inner === NX) return null;
      return { k: 'int', cname, parts: inner };
    }
    return { k: 'ext', cname, target: it.host };
  }

  private async resolveParts(parts: Part[], req: DnsRequest): Promise<{ rrs: RR[]; tc: boolean }> {
    const rrs: RR[] = [];
    let tc = false;
    for (const p of parts) {
      if (p.k === 'rr') rrs.push(p.rr);
      else if (p.k === 'int') {
        const inner = await this.resolveParts(p.parts, req);
        if (inner.tc) tc = true;
        if (inner.rrs.length > 0) rrs.push(p.cname, ...inner.rrs);
      } else {
        let res: DnsResponse;
        try {
          res = await this.lookup(p.target, req.question.qtype, req);
        } catch {
          continue;
        }
        if (res.tc) tc = true;
        // The upstream rcode is not propagated: an unresolvable target leaves just the CNAME.
        rrs.push(p.cname, ...res.answers);
      }
    }
    return { rrs, tc };
  }

  /** CoreDNS plugin.SRV: weights over all items (before dropping portless and duplicate ones). */
  private srv(items: readonly AddrItem[], qname: string, zs: string): { answers: RR[]; extra: RR[] } {
    const answers: RR[] = [];
    const extra: RR[] = [];
    if (items.length === 0) return { answers, extra };
    const ttl = this.cfg.ttl;
    let weight = Math.floor((100 / (100 * items.length)) * 100);
    if (weight === 0) weight = 1;
    const seenSrv = new Set<string>();
    const seenAddr = new Set<string>();
    for (const it of items) {
      if (it.port === -1) continue;
      const target = joinZone(it.prefix, zs);
      const sk = `${target} ${it.port}`;
      if (!seenSrv.has(sk)) {
        seenSrv.add(sk);
        answers.push({ name: qname, type: 'SRV', class: 'IN', ttl, data: { priority: 0, weight, port: it.port, target } });
      }
      const ak = `${target} ${it.host}`;
      if (!seenAddr.has(ak)) {
        seenAddr.add(ak);
        extra.push({ name: target, type: it.family === 4 ? 'A' : 'AAAA', class: 'IN', ttl, data: it.rdata });
      }
    }
    return { answers, extra };
  }

  /** CoreDNS nsAddrs: the Service(s) whose endpoints include one of our own IPs, else ns.dns. */
  private nsAddrs(zs: string): { name: string; ip: ParsedIP }[] {
    const local = (this.localIPCache ??= this.localIPs());
    const names: string[] = [];
    const ips: string[] = [];
    for (const lip of local) {
      for (const slice of this.view.slicesWithIP(lip.text)) {
        const v = this.view.lookup(`${slice.namespace}/${slice.serviceName}`);
        if (!v) continue;
        const svcName = joinZone(`${v.name}.${v.namespace}.svc.`, zs);
        if (v.kind === 'Headless') {
          for (const a of this.view.readyAddrs(slice)) {
            names.push(`${a.label}.${svcName}`);
            ips.push(a.ip);
          }
        } else if (v.clusterIP !== '') {
          names.push(svcName);
          ips.push(v.clusterIP);
        }
      }
    }
    if (ips.length === 0) {
      for (const lip of local) {
        names.push(joinZone('ns.dns.', zs));
        ips.push(lip.text);
      }
    }
    const out: { name: string; ip: ParsedIP }[] = [];
    const uniq = new Set<string>();
    for (const raw of ips) {
      const ip = parseIP(raw);
      if (!ip || uniq.has(ip.text)) continue;
      uniq.add(ip.text);
      // CoreDNS pairs the i-th unique address with the i-th collected name.
      out.push({ name: names[out.length]!, ip });
    }
    return out;
  }

  private ns(qname: string, zs: string): { answers: RR[]; extra: RR[] } {
    const ttl = this.cfg.ttl;
    const answers: RR[] = [];
    const extra: RR[] = [];
    const seen = new Set<string>();
    for (const n of this.nsAddrs(zs)) {
      extra.push({ name: n.name, type: n.ip.family === 4 ? 'A' : 'AAAA', class: 'IN', ttl, data: n.ip.text });
      if (seen.has(n.name)) continue;
      seen.add(n.name);
      answers.push({ name: qname, type: 'NS', class: 'IN', ttl, data: n.name });
    }
    return { answers, extra };
  }

  /** Test hook: forget cached local addresses. */
  resetLocalIPs(): void {
    this.localIPCache = null;
  }
}

/** The records when no lookup is needed, else null. */
function flattenSync(parts: Part[]): RR[] | null {
  const out: RR[] = [];
  for (const p of parts) {
    if (p.k === 'rr') out.push(p.rr);
    else if (p.k === 'ext') return null;
    else {
      const inner = flattenSync(p.parts);
      if (inner === null) return null;
      if (inner.length > 0) out.push(p.cname, ...inner);
    }
  }
  return out;
}
