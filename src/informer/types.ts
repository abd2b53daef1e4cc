// The informer core's public shapes: compact records (only the fields DNS, the service proxy and
// the CNI daemon need), stores with indexes, and change subscriptions. Consumers never talk to the
// Kubernetes API themselves.

export interface ServicePort {
  name: string;            // '' when unnamed
  port: number;
  protocol: string;        // 'TCP' | 'UDP' | 'SCTP' as in the API
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceRecord {
  namespace: string;
  name: string;
  /** `namespace/name` */
  key: string;
  type: string;            // ClusterIP | NodePort | LoadBalancer | ExternalName
  /** spec.clusterIPs (fallback spec.clusterIP); empty for headless and ExternalName. */
  clusterIPs: string[];
  headless: boolean;       // clusterIP == "None"
  externalName: string;    // '' unless type ExternalName
  ports: ServicePort[];
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip / hostname */
  loadBalancerIngress: { ip?: string; hostname?: string }[];
  selector: Record<string, string> | null;
  labels: Record<string, string>;
  sessionAffinity: string;
  sessionAffinityTimeout?: number;
  externalTrafficPolicy?: string;
  internalTrafficPolicy?: string;
  healthCheckNodePort?: number;
  publishNotReadyAddresses: boolean;
  resourceVersion: string;
}

export interface EndpointRecord {
  addresses: string[];
  /** conditions.ready: true when true or unset. */
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  hostname: string;        // '' when unset
  /** targetRef.name when targetRef.kind is Pod (or unset kind), '' otherwise. */
  targetRefName: string;
  targetRefNamespace: string;
  nodeName: string;
  zone: string;
}

export interface EndpointPort {
  name: string;
  /** -1 when the slice port has no port number (CoreDNS's sentinel). A slice without any ports
   *  gets one sentinel port `{ name: '', port: -1, protocol: '' }`, as CoreDNS does. */
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface EndpointSliceRecord {
  namespace: string;
  name: string;
  key: string;
  /** Label kubernetes.io/service-name ('' if missing). */
  serviceName: string;
  addressType: string;     // IPv4 | IPv6 | FQDN
  ports: EndpointPort[];
  endpoints: EndpointRecord[];
  /** Always the shared empty object: slice labels are not kept (memory); serviceName carries the
   *  one label consumers need, and label selectors are applied before conversion. */
  labels: Record<string, string>;
  /** Annotation endpoints.kubernetes.io/last-change-trigger-time as ms since epoch, or null. */
  lastChangeTriggerTime: number | null;
  resourceVersion: string;
}

export interface PodRecord {
  namespace: string;
  name: string;
  key: string;
  /** status.podIP ('' when unset). */
  ip: string;
  /** status.podIPs[].ip (includes the primary). */
  ips: string[];
  phase: string;
  /** metadata.deletionTimestamp is set. */
  deleting: boolean;
  nodeName: string;
  hostNetwork: boolean;
  labels: Record<string, string>;
  resourceVersion: string;
}

export interface NamespaceRecord {
  name: string;
  key: string;
  labels: Record<string, string>;
  resourceVersion: string;
}

export interface NodeRecord {
  name: string;
  key: string;
  podCIDRs: string[];
  internalIPs: string[];
  labels: Record<string, string>;
  resourceVersion: string;
}

export type Kind = 'services' | 'endpointslices' | 'pods' | 'namespaces' | 'nodes';

export interface RecordOf {
  services: ServiceRecord;
  endpointslices: EndpointSliceRecord;
  pods: PodRecord;
  namespaces: NamespaceRecord;
  nodes: NodeRecord;
}

export type ChangeType = 'add' | 'update' | 'delete';

export interface ChangeEvent<K extends Kind = Kind> {
  kind: K;
  type: ChangeType;
  /** The new record (for delete: the last known record). */
  record: RecordOf[K];
  /** The previous record on update. */
  old?: RecordOf[K];
}

/** A read-only view of one kind, with the indexes its consumers need. */
export interface Store<T> {
  get(key: string): T | undefined;
  values(): IterableIterator<T>;
  readonly size: number;
  /** Records whose index `index` contains `value`. Indexes by kind:
   *  services: 'name' (name, any namespace), 'clusterIP', 'namespace'
   *  endpointslices: 'service' (`namespace/serviceName`), 'ip' (every endpoint address)
   *  pods: 'ip' (status.podIP), 'namespace'
   *  namespaces: none;  nodes: none */
  byIndex(index: string, value: string): readonly T[];
}

export interface Informer {
  readonly services: Store<ServiceRecord>;
  readonly endpointslices: Store<EndpointSliceRecord>;
  readonly pods: Store<PodRecord>;
  readonly namespaces: Store<NamespaceRecord>;
  readonly nodes: Store<NodeRecord>;
  /** Every watched kind has completed its initial list. */
  readonly synced: boolean;
  /** Unix ms of the last change that reached a store (for the SOA serial). */
  readonly lastChange: number;
  /** Resolves true when synced, false when `timeoutMs` passed first. */
  waitForSync(timeoutMs: number): Promise<boolean>;
  /** Called for every change after it was applied to the stores; also for the initial list
   *  (type 'add'). Returns an unsubscribe function. Batches: `onBatch` fires once after a burst of
   *  events was applied (cheap trigger for consumers that rebuild derived state). */
  subscribe(fn: (ev: ChangeEvent) => void): () => void;
  onBatch(fn: () => void): () => void;
  /** Stop watching; the stores keep their last state. */
  stop(): Promise<void>;
}

/** How to reach the cluster and what to watch. */
export interface InformerOptions {
  /** Plain or https URL of the API server (`kubectl proxy` = http://127.0.0.1:8001). */
  endpoint?: string;
  /** Client TLS for `endpoint`: cert, key, CA file paths. */
  tls?: { cert?: string; key?: string; ca?: string };
  kubeconfig?: { file: string; context?: string };
  /** A `kubectl get -o yaml|json` List file, reloaded when it changes (no API used). */
  snapshot?: string;
  /** How often the snapshot file is checked for changes (ms, default 500). */
  snapshotPollMs?: number;
  /** Kinds to watch (namespaces and services are always needed by DNS, but a consumer says). */
  kinds: Kind[];
  /** Label selector applied to services, endpointslices and pods (`labels` option). */
  labelSelector?: string;
  /** Label selector for namespaces (`namespace_labels`). */
  namespaceLabelSelector?: string;
}

export interface Informers {
  /** A started informer for these options; consumers with equal connection options share one
   *  (kinds are merged). */
  get(opts: InformerOptions): Informer;
  closeAll(): Promise<void>;
}

/** Where the informer reports what it does (structurally the plugins' Logger). */
export interface InformerLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}
