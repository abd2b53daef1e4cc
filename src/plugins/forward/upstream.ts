// One upstream (CoreDNS proxy.Proxy): where it is, how to talk to it, its connection pool, its
// health (consecutive failed health checks) and its metric children, labelled once.

import type tls from 'node:tls';
import type { DnsResponse, Question } from '../../dns/message.js';
import { m } from '../../metrics/registry.js';
import type { UpstreamSpec } from './config.js';
import { udpExchange, TransportStopped, type ExchangeHooks } from './udp.js';
import { CachedClosed, dialStream, StreamPool, type StreamConn } from './stream.js';
import { buildProbe, decodeReply, randomId, replyMatches, withId } from './wire.js';

const PROXY_NAME = 'forward';
// miekg/dns RcodeToString, which CoreDNS uses for the `rcode` label (unknown: the number).
const RCODE_LABEL = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const EXT_RCODE_LABEL: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 19: 'BADMODE', 20: 'BADNAME', 21: 'BADALG', 22: 'BADTRUNC', 23: 'BADCOOKIE' };

export function rcodeLabel(rc: number): string {
  return RCODE_LABEL[rc] ?? EXT_RCODE_LABEL[rc] ?? String(rc);
}

/** Health checks use a fixed 1 s timeout (CoreDNS dnsHc). */
const HC_TIMEOUT_MS = 1000;

export interface UpstreamOptions {
  expireMs: number;
  maxAgeMs: number;
  maxIdleConns: number;
  tls?: tls.ConnectionOptions;
  hcIntervalMs: number;
  hcDomain: string;
  hcRecursionDesired: boolean;
  /** Health checks over TCP (force_tcp); DoT upstreams are always checked over TLS. */
  hcTcp: boolean;
  log: { warn(msg: string): void; debug(msg: string): void };
}

export type WireProto = 'udp' | 'tcp';

interface RcodeMetrics {
  proxyDuration: { observe(v: number): void };
  responses: { inc(): void };
  duration: { observe(v: number): void };
}

export class Upstream {
  readonly addr: string;
  /** Consecutive failed health checks. */
  fails = 0;
  /** Replies dropped because their ID or question did not match (spoofed, late or broken). */
  dropped = 0;
  private readonly pool: StreamPool;
  private readonly aborts = new Set<(err: Error) => void>();
  private readonly hooks: ExchangeHooks;
  private probing = false;
  private probeTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly requests: { inc(): void };
  private readonly byRcode = new Map<number, RcodeMetrics>();
  private readonly connHit: Record<string, { inc(): void }>;
  private readonly connMiss: Record<string, { inc(): void }>;
  private readonly hcFail: { inc(): void }[];

  constructor(readonly spec: UpstreamSpec, private readonly opts: UpstreamOptions) {
    this.addr = spec.addr;
    this.pool = new StreamPool({ expireMs: opts.expireMs, maxAgeMs: opts.maxAgeMs, maxIdle: opts.maxIdleConns });
    this.hooks = {
      dropped: () => { this.dropped++; },
      track: (abort) => {
        this.aborts.add(abort);
        return () => this.aborts.delete(abort);
      },
    };
    this.requests = m.forwardRequests.labels({ to: this.addr });
    const proto = spec.tls ? 'tcp-tls' : 'tcp';
    this.connHit = { [proto]: m.proxyConnCacheHits.labels({ proxy_name: PROXY_NAME, to: this.addr, proto }) };
    this.connMiss = { [proto]: m.proxyConnCacheMisses.labels({ proxy_name: PROXY_NAME, to: this.addr, proto }) };
    this.hcFail = [
      m.proxyHealthcheckFailures.labels({ proxy_name: PROXY_NAME, to: this.addr }),
      m.forwardHealthcheckFailures.labels({ to: this.addr }),
    ];
  }

  /** CoreDNS Down(): never with max_fails 0. */
  down(maxFails: number): boolean {
    return maxFails !== 0 && this.fails >= maxFails;
  }

  private rcodeMetrics(rc: number): RcodeMetrics {
    let r = this.byRcode.get(rc);
    if (!r) {
      const rcode = rcodeLabel(rc);
      r = {
        proxyDuration: m.proxyRequestDuration.labels({ proxy_name: PROXY_NAME, to: this.addr, rcode }),
        responses: m.forwardResponses.labels({ to: this.addr, rcode }),
        duration: m.forwardRequestDuration.labels({ to: this.addr, rcode }),
      };
      this.byRcode.set(rc, r);
    }
    return r;
  }

  /**
   * Send `base` (a query with ID 0) with a fresh ID, wait for its reply and decode it. `proto` is
   * ignored for DoT upstreams (always TLS). Rejects with a network error or a malformed reply
   * (the upstream failed), CachedClosed (retry) or TransportStopped (plugin closed).
   */
  async exchange(base: Buffer, q: Pick<Question, 'lname' | 'qtype' | 'qclass'>, proto: WireProto, timeoutMs: number): Promise<DnsResponse> {
    if (this.stopped) throw new TransportStopped();
    const start = process.hrtime.bigint();
    this.requests.inc();
    const id = randomId();
    const msg = withId(base, id);
    const accept = (r: Buffer) => replyMatches(r, id, q);
    let reply: Buffer;
    if (proto === 'udp' && !this.spec.tls) {
      reply = await udpExchange(this.spec, msg, accept, timeoutMs, this.hooks);
    } else {
      reply = await this.streamExchange(msg, accept, timeoutMs);
    }
    // A reply that cannot be decoded is an upstream error, as a failed unpack is in CoreDNS.
    const res = decodeReply(reply);
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const r = this.rcodeMetrics(res.rcode);
    r.proxyDuration.observe(secs);
    r.responses.inc();
    r.duration.observe(secs);
    return res;
  }

  private async streamExchange(msg: Buffer, accept: (r: Buffer) => boolean, timeoutMs: number): Promise<Buffer> {
    const proto = this.spec.tls ? 'tcp-tls' : 'tcp';
    const started = Date.now();
    let conn: StreamConn | null = this.pool.take();
    const cached = conn !== null;
    if (conn) this.connHit[proto].inc();
    else {
      this.connMiss[proto].inc();
      conn = await dialStream({ ...this.spec, tls: this.spec.tls ? this.opts.tls : undefined }, timeoutMs, this.hooks);
    }
    const left = Math.max(1, timeoutMs - (Date.now() - started));
    const reply = await conn.exchange(msg, accept, left, this.addr, cached, this.hooks);
    this.pool.give(conn);
    return reply;
  }

  /** After a failed exchange: probe `<domain> NS` every interval until a reply comes (CoreDNS
   *  up.Probe); each failed probe counts towards max_fails, a reply resets the count. */
  healthcheck() {
    if (this.probing || this.stopped || this.opts.hcIntervalMs <= 0) return;
    this.probing = true;
    const probe = buildProbe(this.opts.hcDomain, this.opts.hcRecursionDesired);
    const q = { lname: this.opts.hcDomain, qtype: 2, qclass: 1 };
    const proto: WireProto = this.opts.hcTcp ? 'tcp' : 'udp';
    const run = () => {
      this.probeTimer = null;
      if (this.stopped) return;
      this.probeOnce(probe, q, proto).then((ok) => {
        if (this.stopped) return;
        if (ok) {
          this.fails = 0;
          this.probing = false;
          return;
        }
        this.fails++;
        for (const c of this.hcFail) c.inc();
        this.probeTimer = setTimeout(run, this.opts.hcIntervalMs);
        this.probeTimer.unref();
      });
    };
    run();
  }

  private async probeOnce(probe: Buffer, q: Pick<Question, 'lname' | 'qtype' | 'qclass'>, proto: WireProto): Promise<boolean> {
    const id = randomId();
    const msg = withId(probe, id);
    const accept = (r: Buffer) => replyMatches(r, id, q);
    try {
      if (proto === 'udp' && !this.spec.tls) {
        await udpExchange(this.spec, msg, accept, HC_TIMEOUT_MS, this.hooks);
      } else {
        // Like miekg's dns.Client: a connection of its own for each check.
        const conn = await dialStream({ ...this.spec, tls: this.spec.tls ? this.opts.tls : undefined }, HC_TIMEOUT_MS, this.hooks);
        try {
          await conn.exchange(msg, accept, HC_TIMEOUT_MS, this.addr, false, this.hooks);
        } finally {
          conn.destroy();
        }
      }
      return true;
    } catch (e) {
      this.opts.log.debug(`plugin/forward: health check of ${this.addr} failed: ${(e as Error).message}`);
      return false;
    }
  }

  /** Number of idle pooled connections (tests, debugging). */
  get idleConns(): number {
    return this.pool.size;
  }

  close() {
    this.stopped = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.pool.close();
    const err = new TransportStopped();
    for (const abort of [...this.aborts]) abort(err);
    this.aborts.clear();
  }
}

export { CachedClosed };
