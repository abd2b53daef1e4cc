// In-memory store of one kind with secondary indexes. Index upkeep is incremental: adding, updating
// or deleting a record touches only the index values of that record (O(size of the record)); the
// array a lookup returns is built lazily per bucket and cached until that bucket changes.

import type { EndpointSliceRecord, Kind, PodRecord, RecordOf, ServiceRecord, Store } from './types.js';

export type IndexFn<T> = (rec: T) => Iterable<string>;

const NONE: readonly never[] = Object.freeze([]);

interface Bucket<T> {
  byKey: Map<string, T>;
  list: readonly T[] | null;
}

export class IndexedStore<T extends { key: string }> implements Store<T> {
  private readonly items = new Map<string, T>();
  private readonly indexes = new Map<string, { fn: IndexFn<T>; buckets: Map<string, Bucket<T>> }>();

  constructor(indexFns: Record<string, IndexFn<T>> = {}) {
    for (const [name, fn] of Object.entries(indexFns)) this.indexes.set(name, { fn, buckets: new Map() });
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  values(): IterableIterator<T> {
    return this.items.values();
  }

  keys(): IterableIterator<string> {
    return this.items.keys();
  }

  get size(): number {
    return this.items.size;
  }

  indexNames(): string[] {
    return [...this.indexes.keys()];
  }

  byIndex(index: string, value: string): readonly T[] {
    const idx = this.indexes.get(index);
    if (!idx) throw new Error(`store has no index '${index}' (has: ${this.indexNames().join(', ') || 'none'})`);
    const b = idx.buckets.get(value);
    if (!b) return NONE;
    return (b.list ??= Object.freeze([...b.byKey.values()]));
  }

  /** Inserts or replaces; returns the previous record. */
  set(rec: T): T | undefined {
    const old = this.items.get(rec.key);
    this.items.set(rec.key, rec);
    for (const idx of this.indexes.values()) {
      const oldVals = old ? new Set(idx.fn(old)) : undefined;
      const newVals = new Set(idx.fn(rec));
      if (oldVals) {
        for (const v of oldVals) if (!newVals.has(v)) this.unlink(idx.buckets, v, rec.key);
      }
      for (const v of newVals) this.link(idx.buckets, v, rec);
    }
    return old;
  }

  /** Removes by key; returns the removed record. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.items.delete(key);
    for (const idx of this.indexes.values()) {
      for (const v of new Set(idx.fn(old))) this.unlink(idx.buckets, v, key);
    }
    return old;
  }

  private link(buckets: Map<string, Bucket<T>>, value: string, rec: T): void {
    let b = buckets.get(value);
    if (!b) buckets.set(value, (b = { byKey: new Map(), list: null }));
    b.byKey.set(rec.key, rec); // keeps insertion position on replace
    b.list = null;
  }

  private unlink(buckets: Map<string, Bucket<T>>, value: string, key: string): void {
    const b = buckets.get(value);
    if (!b || !b.byKey.delete(key)) return;
    if (b.byKey.size === 0) buckets.delete(value);
    else b.list = null;
  }
}

function* sliceIPs(s: EndpointSliceRecord): Iterable<string> {
  for (const e of s.endpoints) yield* e.addresses;
}

/** The indexes each kind offers (see Store.byIndex in types.ts). */
export const INDEXES: { [K in Kind]: Record<string, IndexFn<RecordOf[K]>> } = {
  services: {
    name: (s: ServiceRecord) => [s.name],
    clusterIP: (s: ServiceRecord) => s.clusterIPs,
    namespace: (s: ServiceRecord) => [s.namespace],
  },
  endpointslices: {
    service: (s: EndpointSliceRecord) => (s.serviceName ? [`${s.namespace}/${s.serviceName}`] : []),
    ip: sliceIPs,
  },
  pods: {
    ip: (p: PodRecord) => (p.ip ? [p.ip] : []),
    namespace: (p: PodRecord) => [p.namespace],
  },
  namespaces: {},
  nodes: {},
};

export type Stores = { [K in Kind]: IndexedStore<RecordOf[K]> };

export function createStores(): Stores {
  return {
    services: new IndexedStore(INDEXES.services),
    endpointslices: new IndexedStore(INDEXES.endpointslices),
    pods: new IndexedStore(INDEXES.pods),
    namespaces: new IndexedStore(INDEXES.namespaces),
    nodes: new IndexedStore(INDEXES.nodes),
  };
}
