// The cache handler: answer from the success/denial caches or call the next plugin and store what
// comes back. Mirrors CoreDNS plugin/cache handler.go + cache.go + item.go:
//   * every reply passing through gets all TTLs set to one duration: clamp(lowest TTL, MINTTL, TTL);
//   * hits are authoritative, carry the TTL counted down from that duration and the current question;
//   * prefetch and serve_stale refresh in the background through the rest of the chain.

import type { FastMark, FastReplay } from '../../server/fastpath.js';
import { LRUCache } from 'lru-cache';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { RCODE } from '../../dns/constants.js';
import type { Handler, Logger, Result } from '../types.js';
import { bindCounter, m } from '../../metrics/registry.js';
import type { CacheConfig } from './config.js';
import { classify, clampTtl, minimalTtl, type ReplyKind } from './classify.js';

/** One cached reply: the records as stored (TTLs irrelevant), its lifetime, and a per-second
 *  memo of the records at the TTL last served, so a hit usually allocates only the reply object. */
export interface Entry {
  rcode: number;
  ra: boolean;
  ad: boolean;
  answers: RR[];
  authorities: RR[];
  additionals: RR[];
  /** Seconds the entry lives (the computed duration). */
  origTtl: number;
  /** Clock value (ms) when stored. */
  stored: number;
  /** Prefetch popularity: hits without a gap of `prefetch.windowMs`, and the last hit time. */
  hits: number;
  last: number;
  refreshing: boolean;
  memoTtl: number;
  memo: [RR[], RR[], RR[]] | null;
  /** Fast-path mark, made once per entry. */
  mark: FastMark | null;
}

/** Milliseconds; injectable for tests. */
export type Clock = () => number;

interface Inc { inc(): void }
interface Settable { set(v: number): void }

interface Metrics {
  requests: Inc;
  misses: Inc;
  hitsSuccess: Inc;
  hitsDenial: Inc;
  prefetch: Inc;
  drops: Inc;
  servedStale: Inc;
  evictSuccess: Inc;
  evictDenial: Inc;
  entriesSuccess: Settable;
  entriesDenial: Settable;
  /** What a request counts, for replies served again by the fast path. */
  replayMiss: FastReplay;
  replaySuccessHit: FastReplay;
  replayDenialHit: FastReplay;
}

function withTtl(rrs: RR[], ttl: number): RR[] {
  const out = new Array<RR>(rrs.length);
  let j = 0;
  for (const rr of rrs) {
    // OPT is hop-by-hop: the server writes its own.
    if (rr.type === 'OPT') continue;
    out[j++] = { ...rr, ttl };
  }
  out.length = j;
  return out;
}

/** Longest zone of `zones` that `lname` is in (label boundary), or null. */
export function matchZones(zones: readonly string[], lname: string): string | null {
  let best: string | null = null;
  for (const z of zones) {
    if (z === '.' || lname === z || (lname.endsWith(z) && lname.charCodeAt(lname.length - z.length - 1) === 0x2e)) {
      if (best === null || z.length > best.length) best = z;
    }
  }
  return best;
}

export class Cache {
  readonly success: LRUCache<string, Entry>;
  readonly denial: LRUCache<string, Entry>;
  private readonly zonesLabel: string;
  private readonly metrics = new Map<string, Metrics>();
  /** Server label of the current store/evict (lru-cache's dispose has no context of its own). */
  private current: Metrics | null = null;
  private lastDenialHit: Entry | null = null;
  /** Hits may be reused by the fast path only when nothing else depends on seeing them. */
  private readonly reuseHits: boolean;

  constructor(
    readonly cfg: CacheConfig,
    private readonly log: Logger,
    private readonly now: Clock = Date.now,
  ) {
    this.zonesLabel = cfg.zones.join(',');
    // Prefetch counts hits; serve_stale refreshes on hits past expiry: both need every query.
    this.reuseHits = cfg.prefetch.amount <= 0 && cfg.staleUpTo <= 0 && !cfg.verifyStale;
    this.success = new LRUCache<string, Entry>({
      max: cfg.success.capacity,
      dispose: (_v, _k, reason) => { if (reason === 'evict') this.current?.evictSuccess.inc(); },
    });
    this.denial = new LRUCache<string, Entry>({
      max: cfg.denial.capacity,
      dispose: (_v, _k, reason) => { if (reason === 'evict') this.current?.evictDenial.inc(); },
    });
  }

  private metricsFor(server: string): Metrics {
    let mm = this.metrics.get(server);
    if (!mm) {
      const base = { server, zones: this.zonesLabel, view: '' };
      mm = {
        requests: bindCounter(m.cacheRequests, base),
        misses: bindCounter(m.cacheMisses, base),
        hitsSuccess: bindCounter(m.cacheHits, { ...base, type: 'success' }),
        hitsDenial: bindCounter(m.cacheHits, { ...base, type: 'denial' }),
        prefetch: bindCounter(m.cachePrefetch, base),
        drops: bindCounter(m.cacheDrops, base),
        servedStale: bindCounter(m.cacheServedStale, base),
        evictSuccess: bindCounter(m.cacheEvictions, { ...base, type: 'success' }),
        evictDenial: bindCounter(m.cacheEvictions, { ...base, type: 'denial' }),
        entriesSuccess: m.cacheEntries.labels({ ...base, type: 'success' }),
        entriesDenial: m.cacheEntries.labels({ ...base, type: 'denial' }),
        replayMiss: () => {},
        replaySuccessHit: () => {},
        replayDenialHit: () => {},
      };
      const mmm = mm;
      mm.replayMiss = () => { mmm.requests.inc(); mmm.misses.inc(); };
      mm.replaySuccessHit = () => { mmm.requests.inc(); mmm.hitsSuccess.inc(); };
      mm.replayDenialHit = () => { mmm.requests.inc(); mmm.hitsDenial.inc(); };
      this.metrics.set(server, mm);
    }
    return mm;
  }

  static key(req: DnsRequest): string {
    const q = req.question;
    const d = req.edns?.do ? 1 : 0;
    const c = req.cd ? 2 : 0;
    // CoreDNS hashes qname, qtype, DO and CD only: the class is not part of the key, so a CH or ANY
    // query for a cached name is answered from the IN entry. Checked against CoreDNS 1.12.2.
    return `${q.lname}/${q.qtype}/${d | c}`;
  }

  /** Seconds left (negative once expired). */
  static ttl(e: Entry, now: number): number {
    return e.origTtl - Math.trunc((now - e.stored) / 1000);
  }

  handle(req: DnsRequest, next: Handler): Result {
    if (matchZones(this.cfg.zones, req.question.lname) === null) return next(req);
    const mm = this.metricsFor(req.server);
    const key = Cache.key(req);
    let now = this.now();
    mm.requests.inc();
    const e = this.lookup(key, now, mm);
    if (!e) {
      // Replayed when the reply is served again from the fast path: the same request + miss.
      (req.fastReplays ??= []).push(mm.replayMiss);
      return this.fetch(req, next, key, mm);
    }
    (req.fastReplays ??= []).push(e === this.lastDenialHit ? mm.replayDenialHit : mm.replaySuccessHit);

    let ttl = Cache.ttl(e, now);
    if (ttl < 0) {
      if (this.cfg.verifyStale) return this.verifyStale(req, next, key, e, mm);
      // Serve the expired entry at TTL 0 and refresh it behind the reply.
      now += ttl * 1000;
      this.refresh(req, next, key, e, now, mm);
      mm.servedStale.inc();
      ttl = 0;
    } else if (this.shouldPrefetch(e, ttl, now)) {
      this.refresh(req, next, key, e, now, mm);
    }
    if (this.cfg.keepTtl) ttl = e.origTtl;
    return this.reply(req, e, ttl);
  }

  private lookup(key: string, now: number, mm: Metrics): Entry | undefined {
    const stale = this.cfg.staleUpTo;
    const usable = (e: Entry): boolean => {
      const ttl = Cache.ttl(e, now);
      return ttl > 0 || (stale > 0 && -ttl < stale);
    };
    const n = this.denial.size > 0 ? this.denial.get(key) : undefined;
    if (n && usable(n)) { mm.hitsDenial.inc(); this.lastDenialHit = n; return n; }
    const p = this.success.get(key);
    if (p && usable(p)) { mm.hitsSuccess.inc(); return p; }
    mm.misses.inc();
    return undefined;
  }

  private shouldPrefetch(e: Entry, ttl: number, now: number): boolean {
    const pf = this.cfg.prefetch;
    if (pf.amount <= 0) return false;
    if (e.last < now - pf.windowMs) e.hits = 1;
    else e.hits++;
    e.last = now;
    const threshold = Math.ceil((pf.percentage / 100) * e.origTtl);
    return e.hits >= pf.amount && ttl <= threshold;
  }

  /** A reply built from an entry: AA set, records at `ttl`, the current query's question. */
  private reply(req: DnsRequest, e: Entry, ttl: number): DnsResponse {
    if (e.memoTtl !== ttl || !e.memo) {
      e.memo = [withTtl(e.answers, ttl), withTtl(e.authorities, ttl), withTtl(e.additionals, ttl)];
      e.memoTtl = ttl;
    }
    const [an, ns, ar] = e.memo;
    const fast = this.reuseHits && ttl > 0 ? this.markOf(e) : undefined;
    return {
      fast,
      rcode: e.rcode,
      aa: true,
      ra: e.ra,
      ad: e.ad && (!!req.edns?.do || req.ad),
      // Copies of the arrays so an outer plugin reordering them (loadbalance) cannot touch the memo.
      answers: an.slice(),
      authorities: ns.slice(),
      additionals: ar.slice(),
      plugin: 'cache',
    };
  }

  /** Fast-path mark for an entry: valid until it expires, TTLs counted down as hits would be. */
  private markOf(e: Entry): FastMark {
    if (!e.mark) {
      const keep = this.cfg.keepTtl;
      e.mark = { until: e.stored + e.origTtl * 1000, ttlAt: keep ? () => e.origTtl : (now) => Cache.ttl(e, now) };
    }
    return e.mark;
  }

  /** Miss: ask the rest of the chain, store the reply if it qualifies, rewrite its TTLs. */
  private fetch(req: DnsRequest, next: Handler, key: string, mm: Metrics): Result {
    const r = next(req);
    if (r instanceof Promise) return r.then((res) => this.passThrough(req, res, key, mm, false));
    return this.passThrough(req, r, key, mm, false);
  }

  private verifyStale(req: DnsRequest, next: Handler, key: string, e: Entry, mm: Metrics): Result {
    const stale = (): DnsResponse => {
      mm.servedStale.inc();
      return this.reply(req, e, this.cfg.keepTtl ? e.origTtl : 0);
    };
    const decide = (res: DnsResponse): DnsResponse =>
      res.rcode === RCODE.NOERROR || res.rcode === RCODE.NXDOMAIN ? this.passThrough(req, res, key, mm, false) : stale();
    let r: Result;
    try {
      r = next(req);
    } catch (err) {
      this.log.debug(`plugin/cache: serve_stale verify of ${req.question.name} failed: ${(err as Error).message}`);
      return stale();
    }
    if (r instanceof Promise) {
      return r.then(decide, (err) => {
        this.log.debug(`plugin/cache: serve_stale verify of ${req.question.name} failed: ${(err as Error).message}`);
        return stale();
      });
    }
    return decide(r);
  }

  /** Prefetch / stale refresh: run the chain in the background and store the result. One refresh
   *  per entry at a time (CoreDNS may start several; the extra ones only repeat the same work). */
  private refresh(req: DnsRequest, next: Handler, key: string, e: Entry, now: number, mm: Metrics): void {
    if (e.refreshing) return;
    e.refreshing = true;
    mm.prefetch.inc();
    // CoreDNS refreshes as if the client used TCP so the reply is never truncated.
    const preq: DnsRequest = { ...req, proto: 'tcp' };
    Promise.resolve()
      .then(() => next(preq))
      .then((res) => {
        this.passThrough(preq, res, key, mm, true);
        // Keep the popularity gathered so far on the new entry.
        const fresh = this.denial.peek(key) ?? this.success.peek(key);
        if (fresh && fresh !== e) {
          fresh.hits = e.hits;
          fresh.last = now;
        }
      })
      .catch((err) => this.log.debug(`plugin/cache: refresh of ${req.question.name} failed: ${(err as Error)?.message ?? err}`))
      .finally(() => { e.refreshing = false; });
  }

  /** CoreDNS's ResponseWriter.WriteMsg: classify, maybe store, and (unless prefetching) return the
   *  reply with every TTL set to the computed duration. */
  private passThrough(req: DnsRequest, res: DnsResponse, key: string, mm: Metrics, prefetch: boolean): DnsResponse {
    if (res.drop) return res;
    const q = req.question;
    const kind = classify(res, q.qtype, q.type);
    let duration: number;
    if (kind === 'nxdomain' || kind === 'nodata') duration = clampTtl(minimalTtl(res, kind), this.cfg.denial.minTtl, this.cfg.denial.maxTtl);
    else if (kind === 'servfail') duration = Math.trunc(this.cfg.servfailTtl);
    else duration = clampTtl(minimalTtl(res, kind), this.cfg.success.minTtl, this.cfg.success.maxTtl);

    const storable = !res.tc && kind !== 'other' && kind !== 'meta';
    let stored: Entry | null = null;
    if (storable && duration > 0) {
      const rq = res.question;
      if (!rq || (rq.lname === q.lname && rq.qtype === q.qtype && rq.qclass === q.qclass)) {
        stored = this.store(q.lname, key, res, kind, duration, prefetch, mm);
      } else {
        mm.drops.inc();
      }
    }
    if (prefetch) return res;
    const out: DnsResponse = {
      ...res,
      answers: withTtl(res.answers, duration),
      authorities: withTtl(res.authorities, duration),
      additionals: withTtl(res.additionals, duration),
    };
    // Keep AD only for clients that can use it (DO) or asked for it (RFC 6840 5.7-5.8).
    if (!req.edns?.do && !req.ad) out.ad = false;
    // Stored: later copies count down from the entry. Not stored: the producer's mark stands (the
    // TTL rewrite above is a pure function of its reply).
    if (stored) out.fast = this.reuseHits ? this.markOf(stored) : undefined;
    return out;
  }

  private store(lname: string, key: string, res: DnsResponse, kind: ReplyKind, duration: number, prefetch: boolean, mm: Metrics): Entry | null {
    const positive = kind === 'noerror' || kind === 'delegation';
    const except = positive ? this.cfg.successExcept : this.cfg.denialExcept;
    if (except.length && matchZones(except, lname) !== null) return null;
    const e: Entry = {
      rcode: res.rcode,
      ra: !!res.ra,
      ad: !!res.ad,
      answers: withTtl(res.answers, 0),
      authorities: withTtl(res.authorities, 0),
      additionals: withTtl(res.additionals, 0),
      origTtl: duration,
      stored: this.now(),
      hits: 0,
      last: 0,
      refreshing: false,
      memoTtl: -1,
      memo: null,
      mark: null,
    };
    this.current = mm;
    try {
      if (positive) {
        this.success.set(key, e);
        // A refreshed positive answer replaces an older negative one.
        if (prefetch) this.denial.delete(key);
      } else {
        this.denial.set(key, e);
      }
    } finally {
      this.current = null;
    }
    mm.entriesSuccess.set(this.success.size);
    mm.entriesDenial.set(this.denial.size);
    return e;
  }

  close(): void {
    this.success.clear();
    this.denial.clear();
  }
}
