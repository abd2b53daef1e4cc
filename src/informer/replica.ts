// Informers over a message channel, for `-workers N`: the primary process runs the real informers
// (one set of API watches) and serves them to N socket workers; each worker keeps a replica of the
// stores and exposes the ordinary Informer interface, so consumers (the kubernetes plugin) need no
// change. Both halves of the protocol live here:
//
//   worker -> primary  informer.get   {id, seq, opts}  get-or-create the real informer, subscribe
//                      informer.stop  {id}             unsubscribe (the primary's informer runs on)
//   primary -> worker  informer.snapshot {id, seq, stores, synced, lastChange}  first get of an id
//                      informer.ack      {id, seq, synced, lastChange}          later gets (more kinds)
//                      informer.batch    {id, changes, synced, lastChange}      one per onBatch burst
//                      informer.error    {id, seq, message}                     get threw in the primary
//
// A change is `[kind, record]` (add or update: the replica knows which, and the old record, from
// its own store) or `[kind, key]` (delete). Records are the informer's compact plain objects, so
// they cross the channel as JSON. `synced` and `lastChange` are the primary's, so every worker
// gives the same SOA serial.

import { connectionFor } from './api-source.js';
import { InformerEvents } from './events.js';
import { connectionIdentity, type LoggerArg } from './informer.js';
import { parseSelector } from './selector.js';
import { createStores, type Stores } from './store.js';
import type { Informer, InformerLogger, InformerOptions, Informers, Kind, RecordOf, Store } from './types.js';

/** `[kind, record]` = set, `[kind, key]` = delete. */
export type Change = [Kind, RecordOf[Kind] | string];

interface SyncState {
  synced: boolean;
  lastChange: number;
}

export type ReplicaMessage =
  | { kdns: 'informer.get'; id: number; seq: number; opts: InformerOptions }
  | { kdns: 'informer.stop'; id: number }
  | ({ kdns: 'informer.snapshot'; id: number; seq: number; stores: { [K in Kind]?: RecordOf[K][] } } & SyncState)
  | ({ kdns: 'informer.ack'; id: number; seq: number } & SyncState)
  | ({ kdns: 'informer.batch'; id: number; changes: Change[] } & SyncState)
  | { kdns: 'informer.error'; id: number; seq: number; message: string };

/** One end of an ordered message channel (a cluster worker's `process`, or `cluster.Worker`). */
export interface Channel {
  send(msg: ReplicaMessage): void;
  /** Subscribe to incoming messages (others than ours are ignored); returns an unsubscribe. */
  onMessage(fn: (msg: unknown) => void): () => void;
}

const KINDS: Kind[] = ['services', 'endpointslices', 'pods', 'namespaces', 'nodes'];

function isReplicaMessage(m: unknown): m is ReplicaMessage {
  return typeof m === 'object' && m !== null && typeof (m as { kdns?: unknown }).kdns === 'string' &&
    (m as { kdns: string }).kdns.startsWith('informer.');
}

function loggerOf(arg: LoggerArg): InformerLogger {
  if (arg && 'info' in arg && typeof arg.info === 'function') return arg as InformerLogger;
  return (arg as { log?: InformerLogger } | undefined)?.log ?? { info: console.info, warn: console.warn, error: console.error, debug: () => {} };
}

/** The checks the real informer makes when it is created, so a worker's `get` throws the same
 *  configuration errors synchronously (a Corefile mistake fails startup, as in one process). */
function validate(opts: InformerOptions): void {
  if (opts.snapshot) {
    if (opts.endpoint || opts.kubeconfig) throw new Error('informer: snapshot excludes endpoint and kubeconfig');
    parseSelector(opts.labelSelector ?? '');
    parseSelector(opts.namespaceLabelSelector ?? '');
    return;
  }
  connectionFor(opts);
}

// ---------------------------------------------------------------------------------------------
// Worker side

class ReplicaInformer extends InformerEvents implements Informer {
  private readonly stores: Stores = createStores();
  readonly kinds = new Set<Kind>();
  /** Gets sent and not yet answered: until the primary has seen our kinds, we are not synced. */
  private unanswered = 0;
  private remote: SyncState = { synced: false, lastChange: 0 };
  private stopped = false;
  private seq = 0;

  constructor(
    readonly id: number,
    private readonly channel: Channel,
    protected override readonly log: InformerLogger,
  ) {
    super();
  }

  get services(): Store<RecordOf['services']> { return this.stores.services; }
  get endpointslices(): Store<RecordOf['endpointslices']> { return this.stores.endpointslices; }
  get pods(): Store<RecordOf['pods']> { return this.stores.pods; }
  get namespaces(): Store<RecordOf['namespaces']> { return this.stores.namespaces; }
  get nodes(): Store<RecordOf['nodes']> { return this.stores.nodes; }

  override get synced(): boolean {
    return this.unanswered === 0 && this.remote.synced;
  }

  get lastChange(): number {
    return this.remote.lastChange;
  }

  /** Ask the primary for (more kinds of) this informer. */
  request(opts: InformerOptions): void {
    const fresh = opts.kinds.filter((k) => !this.kinds.has(k));
    if (this.seq > 0 && fresh.length === 0) return;
    for (const k of opts.kinds) this.kinds.add(k);
    this.unanswered++;
    this.channel.send({ kdns: 'informer.get', id: this.id, seq: ++this.seq, opts: { ...opts, kinds: [...this.kinds] } });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.channel.send({ kdns: 'informer.stop', id: this.id });
    } catch {
      // The primary is gone: nothing to unsubscribe from.
    }
    this.releaseSyncWaiters();
  }

  receive(msg: ReplicaMessage): void {
    if (this.stopped) return;
    switch (msg.kdns) {
      case 'informer.snapshot':
        this.unanswered--;
        for (const kind of KINDS) {
          const recs = msg.stores[kind];
          if (recs) this.replace(kind, recs);
        }
        break;
      case 'informer.ack':
        this.unanswered--;
        break;
      case 'informer.error':
        this.unanswered--;
        this.log.error(`informer: ${msg.message}`);
        break;
      case 'informer.batch':
        for (const [kind, r] of msg.changes) {
          if (typeof r === 'string') this.remove(kind, r);
          else this.set(kind, r);
        }
        break;
      default:
        return;
    }
    if ('synced' in msg) this.remote = { synced: msg.synced, lastChange: msg.lastChange };
    this.scheduleBatch();
    if (this.synced) this.releaseSyncWaiters();
  }

  private set(kind: Kind, rec: RecordOf[Kind]): void {
    const store = this.stores[kind] as unknown as Stores['services'];
    const old = store.set(rec as RecordOf['services']);
    this.notify(old ? { kind, type: 'update', record: rec, old } : { kind, type: 'add', record: rec });
  }

  private remove(kind: Kind, key: string): void {
    const old = this.stores[kind].delete(key);
    if (old) this.notify({ kind, type: 'delete', record: old });
  }

  private replace(kind: Kind, recs: RecordOf[Kind][]): void {
    const keep = new Set<string>();
    for (const r of recs) {
      keep.add(r.key);
      this.set(kind, r);
    }
    const gone = [...this.stores[kind].keys()].filter((k) => !keep.has(k));
    for (const k of gone) this.remove(kind, k);
  }
}

/** Informers whose stores are replicas of the primary's (see `serveReplicas`). */
export function createReplicaInformers(channel: Channel, logger?: LoggerArg): Informers {
  const log = loggerOf(logger);
  const byIdentity = new Map<string, ReplicaInformer>();
  const byId = new Map<number, ReplicaInformer>();
  let nextId = 1;
  let off: (() => void) | null = channel.onMessage((m) => {
    if (isReplicaMessage(m) && 'id' in m) byId.get(m.id)?.receive(m);
  });
  return {
    get(opts: InformerOptions): Informer {
      const identity = connectionIdentity(opts);
      let inf = byIdentity.get(identity);
      if (!inf) {
        validate(opts);
        inf = new ReplicaInformer(nextId++, channel, log);
        byIdentity.set(identity, inf);
        byId.set(inf.id, inf);
      }
      inf.request(opts);
      return inf;
    },
    async closeAll(): Promise<void> {
      const all = [...byIdentity.values()];
      byIdentity.clear();
      byId.clear();
      await Promise.all(all.map((i) => i.stop()));
      off?.();
      off = null;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Primary side

interface Member {
  id: number;
  channel: Channel;
  /** Index into `Feed.pending` where this member's unsent changes start (it joined mid-burst
   *  and its snapshot already holds the earlier ones). */
  from: number;
}

interface Feed {
  informer: Informer;
  /** Changes since the last batch, shared by every member (converted once). */
  pending: Change[];
  members: Set<Member>;
}

export interface ReplicaServer {
  /** Serve the replica informers of one worker until `detach`. */
  attach(channel: Channel): void;
  detach(channel: Channel): void;
}

/** Serve `informers` (the real ones) to replica informers over channels. */
export function serveReplicas(informers: Informers, logger?: LoggerArg): ReplicaServer {
  const log = loggerOf(logger);
  const feeds = new Map<string, Feed>();
  const attached = new Map<Channel, () => void>();

  const state = (inf: Informer): SyncState => ({ synced: inf.synced, lastChange: inf.lastChange });

  function feedFor(identity: string, informer: Informer): Feed {
    let feed = feeds.get(identity);
    if (feed) return feed;
    const f: Feed = { informer, pending: [], members: new Set() };
    informer.subscribe((ev) => {
      if (f.members.size === 0) return;
      f.pending.push(ev.type === 'delete' ? [ev.kind, ev.record.key] : [ev.kind, ev.record]);
    });
    informer.onBatch(() => {
      const { pending } = f;
      f.pending = [];
      const s = state(f.informer);
      for (const m of f.members) {
        const changes = m.from === 0 ? pending : pending.slice(m.from);
        m.from = 0;
        send(m.channel, { kdns: 'informer.batch', id: m.id, changes, ...s });
      }
    });
    feeds.set(identity, f);
    return f;
  }

  function send(channel: Channel, msg: ReplicaMessage): void {
    try {
      channel.send(msg);
    } catch (e) {
      // A worker that just died: its exit handler detaches it.
      log.debug(`informer: send to worker failed: ${(e as Error).message}`);
    }
  }

  function onGet(channel: Channel, msg: Extract<ReplicaMessage, { kdns: 'informer.get' }>): void {
    let informer: Informer;
    try {
      informer = informers.get(msg.opts);
    } catch (e) {
      send(channel, { kdns: 'informer.error', id: msg.id, seq: msg.seq, message: (e as Error).message });
      return;
    }
    const feed = feedFor(connectionIdentity(msg.opts), informer);
    for (const m of feed.members) {
      if (m.channel === channel && m.id === msg.id) {
        send(channel, { kdns: 'informer.ack', id: msg.id, seq: msg.seq, ...state(informer) });
        return;
      }
    }
    const stores: { [K in Kind]?: RecordOf[K][] } = {};
    for (const kind of KINDS) {
      const store = informer[kind] as Store<RecordOf[Kind]>;
      if (store.size > 0) (stores as Record<Kind, RecordOf[Kind][]>)[kind] = [...store.values()];
    }
    feed.members.add({ id: msg.id, channel, from: feed.pending.length });
    send(channel, { kdns: 'informer.snapshot', id: msg.id, seq: msg.seq, stores, ...state(informer) });
  }

  function leave(channel: Channel, id?: number): void {
    for (const feed of feeds.values()) {
      for (const m of feed.members) if (m.channel === channel && (id === undefined || m.id === id)) feed.members.delete(m);
    }
  }

  return {
    attach(channel: Channel): void {
      if (attached.has(channel)) return;
      const off = channel.onMessage((m) => {
        if (!isReplicaMessage(m)) return;
        if (m.kdns === 'informer.get') onGet(channel, m);
        else if (m.kdns === 'informer.stop') leave(channel, m.id);
      });
      attached.set(channel, off);
    },
    detach(channel: Channel): void {
      attached.get(channel)?.();
      attached.delete(channel);
      leave(channel);
    },
  };
}
