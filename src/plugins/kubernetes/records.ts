// The cluster as the DNS handler reads it, straight from the informer's stores: a ServiceView per
// `namespace/name` (the service's answer items, and on first use its ready endpoints' items) is
// built when a query first needs it and cached (bounded LRU, dropped when the service or one of its
// slices changes); reverse lookups (PTR, NS glue, `pods verified`) use the stores' own indexes.
// Only the exposed namespaces are kept. Answers themselves are memoised by the server's fast path
// (the informer events bump its epoch), so a view is rarely built twice. See README "Memory".

import { bumpFastEpoch } from '../../server/fastpath.js';
import type { ChangeEvent, EndpointSliceRecord, Informer, ServiceRecord } from '../../informer/types.js';
import { matchesSelector } from '../../informer/selector.js';
import type { LabelSelector } from '../../informer/selector.js';
import { dashedIP, parseIP } from './ip.js';
import { emitProgrammingDuration } from './metrics.js';

export interface Port {
  name: string;
  /** -1 = no port (CoreDNS's sentinel for portless services/slices: A works, SRV skips it). */
  port: number;
  protocol: string;
}

/** One answer candidate: an address with a port, as CoreDNS's msg.Service. */
export interface AddrItem {
  t: 'addr';
  /** Address as written in the API (what CoreDNS deduplicates on). */
  host: string;
  /** Address as it goes into RDATA. */
  rdata: string;
  family: 4 | 6;
  port: number;
  portName: string;
  protocol: string;
  /** SRV target / glue owner without the zone: `svc.ns.svc.` or `label.svc.ns.svc.`. */
  prefix: string;
}

export interface CnameItem {
  t: 'cname';
  /** Absolute target as written in the ExternalName (or the endpoint address). */
  host: string;
  /** For endpoint addresses that are names (FQDN slices): the slice port, for `_port._proto`. */
  port: number;
  portName: string;
  protocol: string;
}

export type Item = AddrItem | CnameItem;

export type ServiceKindName = 'ClusterIP' | 'Headless' | 'ExternalName';

export interface ServiceView {
  key: string;
  namespace: string;
  name: string;
  kind: ServiceKindName;
  /** ClusterIP: every (port, clusterIP) item, ports in spec order. */
  ipItems: readonly AddrItem[];
  /** Service ports (with the -1 sentinel when none), for the `_port._proto` existence check. */
  ports: readonly Port[];
  /** First ClusterIP (spec.clusterIP), for NS glue. */
  clusterIP: string;
  /** ExternalName target, absolute; null when unset or an IP literal (CoreDNS ignores those). */
  externalName: CnameItem | null;
  /** The endpoint part, built on first use (ClusterView.endpoints); null until then. */
  eps: Endpoints | null;
}

/** A service's ready endpoints as answer items. */
export interface Endpoints {
  /** Every (ready address, slice port) item over all slices. An address that is not an IP (an
   *  FQDN slice: CoreDNS does not check addressType) is a CNAME item, as msg.Service.HostType(). */
  items: readonly Item[];
  /** The lower-cased endpoint label of each item (parallel to items). */
  labels: readonly string[];
  /** items by lower-cased label, made on the first endpoint-name query (ClusterView.byLabel). */
  byLabel: Map<string, Item[]> | null;
  /** Number of ready addresses (for `ignore empty_service`). */
  ready: number;
}

export interface ViewOptions {
  endpointPodNames: boolean;
  /** Primary zone (PTR targets), absolute lower case. */
  primaryZone: string;
  /** Maintain the pod IP index (`pods verified`). */
  pods: boolean;
  /** Use EndpointSlices (off with `noendpoints`; a shared informer may still carry them). */
  endpoints: boolean;
  /** `namespace_labels`: applied here too, in case the informer serves more namespaces. */
  namespaceSelector: LabelSelector | null;
}

/** `a.b.` + `zone.` with the root zone handled (`a.b.` + `.` = `a.b.`). */
export function joinZone(prefix: string, zone: string): string {
  return zone === '.' ? prefix : prefix + zone;
}

function endpointLabel(ep: { hostname: string; targetRefName: string }, ip: string, podNames: boolean): string {
  if (ep.hostname !== '') return ep.hostname;
  // CoreDNS drops targetRef names of 64+ characters (not a valid label).
  if (podNames && ep.targetRefName !== '' && ep.targetRefName.length < 64) return ep.targetRefName;
  return dashedIP(ip);
}

/** CoreDNS's sentinel port list for portless services and slices. */
const NO_PORTS: readonly Port[] = Object.freeze([Object.freeze({ name: '', port: -1, protocol: '' })]);
const NO_ADDR_ITEMS: readonly AddrItem[] = Object.freeze([]);
const NO_SLICES: readonly EndpointSliceRecord[] = Object.freeze([]);

/** The record's own port objects are used as they are (they have the Port fields). */
function portsOf(ports: readonly Port[]): readonly Port[] {
  return ports.length === 0 ? NO_PORTS : ports;
}

function addrItem(host: string, port: Port, prefix: string): AddrItem | null {
  const ip = parseIP(host);
  if (!ip) return null;
  return { t: 'addr', host, rdata: ip.text, family: ip.family, port: port.port, portName: port.name, protocol: port.protocol, prefix };
}

/** An endpoint item: an address item, or for a non-IP address (FQDN slice) a CNAME to it. */
function endpointItem(host: string, port: Port, prefix: string): AddrItem | CnameItem | null {
  const it = addrItem(host, port, prefix);
  if (it) return it;
  if (host === '') return null;
  return { t: 'cname', host: host.endsWith('.') ? host : `${host}.`, port: port.port, portName: port.name, protocol: port.protocol };
}

function kindOf(svc: ServiceRecord): ServiceKindName {
  return svc.type === 'ExternalName' ? 'ExternalName' : svc.headless ? 'Headless' : 'ClusterIP';
}

/** The service part of a view (no endpoints: see buildEndpoints). */
export function buildServiceView(svc: ServiceRecord): ServiceView {
  const kind = kindOf(svc);
  const ports = portsOf(svc.ports);
  let ipItems = NO_ADDR_ITEMS;
  let externalName: CnameItem | null = null;
  if (kind === 'ClusterIP') {
    const prefix = `${svc.name}.${svc.namespace}.svc.`;
    const list: AddrItem[] = [];
    for (const p of ports) {
      for (const ip of svc.clusterIPs) {
        const it = addrItem(ip, p, prefix);
        if (it) list.push(it);
      }
    }
    if (list.length) ipItems = list;
  } else if (kind === 'ExternalName' && svc.externalName !== '' && !parseIP(svc.externalName)) {
    const n = svc.externalName;
    externalName = { t: 'cname', host: n.endsWith('.') ? n : `${n}.`, port: -1, portName: '', protocol: '' };
  }
  return {
    key: svc.key,
    namespace: svc.namespace,
    name: svc.name,
    kind,
    ipItems,
    ports,
    clusterIP: svc.clusterIPs[0] ?? '',
    externalName,
    eps: null,
  };
}

/** Every (ready address, slice port) item of a service's slices, with their labels. */
export function buildEndpoints(
  namespace: string,
  name: string,
  slices: readonly EndpointSliceRecord[],
  podNames: boolean,
): Endpoints {
  const svcPrefix = `.${name}.${namespace}.svc.`;
  const items: Item[] = [];
  const labels: string[] = [];
  let ready = 0;
  for (const slice of slices) {
    const sp = portsOf(slice.ports);
    for (const ep of slice.endpoints) {
      if (!ep.ready) continue;
      for (const ip of ep.addresses) {
        ready++;
        const label = endpointLabel(ep, ip, podNames);
        let prefix: string | null = null;
        let llabel: string | null = null;
        for (const p of sp) {
          const it = endpointItem(ip, p, (prefix ??= label + svcPrefix));
          if (!it) continue;
          items.push(it);
          labels.push((llabel ??= label.toLowerCase()));
        }
      }
    }
  }
  return { items, labels, byLabel: null, ready };
}

/** The items of endpoint `llabel` (lower case), or undefined. */
export function endpointsByLabel(eps: Endpoints, llabel: string): Item[] | undefined {
  if (!eps.byLabel) {
    const m = new Map<string, Item[]>();
    for (let i = 0; i < eps.items.length; i++) {
      const l = eps.labels[i]!;
      const list = m.get(l);
      if (list) list.push(eps.items[i]!);
      else m.set(l, [eps.items[i]!]);
    }
    eps.byLabel = m;
  }
  return eps.byLabel.get(llabel);
}

/** What the view cache may hold, in cost units of roughly 250 bytes: a view counts VIEW_COST, each
 *  endpoint item one more (so at most ~2.5 MB, whatever the cluster size). */
export const VIEW_CACHE_COST = 10_000;
const VIEW_COST = 2;

function costOf(v: ServiceView): number {
  return VIEW_COST + (v.eps ? v.eps.items.length : 0);
}

/**
 * The cluster as the DNS handler reads it. Nothing per service or per endpoint is copied out of
 * the informer's stores up front: a service's view (its answer items) is built from the stores on
 * first use and kept in a small LRU cache, dropped when the service or its slices change. Reverse
 * lookups use the stores' own indexes (ClusterIP, endpoint address as written, pod IP). Only the
 * set of exposed namespaces is kept here.
 */
export class ClusterView {
  /** Namespaces that exist (and match namespace_labels). */
  readonly namespaces = new Set<string>();

  /** Recently used views, least recent first. */
  private readonly cache = new Map<string, ServiceView>();
  private cost = 0;
  private namespacesDirty = false;
  private readonly unsubs: (() => void)[] = [];

  constructor(
    private readonly informer: Informer,
    private readonly opts: ViewOptions,
    private readonly maxCost = VIEW_CACHE_COST,
  ) {
    this.rebuildNamespaces();
    this.unsubs.push(informer.subscribe((ev) => this.onEvent(ev)));
    this.unsubs.push(informer.onBatch(() => this.flush()));
  }

  close(): void {
    for (const u of this.unsubs.splice(0)) u();
  }

  /** Apply pending changes (called per batch; also before a query as a safety net). */
  flush(): void {
    if (this.namespacesDirty) this.rebuildNamespaces();
  }

  get pending(): boolean {
    return this.namespacesDirty;
  }

  /** Number of views cached (tests). */
  get cached(): number {
    return this.cache.size;
  }

  /** The view of Service `namespace/name`; undefined when there is no such Service (only
   *  EndpointSlices for that name do not make a name). */
  lookup(key: string): ServiceView | undefined {
    let v = this.cache.get(key);
    if (v) {
      // Most recently used last.
      this.cache.delete(key);
      this.cache.set(key, v);
      return v;
    }
    const svc = this.informer.services.get(key);
    if (!svc) return undefined;
    v = buildServiceView(svc);
    this.cache.set(key, v);
    this.cost += VIEW_COST;
    this.trim(v);
    return v;
  }

  /** The ready endpoints of a view, built on first use. */
  endpoints(v: ServiceView): Endpoints {
    if (v.eps) return v.eps;
    const slices = this.opts.endpoints ? this.informer.endpointslices.byIndex('service', v.key) : NO_SLICES;
    v.eps = buildEndpoints(v.namespace, v.name, slices, this.opts.endpointPodNames);
    if (this.cache.get(v.key) === v) {
      this.cost += v.eps.items.length;
      this.trim(v);
    }
    return v.eps;
  }

  /** Services having ClusterIP `ip` (as written; CoreDNS's reverse index), that answer PTR:
   *  not headless, not ExternalName. */
  clusterIPServices(ip: string): ServiceRecord[] {
    const out: ServiceRecord[] = [];
    for (const s of this.informer.services.byIndex('clusterIP', ip)) if (kindOf(s) === 'ClusterIP') out.push(s);
    return out;
  }

  /** Slices (named after a service) with a ready endpoint at address `ip` (as written). */
  slicesWithIP(ip: string): EndpointSliceRecord[] {
    const out: EndpointSliceRecord[] = [];
    if (!this.opts.endpoints) return out;
    for (const s of this.informer.endpointslices.byIndex('ip', ip)) {
      // A slice without the service-name label cannot be named; CoreDNS would emit `x..ns.svc...`.
      if (s.serviceName === '') continue;
      if (s.endpoints.some((ep) => ep.ready && ep.addresses.includes(ip))) out.push(s);
    }
    return out;
  }

  /** PTR target owners for a ready endpoint address: `label.svc.ns.svc.` plus the zone, one per
   *  occurrence in a slice of a namespace `exposed` admits. */
  endpointTargets(ip: string, exposed: (ns: string) => boolean): string[] {
    const out: string[] = [];
    for (const s of this.slicesWithIP(ip)) {
      if (!exposed(s.namespace)) continue;
      for (const a of this.readyAddrs(s)) {
        if (a.ip === ip) out.push(joinZone(`${a.label}.${s.serviceName}.${s.namespace}.svc.`, this.opts.primaryZone));
      }
    }
    return out;
  }

  /** A slice's ready addresses with their endpoint labels. */
  readyAddrs(slice: EndpointSliceRecord): { ip: string; label: string }[] {
    const out: { ip: string; label: string }[] = [];
    for (const ep of slice.endpoints) {
      if (!ep.ready) continue;
      for (const ip of ep.addresses) out.push({ ip, label: endpointLabel(ep, ip, this.opts.endpointPodNames) });
    }
    return out;
  }

  private forget(key: string): void {
    const v = this.cache.get(key);
    if (!v) return;
    this.cache.delete(key);
    this.cost -= costOf(v);
  }

  /** Drop least recently used views (never `keep`) until the cache fits. */
  private trim(keep: ServiceView): void {
    if (this.cost <= this.maxCost) return;
    for (const [key, v] of this.cache) {
      if (this.cost <= this.maxCost) break;
      if (v === keep) continue;
      this.cache.delete(key);
      this.cost -= costOf(v);
    }
  }

  private onEvent(ev: ChangeEvent): void {
    // Any cluster change may change an answer: forget replies kept for the fast path.
    bumpFastEpoch();
    switch (ev.kind) {
      case 'services':
        this.forget(ev.record.key);
        break;
      case 'endpointslices': {
        if (!this.opts.endpoints) break;
        const rec = ev.record as EndpointSliceRecord;
        this.forget(`${rec.namespace}/${rec.serviceName}`);
        const old = ev.old as EndpointSliceRecord | undefined;
        if (old && old.serviceName !== rec.serviceName) this.forget(`${old.namespace}/${old.serviceName}`);
        this.observeProgramming(rec);
        break;
      }
      case 'namespaces':
        this.namespacesDirty = true;
        break;
      default:
        break;
    }
  }

  private observeProgramming(slice: EndpointSliceRecord): void {
    if (slice.lastChangeTriggerTime === null) return;
    // CoreDNS records only slices of a known headless Service (ClusterIP None), always labelled
    // headless_with_selector (the trigger-time annotation implies a controller-made slice); slices
    // of ClusterIP Services are not observed, whatever the label's documentation lists.
    const svc = this.informer.services.get(`${slice.namespace}/${slice.serviceName}`);
    if (!svc || !svc.headless) return;
    emitProgrammingDuration(Math.max(0, (Date.now() - slice.lastChangeTriggerTime) / 1000), 'headless_with_selector');
  }

  private rebuildNamespaces(): void {
    this.namespacesDirty = false;
    this.namespaces.clear();
    const sel = this.opts.namespaceSelector;
    for (const ns of this.informer.namespaces.values()) {
      if (sel && !matchesSelector(sel, ns.labels)) continue;
      this.namespaces.add(ns.name);
    }
  }

  /** A pod in `namespace` has `ip` as its primary IP (`pods verified`). */
  hasPod(ip: string, namespace: string): boolean {
    if (!this.opts.pods) return false;
    for (const p of this.informer.pods.byIndex('ip', ip)) {
      // CoreDNS lists pods with phase!=Succeeded/Failed/Unknown and ignores terminating ones.
      if (p.ip === '' || p.deleting || p.phase === 'Succeeded' || p.phase === 'Failed' || p.phase === 'Unknown') continue;
      if (p.namespace === namespace) return true;
    }
    return false;
  }
}
