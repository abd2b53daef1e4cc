// The informer: a source (API list/watch or a snapshot file) feeds compact records into indexed
// stores; every applied change is announced to subscribers, and `onBatch` fires once per burst so
// consumers rebuild derived state once, not per event (kube-proxy's change tracker idea).

import { ApiSource } from './api-source.js';
import { sameRecord } from './equal.js';
import { InformerEvents } from './events.js';
import { SnapshotSource } from './snapshot-source.js';
import type { Sink, Source } from './source.js';
import { createStores, type Stores } from './store.js';
import type {
  ChangeEvent,
  Informer,
  InformerLogger,
  InformerOptions,
  Informers,
  Kind,
  RecordOf,
  Store,
} from './types.js';

export const consoleLogger: InformerLogger = {
  info: (m) => console.info(m),
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
  debug: () => {},
};

/** A logger, or `{ log }` carrying one (both forms are accepted where a logger is optional). */
export type LoggerArg = InformerLogger | { log?: InformerLogger } | undefined;

function loggerFrom(arg: LoggerArg): InformerLogger {
  if (!arg) return consoleLogger;
  if ('info' in arg && typeof arg.info === 'function') return arg as InformerLogger;
  return (arg as { log?: InformerLogger }).log ?? consoleLogger;
}

/** The informer as created here: the public Informer plus what its owner (and tests) may ask. */
export interface KdnsInformer extends Informer {
  /** Kinds being watched (grows through `Informers.get`). */
  readonly kinds: readonly Kind[];
  /** True when the API has no discovery.k8s.io/v1 and core/v1 Endpoints feed `endpointslices`. */
  readonly usingLegacyEndpoints: boolean;
  /** Watch more kinds on the running informer; `synced` is false until they are listed. */
  addKinds(kinds: Kind[]): void;
}

class InformerImpl extends InformerEvents implements KdnsInformer, Sink {
  private readonly stores: Stores = createStores();
  private readonly watched = new Set<Kind>();
  private readonly syncedKinds = new Set<Kind>();
  private readonly source: Source;
  private stopped = false;
  private last = 0;

  constructor(
    opts: InformerOptions,
    override readonly log: InformerLogger,
  ) {
    super();
    if (opts.snapshot && (opts.endpoint || opts.kubeconfig)) {
      throw new Error('informer: snapshot excludes endpoint and kubeconfig');
    }
    this.source = opts.snapshot ? new SnapshotSource(opts.snapshot, opts, this) : new ApiSource(opts, this);
  }

  get services(): Store<RecordOf['services']> {
    return this.stores.services;
  }
  get endpointslices(): Store<RecordOf['endpointslices']> {
    return this.stores.endpointslices;
  }
  get pods(): Store<RecordOf['pods']> {
    return this.stores.pods;
  }
  get namespaces(): Store<RecordOf['namespaces']> {
    return this.stores.namespaces;
  }
  get nodes(): Store<RecordOf['nodes']> {
    return this.stores.nodes;
  }

  get kinds(): readonly Kind[] {
    return [...this.watched];
  }

  get usingLegacyEndpoints(): boolean {
    return this.source instanceof ApiSource && this.source.usingLegacyEndpoints;
  }

  override get synced(): boolean {
    for (const k of this.watched) if (!this.syncedKinds.has(k)) return false;
    return true;
  }

  get lastChange(): number {
    return this.last;
  }

  addKinds(kinds: Kind[]): void {
    if (this.stopped) return;
    const fresh = kinds.filter((k) => !this.watched.has(k));
    if (fresh.length === 0) return;
    for (const k of fresh) this.watched.add(k);
    this.source.addKinds(fresh);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.source.stop();
    this.releaseSyncWaiters();
  }

  // ---- Sink: what the sources call ----

  upsert<K extends Kind>(kind: K, rec: RecordOf[K]): void {
    if (this.stopped) return;
    const store = this.stores[kind] as unknown as Stores['services'];
    const r = rec as unknown as RecordOf['services'];
    const old = store.get(r.key);
    store.set(r);
    if (old && sameRecord(old, r)) return;
    this.emit({ kind, type: old ? 'update' : 'add', record: rec, ...(old ? { old: old as unknown as RecordOf[K] } : {}) });
  }

  remove(kind: Kind, key: string): void {
    if (this.stopped) return;
    const old = this.stores[kind].delete(key);
    if (old) this.emit({ kind, type: 'delete', record: old });
  }

  replace<K extends Kind>(kind: K, recs: Iterable<RecordOf[K]>): void {
    if (this.stopped) return;
    const keep = new Set<string>();
    for (const r of recs) {
      keep.add(r.key);
      this.upsert(kind, r);
    }
    const store = this.stores[kind];
    const gone: string[] = [];
    for (const key of store.keys()) if (!keep.has(key)) gone.push(key);
    for (const key of gone) this.remove(kind, key);
  }

  markSynced(kind: Kind): void {
    if (this.syncedKinds.has(kind)) return;
    this.syncedKinds.add(kind);
    if (!this.synced) return;
    this.scheduleBatch(); // consumers that rebuild on batches learn about sync even with no records
    this.releaseSyncWaiters();
  }

  private emit(ev: ChangeEvent): void {
    this.last = Date.now();
    this.notify(ev);
    this.scheduleBatch();
  }
}

/** A started informer watching `opts.kinds`. Throws on unusable connection options (bad URL,
 *  missing kubeconfig or context, not in a cluster). */
export function createInformer(opts: InformerOptions, logger?: LoggerArg): KdnsInformer {
  const inf = new InformerImpl(opts, loggerFrom(logger));
  inf.addKinds(opts.kinds);
  return inf;
}

/** What makes two option sets share one informer: everything but `kinds`. */
export function connectionIdentity(opts: InformerOptions): string {
  return JSON.stringify([
    opts.snapshot ?? null,
    opts.snapshotPollMs ?? null,
    opts.kubeconfig ? [opts.kubeconfig.file, opts.kubeconfig.context ?? null] : null,
    opts.endpoint ?? null,
    opts.tls ? [opts.tls.cert ?? null, opts.tls.key ?? null, opts.tls.ca ?? null] : null,
    opts.labelSelector ?? '',
    opts.namespaceLabelSelector ?? '',
  ]);
}

export function createInformers(logger?: LoggerArg): Informers {
  const log = loggerFrom(logger);
  const byIdentity = new Map<string, KdnsInformer>();
  return {
    get(opts: InformerOptions): KdnsInformer {
      const id = connectionIdentity(opts);
      const have = byIdentity.get(id);
      if (have) {
        have.addKinds(opts.kinds);
        return have;
      }
      const inf = createInformer(opts, log);
      byIdentity.set(id, inf);
      return inf;
    },
    async closeAll(): Promise<void> {
      const all = [...byIdentity.values()];
      byIdentity.clear();
      await Promise.all(all.map((i) => i.stop()));
    },
  };
}
