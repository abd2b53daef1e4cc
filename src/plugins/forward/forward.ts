// The forward handler (CoreDNS forward.ServeDNS): pick upstreams in policy order, skip the ones
// that are down, try until one answers or the 5 s deadline passes, relay the reply as is.

import type { Handler, Plugin, Result } from '../types.js';
import type { DnsRequest, DnsResponse } from '../../dns/message.js';
import { emptyResponse } from '../../dns/message.js';
import { RCODE } from '../../dns/constants.js';
import { m } from '../../metrics/registry.js';
import type { ForwardConfig } from './config.js';
import { makePolicy, type Policy } from './policy.js';
import { Upstream, CachedClosed, type WireProto } from './upstream.js';
import { TransportStopped } from './udp.js';
import { buildUpstreamQuery } from './wire.js';
import type tls from 'node:tls';

/** One overall deadline per query (CoreDNS defaultTimeout). */
export const DEADLINE_MS = 5000;

/** Pause before another pass over upstreams that all failed. */
const RETRY_PAUSE_MS = 100;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export class NoHealthyProxies extends Error {
  constructor() {
    super('no healthy proxies');
  }
}

export interface ForwardDeps {
  log: { warn(msg: string): void; debug(msg: string): void };
}

function isSubdomain(lname: string, zone: string): boolean {
  if (zone === '.' || lname === zone) return true;
  if (!lname.endsWith(zone)) return false;
  const cut = lname.length - zone.length;
  // A label boundary, not an escaped dot inside a label (`a\.example.org.`).
  return lname[cut - 1] === '.' && lname[cut - 2] !== '\\';
}

export class Forward implements Plugin {
  readonly name = 'forward';
  readonly upstreams: Upstream[];
  /** True when the next plugin in the chain is another forward (`next RCODE` only hands over to
   *  a forward, as in CoreDNS). Set by the setup of that next forward. */
  nextIsForward = false;
  private readonly policy: Policy;
  private inflight = 0;
  private closed = false;

  constructor(readonly cfg: ForwardConfig, deps: ForwardDeps) {
    const tlsOpts: tls.ConnectionOptions = { ...cfg.tls, minVersion: 'TLSv1.2' };
    this.upstreams = cfg.upstreams.map((spec) => new Upstream(spec, {
      expireMs: cfg.expireMs,
      maxAgeMs: cfg.maxAgeMs,
      maxIdleConns: cfg.maxIdleConns,
      tls: spec.tls ? { ...tlsOpts, servername: spec.serverName ?? cfg.tlsServerName } : undefined,
      hcIntervalMs: cfg.hcIntervalMs,
      hcDomain: cfg.hcDomain,
      hcRecursionDesired: cfg.hcRecursionDesired,
      hcTcp: cfg.forceTcp,
      log: deps.log,
    }));
    this.policy = makePolicy(cfg.policy);
  }

  /** CoreDNS match(): under FROM and not under an `except` name (FROM itself always matches). */
  matches(lname: string): boolean {
    const from = this.cfg.from;
    if (!isSubdomain(lname, from)) return false;
    if (lname === from) return true;
    for (const e of this.cfg.except) if (isSubdomain(lname, e)) return false;
    return true;
  }

  handle(req: DnsRequest, next: Handler): Result {
    if (!this.matches(req.question.lname)) return next(req);
    const max = this.cfg.maxConcurrent;
    if (max > 0 && this.inflight >= max) {
      m.forwardMaxConcurrentRejects.inc();
      const r = emptyResponse(RCODE.REFUSED, 'forward');
      r.error = new Error(`concurrent queries exceeded maximum ${max}`);
      return r;
    }
    this.inflight++;
    return this.serve(req, next).finally(() => { this.inflight--; });
  }

  private async serve(req: DnsRequest, next: Handler): Promise<DnsResponse> {
    const cfg = this.cfg;
    const n = this.upstreams.length;
    const list = this.policy.list(this.upstreams);
    const deadline = Date.now() + DEADLINE_MS;
    const query = buildUpstreamQuery(req);
    const q = req.question;
    let i = 0;
    let fails = 0;
    let attempts = 0;
    let failovers = 0;
    let upstreamErr: Error | null = null;

    let passFailed = true;
    while (Date.now() < deadline && !this.closed && (cfg.maxConnectAttempts === 0 || attempts < cfg.maxConnectAttempts)) {
      if (i >= list.length) {
        // End of the list: start over from the first. When every try of the pass failed, pause
        // briefly first: upstreams that refuse at once would otherwise be hammered in a tight
        // loop until the deadline (CoreDNS retries without a pause).
        i = 0;
        fails = 0;
        if (passFailed) await sleep(Math.min(RETRY_PAUSE_MS, deadline - Date.now()));
        passFailed = true;
        continue;
      }
      let up = list[i++];
      if (up.down(cfg.maxFails)) {
        fails++;
        if (fails < n) continue;
        // Every upstream is down: the health checks themselves may be what is broken.
        m.forwardHealthcheckBroken.inc();
        if (cfg.failfast) break;
        up = this.upstreams[Math.floor(Math.random() * n)];
      }

      let proto: WireProto = cfg.forceTcp ? 'tcp' : cfg.preferUdp ? 'udp' : req.proto;
      let res: DnsResponse | null = null;
      let err: Error | null = null;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) { err ??= upstreamErr; break; }
        try {
          res = await up.exchange(query, q, proto, Math.min(cfg.readTimeoutMs, left));
          err = null;
        } catch (e) {
          if (e instanceof CachedClosed) continue; // the peer closed a pooled connection: dial anew
          err = e as Error;
        }
        // prefer_udp: a truncated UDP reply is retried over TCP. Otherwise a truncated reply goes
        // to the client as is, which retries over TCP itself (CoreDNS).
        if (res && res.tc && proto === 'udp' && cfg.preferUdp && !cfg.forceTcp) {
          proto = 'tcp';
          res = null;
          continue;
        }
        break;
      }
      if (err instanceof TransportStopped) {
        upstreamErr = err;
        break;
      }
      if (!res) {
        upstreamErr = err;
        // Find out whether *our* upstream is broken.
        if (cfg.maxFails !== 0) up.healthcheck();
        if (cfg.maxConnectAttempts > 0 && ++attempts >= cfg.maxConnectAttempts) break;
        if (fails < n) continue;
        break;
      }

      passFailed = false;
      if (cfg.failoverRcodes.includes(res.rcode) && fails < n && ++failovers < n) {
        // Once every upstream gave a failover rcode the last reply goes out (CoreDNS would start
        // over with the first upstream until the deadline).
        fails++;
        continue;
      }
      if (this.nextIsForward && cfg.nextRcodes.includes(res.rcode)) return next(req);
      return res;
    }

    const r = emptyResponse(RCODE.SERVFAIL, 'forward');
    r.error = upstreamErr ?? new NoHealthyProxies();
    return r;
  }

  close() {
    this.closed = true;
    for (const u of this.upstreams) u.close();
  }
}
