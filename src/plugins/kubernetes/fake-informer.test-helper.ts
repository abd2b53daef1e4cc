// An in-memory Informer for the kubernetes plugin's tests: loads a v1 List (the shared
// conformance cluster.json) into compact records, and lets tests apply changes.

import * as fs from 'node:fs';

import type {
  ChangeEvent,
  EndpointSliceRecord,
  Informer,
  InformerOptions,
  Informers,
  Kind,
  NamespaceRecord,
  NodeRecord,
  PodRecord,
  RecordOf,
  ServiceRecord,
  Store,
} from '../../informer/types.js';

export const CONFORMANCE_DIR = new URL('../../../../shared/conformance/', import.meta.url).pathname;
/** The shared conformance files sit beside the checkout (../shared); tests that read them skip without. */
export const HAVE_CONFORMANCE = fs.existsSync(`${CONFORMANCE_DIR}cases.json`) && fs.existsSync(`${CONFORMANCE_DIR}cluster.json`);

type Json = any;

class FakeStore<T extends { key: string }> implements Store<T> {
  readonly map = new Map<string, T>();
  constructor(private readonly indexes: Record<string, (r: T) => string[]>) {}
  get(key: string): T | undefined {
    return this.map.get(key);
  }
  values(): IterableIterator<T> {
    return this.map.values();
  }
  get size(): number {
    return this.map.size;
  }
  byIndex(index: string, value: string): readonly T[] {
    const fn = this.indexes[index];
    if (!fn) return [];
    return [...this.map.values()].filter((r) => fn(r).includes(value));
  }
}

export function toService(o: Json): ServiceRecord {
  const m = o.metadata;
  const s = o.spec ?? {};
  const headless = s.clusterIP === 'None';
  const type = s.type ?? 'ClusterIP';
  let clusterIPs: string[] = [];
  if (!headless && type !== 'ExternalName') clusterIPs = s.clusterIPs ?? (s.clusterIP ? [s.clusterIP] : []);
  return {
    namespace: m.namespace,
    name: m.name,
    key: `${m.namespace}/${m.name}`,
    type,
    clusterIPs,
    headless,
    externalName: type === 'ExternalName' ? (s.externalName ?? '') : '',
    ports: (s.ports ?? []).map((p: Json) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    externalIPs: s.externalIPs ?? [],
    loadBalancerIngress: [],
    selector: s.selector ?? null,
    labels: m.labels ?? {},
    sessionAffinity: s.sessionAffinity ?? 'None',
    publishNotReadyAddresses: !!s.publishNotReadyAddresses,
    resourceVersion: m.resourceVersion ?? '1',
  };
}

export function toSlice(o: Json): EndpointSliceRecord {
  const m = o.metadata;
  const trig = m.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'];
  return {
    namespace: m.namespace,
    name: m.name,
    key: `${m.namespace}/${m.name}`,
    serviceName: m.labels?.['kubernetes.io/service-name'] ?? '',
    addressType: o.addressType ?? 'IPv4',
    ports: (o.ports ?? []).map((p: Json) => ({ name: p.name ?? '', port: p.port ?? -1, protocol: p.protocol ?? 'TCP' })),
    endpoints: (o.endpoints ?? []).map((e: Json) => ({
      addresses: e.addresses ?? [],
      ready: e.conditions?.ready !== false,
      serving: e.conditions?.serving !== false,
      terminating: e.conditions?.terminating === true,
      hostname: e.hostname ?? '',
      targetRefName: e.targetRef && (e.targetRef.kind ?? 'Pod') === 'Pod' ? e.targetRef.name : '',
      targetRefNamespace: e.targetRef?.namespace ?? '',
      nodeName: e.nodeName ?? '',
      zone: e.zone ?? '',
    })),
    labels: m.labels ?? {},
    lastChangeTriggerTime: trig ? Date.parse(trig) : null,
    resourceVersion: m.resourceVersion ?? '1',
  };
}

export function toPod(o: Json): PodRecord {
  const m = o.metadata;
  const st = o.status ?? {};
  return {
    namespace: m.namespace,
    name: m.name,
    key: `${m.namespace}/${m.name}`,
    ip: st.podIP ?? '',
    ips: (st.podIPs ?? []).map((x: Json) => x.ip),
    phase: st.phase ?? '',
    deleting: !!m.deletionTimestamp,
    nodeName: o.spec?.nodeName ?? '',
    hostNetwork: !!o.spec?.hostNetwork,
    labels: m.labels ?? {},
    resourceVersion: m.resourceVersion ?? '1',
  };
}

export function toNamespace(o: Json): NamespaceRecord {
  return { name: o.metadata.name, key: o.metadata.name, labels: o.metadata.labels ?? {}, resourceVersion: '1' };
}

export class FakeInformer implements Informer {
  readonly services = new FakeStore<ServiceRecord>({
    name: (r) => [r.name],
    clusterIP: (r) => r.clusterIPs,
    namespace: (r) => [r.namespace],
  });
  readonly endpointslices = new FakeStore<EndpointSliceRecord>({
    service: (r) => [`${r.namespace}/${r.serviceName}`],
    ip: (r) => r.endpoints.flatMap((e) => e.addresses),
  });
  readonly pods = new FakeStore<PodRecord>({ ip: (r) => [r.ip], namespace: (r) => [r.namespace] });
  readonly namespaces = new FakeStore<NamespaceRecord>({});
  readonly nodes = new FakeStore<NodeRecord>({});
  synced = true;
  lastChange = 1499347823000;
  private readonly subs = new Set<(ev: ChangeEvent) => void>();
  private readonly batches = new Set<() => void>();

  constructor(public readonly opts?: InformerOptions) {}

  static fromList(list: Json, opts?: InformerOptions): FakeInformer {
    const inf = new FakeInformer(opts);
    for (const item of list.items) {
      switch (item.kind) {
        case 'Namespace': inf.namespaces.map.set(item.metadata.name, toNamespace(item)); break;
        case 'Service': { const r = toService(item); inf.services.map.set(r.key, r); break; }
        case 'EndpointSlice': { const r = toSlice(item); inf.endpointslices.map.set(r.key, r); break; }
        case 'Pod': { const r = toPod(item); inf.pods.map.set(r.key, r); break; }
        default: break;
      }
    }
    return inf;
  }

  static fromConformance(opts?: InformerOptions): FakeInformer {
    return FakeInformer.fromList(JSON.parse(fs.readFileSync(`${CONFORMANCE_DIR}cluster.json`, 'utf8')), opts);
  }

  waitForSync(_timeoutMs: number): Promise<boolean> {
    return Promise.resolve(this.synced);
  }

  subscribe(fn: (ev: ChangeEvent) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  onBatch(fn: () => void): () => void {
    this.batches.add(fn);
    return () => this.batches.delete(fn);
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  private storeOf<K extends Kind>(kind: K): FakeStore<RecordOf[K]> {
    return (this as unknown as Record<Kind, FakeStore<RecordOf[K]>>)[kind];
  }

  /** Apply a change as the real informer would (store first, then event, then batch). */
  apply<K extends Kind>(kind: K, type: 'add' | 'update' | 'delete', record: RecordOf[K]): void {
    const store = this.storeOf(kind);
    const old = store.map.get(record.key);
    if (type === 'delete') store.map.delete(record.key);
    else store.map.set(record.key, record);
    this.lastChange = Date.now();
    const ev = { kind, type, record, old: type === 'update' ? old : undefined } as ChangeEvent;
    for (const fn of this.subs) fn(ev);
    for (const fn of this.batches) fn();
  }
}

/** Informers that hand out one FakeInformer and remember the options asked for. */
export class FakeInformers implements Informers {
  readonly requests: InformerOptions[] = [];
  constructor(public informer: FakeInformer) {}
  get(opts: InformerOptions): Informer {
    this.requests.push(opts);
    return this.informer;
  }
  closeAll(): Promise<void> {
    return Promise.resolve();
  }
}
