// API object (plain JSON from the API server or a YAML/JSON file) -> compact record. Only the fields
// DNS, the service proxy and the CNI daemon read are kept; the API object itself is not referenced
// by the record, so it can be collected right after conversion.

import { intern, internOr } from './intern.js';
import type {
  EndpointPort,
  EndpointRecord,
  EndpointSliceRecord,
  Kind,
  NamespaceRecord,
  NodeRecord,
  PodRecord,
  RecordOf,
  ServicePort,
  ServiceRecord,
} from './types.js';

// API objects are untyped JSON; every access below checks the type it needs.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const EMPTY_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

/** API `kind` -> store kind. Endpoints objects feed the endpointslices store (legacy fallback). */
export const STORE_KIND_OF: Readonly<Record<string, Kind>> = {
  Service: 'services',
  EndpointSlice: 'endpointslices',
  Endpoints: 'endpointslices',
  Pod: 'pods',
  Namespace: 'namespaces',
  Node: 'nodes',
};

export class ConvertError extends Error {}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function isObj(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arr(v: unknown): Json[] {
  return Array.isArray(v) ? v : [];
}

const NO_STRINGS: string[] = Object.freeze([]) as unknown as string[];

/** The non-empty strings of `v` in an exactly sized array (an array grown by push() keeps 17+
 *  slots: 100k one-address endpoints would carry ~13 MB of empty slots). */
function strings(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0) return NO_STRINGS;
  let ok = 0;
  for (const s of v) if (typeof s === 'string' && s !== '') ok++;
  if (ok === 0) return NO_STRINGS;
  if (ok === v.length) return v.slice() as string[];
  return v.filter((s): s is string => typeof s === 'string' && s !== '');
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function labelsOf(meta: Json): Record<string, string> {
  const l = meta?.labels;
  if (!isObj(l)) return EMPTY_LABELS;
  let out: Record<string, string> | undefined;
  for (const k of Object.keys(l)) {
    const v = l[k];
    if (typeof v !== 'string') continue;
    out ??= {};
    out[intern(k)] = intern(v);
  }
  return out ?? EMPTY_LABELS;
}

function metaOf(o: Json, namespaced: boolean): { namespace: string; name: string; key: string; rv: string } {
  const meta = o?.metadata;
  const name = str(meta?.name);
  if (!name) throw new ConvertError(`${str(o?.kind) || 'object'} without metadata.name`);
  if (!namespaced) return { namespace: '', name, key: name, rv: str(meta?.resourceVersion) };
  const namespace = internOr(meta?.namespace, 'default');
  return { namespace, name, key: `${namespace}/${name}`, rv: str(meta?.resourceVersion) };
}

/** RFC 3339 -> ms since epoch; null when missing or unparsable. */
export function parseTime(v: unknown): number | null {
  if (typeof v !== 'string' || v === '') return null;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : null;
}

export function convertService(o: Json): ServiceRecord {
  const m = metaOf(o, true);
  const spec = isObj(o.spec) ? o.spec : {};
  const type = internOr(spec.type, 'ClusterIP');
  const headless = spec.clusterIP === 'None' || (Array.isArray(spec.clusterIPs) && spec.clusterIPs[0] === 'None');
  let clusterIPs: string[] = [];
  if (!headless && type !== 'ExternalName') {
    clusterIPs = strings(spec.clusterIPs);
    if (clusterIPs.length === 0 && typeof spec.clusterIP === 'string' && spec.clusterIP !== '') {
      clusterIPs = [spec.clusterIP];
    }
  }
  const ports: ServicePort[] = arr(spec.ports).filter(isObj).map((p) => {
    const sp: ServicePort = {
      name: internOr(p.name),
      port: num(p.port) ?? 0,
      protocol: internOr(p.protocol, 'TCP'),
    };
    if (typeof p.targetPort === 'number' || typeof p.targetPort === 'string') {
      sp.targetPort = typeof p.targetPort === 'string' ? intern(p.targetPort) : p.targetPort;
    }
    if (num(p.nodePort) !== undefined) sp.nodePort = p.nodePort;
    if (typeof p.appProtocol === 'string') sp.appProtocol = intern(p.appProtocol);
    return sp;
  });
  const ingress = arr(o.status?.loadBalancer?.ingress)
    .filter(isObj)
    .map((i) => {
      const e: { ip?: string; hostname?: string } = {};
      if (typeof i.ip === 'string' && i.ip) e.ip = i.ip;
      if (typeof i.hostname === 'string' && i.hostname) e.hostname = i.hostname;
      return e;
    });
  // The API server drops an empty selector on output; treat a literal `{}` the same way.
  let selector: Record<string, string> | null = null;
  if (isObj(spec.selector) && Object.keys(spec.selector).length > 0) {
    selector = labelsOf({ labels: spec.selector });
  }
  const rec: ServiceRecord = {
    namespace: m.namespace,
    name: m.name,
    key: m.key,
    type,
    clusterIPs,
    headless,
    externalName: type === 'ExternalName' ? str(spec.externalName) : '',
    ports,
    externalIPs: strings(spec.externalIPs),
    loadBalancerIngress: ingress,
    selector,
    labels: labelsOf(o.metadata),
    sessionAffinity: internOr(spec.sessionAffinity, 'None'),
    publishNotReadyAddresses: spec.publishNotReadyAddresses === true,
    resourceVersion: m.rv,
  };
  const timeout = num(spec.sessionAffinityConfig?.clientIP?.timeoutSeconds);
  if (timeout !== undefined) rec.sessionAffinityTimeout = timeout;
  if (typeof spec.externalTrafficPolicy === 'string') rec.externalTrafficPolicy = intern(spec.externalTrafficPolicy);
  if (typeof spec.internalTrafficPolicy === 'string') rec.internalTrafficPolicy = intern(spec.internalTrafficPolicy);
  if (num(spec.healthCheckNodePort) !== undefined) rec.healthCheckNodePort = spec.healthCheckNodePort;
  return rec;
}

/** CoreDNS adds this sentinel when a slice has no ports at all, so A/AAAA work and SRV is NODATA. */
function portlessSentinel(): EndpointPort[] {
  return [{ name: '', port: -1, protocol: '' }];
}

function targetRefName(ref: Json): string {
  if (!isObj(ref)) return '';
  if (ref.kind !== undefined && ref.kind !== 'Pod' && ref.kind !== '') return '';
  return str(ref.name);
}

export function convertEndpointSlice(o: Json): EndpointSliceRecord {
  const m = metaOf(o, true);
  const rawLabels = o.metadata?.labels;
  let ports: EndpointPort[] = arr(o.ports)
    .filter(isObj)
    .map((p) => {
      const ep: EndpointPort = {
        name: internOr(p.name),
        port: num(p.port) ?? -1,
        protocol: internOr(p.protocol, 'TCP'),
      };
      if (typeof p.appProtocol === 'string') ep.appProtocol = intern(p.appProtocol);
      return ep;
    });
  if (ports.length === 0) ports = portlessSentinel();
  const endpoints: EndpointRecord[] = arr(o.endpoints)
    .filter(isObj)
    .map((e) => {
      const c = isObj(e.conditions) ? e.conditions : {};
      // nil means true for ready and serving (CoreDNS endpointsliceReady, kube-proxy's cache).
      const ready = c.ready !== false;
      const ref = e.targetRef;
      return {
        addresses: strings(e.addresses),
        ready,
        serving: c.serving !== false,
        terminating: c.terminating === true,
        hostname: str(e.hostname),
        targetRefName: targetRefName(ref),
        targetRefNamespace: isObj(ref) ? internOr(ref.namespace) : '',
        nodeName: internOr(e.nodeName),
        zone: internOr(e.zone),
      };
    });
  return {
    namespace: m.namespace,
    name: m.name,
    key: m.key,
    serviceName: internOr(isObj(rawLabels) ? rawLabels[SERVICE_NAME_LABEL] : undefined),
    addressType: internOr(o.addressType, 'IPv4'),
    ports,
    endpoints,
    // No consumer reads slice labels (`labels` selectors are applied by the API server, or by the
    // snapshot source on the raw object); the one that matters is serviceName.
    labels: EMPTY_LABELS,
    lastChangeTriggerTime: parseTime(o.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION]),
    resourceVersion: m.rv,
  };
}

/** Legacy core/v1 Endpoints (clusters without discovery.k8s.io/v1) -> one slice-shaped record.
 *  Subsets are merged: ports are the union of all subsets' ports, `addresses` are ready and
 *  `notReadyAddresses` not ready. The Endpoints name is the service name. */
export function convertEndpoints(o: Json): EndpointSliceRecord {
  const m = metaOf(o, true);
  const ports: EndpointPort[] = [];
  const seenPorts = new Set<string>();
  const endpoints: EndpointRecord[] = [];
  let family = '';
  for (const subset of arr(o.subsets).filter(isObj)) {
    for (const p of arr(subset.ports).filter(isObj)) {
      const ep: EndpointPort = {
        name: internOr(p.name),
        port: num(p.port) ?? -1,
        protocol: internOr(p.protocol, 'TCP'),
      };
      if (typeof p.appProtocol === 'string') ep.appProtocol = intern(p.appProtocol);
      const id = `${ep.name}/${ep.port}/${ep.protocol}`;
      if (seenPorts.has(id)) continue;
      seenPorts.add(id);
      ports.push(ep);
    }
    for (const [list, ready] of [
      [subset.addresses, true],
      [subset.notReadyAddresses, false],
    ] as const) {
      for (const a of arr(list).filter(isObj)) {
        const ip = str(a.ip);
        if (!ip) continue;
        if (!family) family = ip.includes(':') ? 'IPv6' : 'IPv4';
        const ref = a.targetRef;
        endpoints.push({
          addresses: [ip],
          ready,
          serving: ready,
          terminating: false,
          hostname: str(a.hostname),
          targetRefName: targetRefName(ref),
          targetRefNamespace: isObj(ref) ? internOr(ref.namespace) : '',
          nodeName: internOr(a.nodeName),
          zone: '',
        });
      }
    }
  }
  return {
    namespace: m.namespace,
    name: m.name,
    key: m.key,
    serviceName: m.name,
    addressType: intern(family || 'IPv4'),
    ports: ports.length > 0 ? ports : portlessSentinel(),
    endpoints,
    labels: EMPTY_LABELS,
    lastChangeTriggerTime: parseTime(o.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION]),
    resourceVersion: m.rv,
  };
}

export function convertPod(o: Json): PodRecord {
  const m = metaOf(o, true);
  const status = isObj(o.status) ? o.status : {};
  const ip = str(status.podIP);
  let ips = arr(status.podIPs)
    .map((p) => (isObj(p) ? str(p.ip) : ''))
    .filter((s) => s !== '');
  if (ips.length === 0 && ip) ips = [ip];
  return {
    namespace: m.namespace,
    name: m.name,
    key: m.key,
    ip,
    ips,
    phase: internOr(status.phase),
    deleting: typeof o.metadata?.deletionTimestamp === 'string' && o.metadata.deletionTimestamp !== '',
    nodeName: internOr(o.spec?.nodeName),
    hostNetwork: o.spec?.hostNetwork === true,
    labels: labelsOf(o.metadata),
    resourceVersion: m.rv,
  };
}

export function convertNamespace(o: Json): NamespaceRecord {
  const m = metaOf(o, false);
  const name = intern(m.name);
  return { name, key: name, labels: labelsOf(o.metadata), resourceVersion: m.rv };
}

export function convertNode(o: Json): NodeRecord {
  const m = metaOf(o, false);
  const name = intern(m.name);
  const spec = isObj(o.spec) ? o.spec : {};
  let podCIDRs = strings(spec.podCIDRs);
  if (podCIDRs.length === 0 && typeof spec.podCIDR === 'string' && spec.podCIDR) podCIDRs = [spec.podCIDR];
  const internalIPs = arr(o.status?.addresses)
    .filter((a) => isObj(a) && a.type === 'InternalIP' && typeof a.address === 'string')
    .map((a) => a.address as string);
  return { name, key: name, podCIDRs, internalIPs, labels: labelsOf(o.metadata), resourceVersion: m.rv };
}

const CONVERTERS: Readonly<Record<string, (o: Json) => RecordOf[Kind]>> = {
  Service: convertService,
  EndpointSlice: convertEndpointSlice,
  Endpoints: convertEndpoints,
  Pod: convertPod,
  Namespace: convertNamespace,
  Node: convertNode,
};

export type Converted = { [K in Kind]: { kind: K; record: RecordOf[K] } }[Kind];

/** Converts by the object's `kind` (or `kindHint` for list items, which the API sends without
 *  kind). Returns null for kinds the informer does not store; throws ConvertError on bad objects. */
export function convertObject(o: Json, kindHint?: string): Converted | null {
  if (!isObj(o)) throw new ConvertError('not an object');
  const apiKind = typeof o.kind === 'string' && o.kind ? o.kind : kindHint ?? '';
  const conv = CONVERTERS[apiKind];
  const kind = STORE_KIND_OF[apiKind];
  if (!conv || !kind) return null;
  return { kind, record: conv(o) } as Converted;
}

/** The namespace/name key of an API object, as records use it (for DELETED events). */
export function objectKey(o: Json, namespaced: boolean): string {
  return metaOf(o, namespaced).key;
}
