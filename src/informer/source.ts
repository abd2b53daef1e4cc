// What a source (API list/watch, snapshot file) feeds: store mutations that the informer applies,
// diffs and announces to subscribers.

import type { InformerLogger, Kind, RecordOf } from './types.js';

export interface Sink {
  /** Add or update one record (no event when nothing but resourceVersion changed). */
  upsert<K extends Kind>(kind: K, rec: RecordOf[K]): void;
  remove(kind: Kind, key: string): void;
  /** Make the store hold exactly `recs`, announcing only what differs (relist, file reload). */
  replace<K extends Kind>(kind: K, recs: Iterable<RecordOf[K]>): void;
  /** The kind's initial list is complete. */
  markSynced(kind: Kind): void;
  readonly log: InformerLogger;
}

export interface Source {
  /** Start watching these kinds too (already watched ones are ignored). */
  addKinds(kinds: Kind[]): void;
  /** Stop all requests, timers and file watches. Stores keep their state. */
  stop(): Promise<void>;
}
