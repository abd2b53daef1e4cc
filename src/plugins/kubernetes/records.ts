// The cluster as the DNS handler needs it, precomputed when the informer reports changes (never
// per query): one ServiceView per `namespace/name` (service object + its ready endpoints, with
// every (address, port) answer item built once), the exposed namespaces, reverse indexes from IP
// to PTR targets, and for `pods verified` an index of primary pod IPs.
//
// Updates are incremental: informer events mark service keys dirty, and one flush per batch
// rebuilds just those views and patches the reverse indexes.

import { bumpFastEpoch } from '../../server/fastpath.js';
import type { ChangeEvent, EndpointSliceRecord, Informer, PodRecord, ServiceRecord } from '../../informer/types.js';
import { matchesSelector } from '../../informer/selector.js';
import type { LabelSelector } from '../../informer/selector.js';
import { dashedIP, parseIP } from './ip.js';
import { emitProgrammingDuration, hasProgrammingDurationListeners } from './metrics.js';

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
  /** null when only EndpointSlices exist for this name (no Service object: not answerable). */
  kind: ServiceKindName | null;
  /** ClusterIP: every (port, clusterIP) item, ports in spec order. */
  ipItems: AddrItem[];
  /** Service ports (with the -1 sentinel when none), for the `_port._proto` existence check. */
  ports: Port[];
  /** First ClusterIP (spec.clusterIP), for NS glue. */
  clusterIP: string;
  /** ExternalName target, absolute; null when unset or an IP literal (CoreDNS ignores those). */
  externalName: CnameItem | null;
  /** Every (ready address, slice port) item over all slices. An address that is not an IP (an
   *  FQDN slice: CoreDNS does not check addressType) is a CNAME item, as msg.Service.HostType(). */
  epItems: (AddrItem | CnameItem)[];
  /** epItems by lower-cased endpoint label. */
  byLabel: Map<string, (AddrItem | CnameItem)[]>;
  /** Number of ready addresses (for `ignore empty_service`). */
  ready: number;
  /** Per slice: the ready addresses with their labels (NS glue for headless services). */
  slices: { key: string; addrs: { ip: string; label: string }[] }[];
}

export interface PtrEntry {
  view: ServiceView;
  sliceKey: string;
  target: string;
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

function portsOf(ports: { name: string; port: number; protocol: string }[]): Port[] {
  if (ports.length === 0) return [{ name: '', port: -1, protocol: '' }];
  return ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol }));
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

export function buildServiceView(
  key: string,
  svc: ServiceRecord | undefined,
  slices: readonly EndpointSliceRecord[],
  podNames: boolean,
): ServiceView {
  const slash = key.indexOf('/');
  const namespace = svc?.namespace ?? key.slice(0, slash);
  const name = svc?.name ?? key.slice(slash + 1);
  const svcPrefix = `${name}.${namespace}.svc.`;
  let kind: ServiceKindName | null = null;
  if (svc) kind = svc.type === 'ExternalName' ? 'ExternalName' : svc.headless ? 'Headless' : 'ClusterIP';
  const ports = svc ? portsOf(svc.ports) : [];
  const ipItems: AddrItem[] = [];
  let externalName: CnameItem | null = null;
  if (kind === 'ClusterIP') {
    for (const p of ports) {
      for (const ip of svc!.clusterIPs) {
        const it = addrItem(ip, p, svcPrefix);
        if (it) ipItems.push(it);
      }
    }
  } else if (kind === 'ExternalName' && svc!.externalName !== '' && !parseIP(svc!.externalName)) {
    const n = svc!.externalName;
    externalName = { t: 'cname', host: n.endsWith('.') ? n : `${n}.`, port: -1, portName: '', protocol: '' };
  }
  const epItems: (AddrItem | CnameItem)[] = [];
  const byLabel = new Map<string, (AddrItem | CnameItem)[]>();
  const sliceViews: ServiceView['slices'] = [];
  let ready = 0;
  for (const slice of slices) {
    const sp = portsOf(slice.ports);
    const addrs: { ip: string; label: string }[] = [];
    for (const ep of slice.endpoints) {
      if (!ep.ready) continue;
      for (const ip of ep.addresses) {
        ready++;
        const label = endpointLabel(ep, ip, podNames);
        addrs.push({ ip, label });
        const llabel = label.toLowerCase();
        const prefix = `${label}.${svcPrefix}`;
        let list = byLabel.get(llabel);
        for (const p of sp) {
          const it = endpointItem(ip, p, prefix);
          if (!it) continue;
          epItems.push(it);
          if (!list) byLabel.set(llabel, (list = []));
          list.push(it);
        }
      }
    }
    sliceViews.push({ key: slice.key, addrs });
  }
  return {
    key,
    namespace,
    name,
    kind,
    ipItems,
    ports,
    clusterIP: svc?.clusterIPs[0] ?? '',
    externalName,
    epItems,
    byLabel,
    ready,
    slices: sliceViews,
  };
}

function canonical(ip: string): string | null {
  return parseIP(ip)?.text ?? null;
}

export class ClusterView {
  readonly services = new Map<string, ServiceView>();
  /** Namespaces that exist (and match namespace_labels). */
  readonly namespaces = new Set<string>();
  /** Canonical ClusterIP -> services having it. */
  readonly clusterIPs = new Map<string, ServiceView[]>();
  /** Canonical endpoint IP -> one entry per (slice, address) occurrence, ready endpoints only. */
  readonly endpointIPs = new Map<string, PtrEntry[]>();
  /** Primary pod IP (as written) -> pod key -> namespace; only pods that count for `verified`. */
  readonly podIPs = new Map<string, Map<string, string>>();

  private readonly dirty = new Set<string>();
  private namespacesDirty = false;
  private readonly unsubs: (() => void)[] = [];

  constructor(
    private readonly informer: Informer,
    private readonly opts: ViewOptions,
  ) {
    this.rebuildAll();
    this.unsubs.push(informer.subscribe((ev) => this.onEvent(ev)));
    this.unsubs.push(informer.onBatch(() => this.flush()));
  }

  close(): void {
    for (const u of this.unsubs.splice(0)) u();
  }

  /** Apply pending changes (called per batch; also before a query as a safety net). */
  flush(): void {
    if (this.namespacesDirty) this.rebuildNamespaces();
    if (this.dirty.size === 0) return;
    for (const key of this.dirty) this.rebuildService(key);
    this.dirty.clear();
  }

  get pending(): boolean {
    return this.namespacesDirty || this.dirty.size > 0;
  }

  private onEvent(ev: ChangeEvent): void {
    // Any cluster change may change an answer: forget replies kept for the fast path.
    bumpFastEpoch();
    switch (ev.kind) {
      case 'services':
        this.dirty.add(ev.record.key);
        break;
      case 'endpointslices': {
        if (!this.opts.endpoints) break;
        const rec = ev.record as EndpointSliceRecord;
        this.dirty.add(`${rec.namespace}/${rec.serviceName}`);
        const old = ev.old as EndpointSliceRecord | undefined;
        if (old && old.serviceName !== rec.serviceName) this.dirty.add(`${old.namespace}/${old.serviceName}`);
        if (ev.type !== 'delete') this.observeProgramming(rec);
        break;
      }
      case 'namespaces':
        this.namespacesDirty = true;
        break;
      case 'pods':
        if (!this.opts.pods) break;
        if (ev.old) this.removePod(ev.old as PodRecord);
        if (ev.type === 'delete') this.removePod(ev.record as PodRecord);
        else this.addPod(ev.record as PodRecord);
        break;
      default:
        break;
    }
  }

  private observeProgramming(slice: EndpointSliceRecord): void {
    if (slice.lastChangeTriggerTime === null || !hasProgrammingDurationListeners()) return;
    // CoreDNS only records when exactly one Service matches the slice.
    const svc = this.informer.services.get(`${slice.namespace}/${slice.serviceName}`);
    if (!svc) return;
    let kind: 'cluster_ip' | 'headless_with_selector';
    if (!svc.headless) kind = 'cluster_ip';
    else if (svc.selector && Object.keys(svc.selector).length > 0) kind = 'headless_with_selector';
    else return;
    emitProgrammingDuration(Math.max(0, (Date.now() - slice.lastChangeTriggerTime) / 1000), kind);
  }

  private rebuildAll(): void {
    this.rebuildNamespaces();
    const keys = new Set<string>();
    for (const s of this.informer.services.values()) keys.add(s.key);
    if (this.opts.endpoints) for (const s of this.informer.endpointslices.values()) keys.add(`${s.namespace}/${s.serviceName}`);
    for (const k of keys) this.rebuildService(k);
    if (this.opts.pods) for (const p of this.informer.pods.values()) this.addPod(p);
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

  private rebuildService(key: string): void {
    const old = this.services.get(key);
    if (old) this.unindex(old);
    const svc = this.informer.services.get(key);
    const slices = this.opts.endpoints ? this.informer.endpointslices.byIndex('service', key) : [];
    if (!svc && slices.length === 0) {
      this.services.delete(key);
      return;
    }
    const view = buildServiceView(key, svc, slices, this.opts.endpointPodNames);
    this.services.set(key, view);
    this.index(view);
  }

  private index(view: ServiceView): void {
    if (view.kind === 'ClusterIP') {
      const seen = new Set<string>();
      for (const it of view.ipItems) {
        if (seen.has(it.rdata)) continue;
        seen.add(it.rdata);
        push(this.clusterIPs, it.rdata, view);
      }
    }
    // A slice without the service-name label cannot be named; CoreDNS would emit `x..ns.svc...`.
    if (view.name === '') return;
    for (const s of view.slices) {
      for (const a of s.addrs) {
        const ip = canonical(a.ip);
        if (!ip) continue;
        const target = joinZone(`${a.label}.${view.name}.${view.namespace}.svc.`, this.opts.primaryZone);
        push(this.endpointIPs, ip, { view, sliceKey: s.key, target });
      }
    }
  }

  private unindex(view: ServiceView): void {
    for (const it of view.ipItems) drop(this.clusterIPs, it.rdata, (v) => v === view);
    for (const s of view.slices) {
      for (const a of s.addrs) {
        const ip = canonical(a.ip);
        if (ip) drop(this.endpointIPs, ip, (e) => e.view === view);
      }
    }
  }

  private addPod(p: PodRecord): void {
    // CoreDNS lists pods with phase!=Succeeded/Failed/Unknown and ignores terminating ones.
    if (p.ip === '' || p.deleting || p.phase === 'Succeeded' || p.phase === 'Failed' || p.phase === 'Unknown') return;
    let m = this.podIPs.get(p.ip);
    if (!m) this.podIPs.set(p.ip, (m = new Map()));
    m.set(p.key, p.namespace);
  }

  private removePod(p: PodRecord): void {
    const m = this.podIPs.get(p.ip);
    if (!m) return;
    m.delete(p.key);
    if (m.size === 0) this.podIPs.delete(p.ip);
  }

  /** A pod in `namespace` has `ip` as its primary IP. */
  hasPod(ip: string, namespace: string): boolean {
    const m = this.podIPs.get(ip);
    if (!m) return false;
    for (const ns of m.values()) if (ns === namespace) return true;
    return false;
  }
}

function push<V>(m: Map<string, V[]>, k: string, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function drop<V>(m: Map<string, V[]>, k: string, pred: (v: V) => boolean): void {
  const list = m.get(k);
  if (!list) return;
  const kept = list.filter((v) => !pred(v));
  if (kept.length) m.set(k, kept);
  else m.delete(k);
}
