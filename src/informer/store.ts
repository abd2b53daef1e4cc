// In-memory store of one kind with secondary indexes. Index upkeep is incremental: adding, updating
// or deleting a record touches only the index values of that record (O(size of the record)).
//
// Memory: most index values hold exactly one record (an endpoint IP, a cluster IP, a slice's
// service), so a bucket is the record itself until a second record joins; only then does it become
// a Bucket (a key -> record Map plus the cached list). The array `byIndex` returns for a
// one-record bucket is made on first lookup and cached per record (WeakMap), so the 100k-IP index
// of a large cluster costs one Map entry per IP instead of a Map per IP.

import type { EndpointSliceRecord, Kind, PodRecord, RecordOf, ServiceRecord, Store } from './types.js';

export type IndexFn<T> = (rec: T) => Iterable<string>;

const NONE: readonly never[] = Object.freeze([]);

class Bucket<T> {
  readonly byKey = new Map<string, T>();
  list: readonly T[] | null = null;
}

export class IndexedStore<T extends { key: string }> implements Store<T> {
  private readonly items = new Map<string, T>();
  private readonly indexes = new Map<string, { fn: IndexFn<T>; buckets: Map<string, T | Bucket<T>> }>();
  /** The one-element array `byIndex` returns for a bucket holding just this record. */
  private readonly singles = new WeakMap<T, readonly T[]>();

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
    if (b === undefined) return NONE;
    if (b instanceof Bucket) return (b.list ??= Object.freeze([...b.byKey.values()]));
    let one = this.singles.get(b);
    if (!one) this.singles.set(b, (one = Object.freeze([b])));
    return one;
  }

  /** Inserts or replaces; returns the previous record. */
  set(rec: T): T | undefined {
    const old = this.items.get(rec.key);
    this.items.set(rec.key, rec);
    for (const idx of this.indexes.values()) {
      const newVals = new Set(idx.fn(rec));
      if (old) {
        for (const v of idx.fn(old)) if (!newVals.has(v)) this.unlink(idx.buckets, v, rec.key);
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
      for (const v of idx.fn(old)) this.unlink(idx.buckets, v, key);
    }
    return old;
  }

  private link(buckets: Map<string, T | Bucket<T>>, value: string, rec: T): void {
    const b = buckets.get(value);
    if (b === undefined || (!(b instanceof Bucket) && b.key === rec.key)) {
      buckets.set(value, rec);
      return;
    }
    if (b instanceof Bucket) {
      b.byKey.set(rec.key, rec); // keeps insertion position on replace
      b.list = null;
      return;
    }
    const nb = new Bucket<T>();
    nb.byKey.set(b.key, b);
    nb.byKey.set(rec.key, rec);
    buckets.set(value, nb);
  }

  /** Idempotent: a value listed twice by an index function is unlinked once. */
  private unlink(buckets: Map<string, T | Bucket<T>>, value: string, key: string): void {
    const b = buckets.get(value);
    if (b === undefined) return;
    if (!(b instanceof Bucket)) {
      if (b.key === key) buckets.delete(value);
      return;
    }
    if (!b.byKey.delete(key)) return;
    if (b.byKey.size === 1) buckets.set(value, b.byKey.values().next().value as T);
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
