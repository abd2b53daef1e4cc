// loop: detects forwarding loops (typically /etc/resolv.conf pointing at a local stub such as
// 127.0.0.53, so forwarded queries come back to us). At start it sends
// `<random>.<random>.<first zone> HINFO` to its own listener; if that exact name passes through
// more than twice, the query is looping: log it and exit with status 1, as CoreDNS does. Once the
// probe is done the plugin steps aside.

import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { configErrorAt } from '../../corefile/types.js';
import type { DnsRequest } from '../../dns/message.js';
import { TYPE } from '../../dns/constants.js';
import { encodeQuery } from '../../dns/wire.js';
import { m } from '../../metrics/registry.js';
import type { Handler, Logger, Plugin, PluginDefinition, Result, SetupContext } from '../types.js';

const PROBE_WINDOW_MS = 30_000;
const PROBE_TIMEOUT_MS = 2000;
const RETRY_AFTER_MS = 1000;
/** After a probe was answered, looping copies may still be on their way. */
const GRACE_MS = 2000;

export interface LoopTarget {
  /** Where the probe goes. */
  host: string;
  port: number;
  /** As CoreDNS prints it in the loop message (`:53` when no `bind`). */
  display: string;
}

export interface LoopDeps {
  log: Logger;
  /** Ends the process; injectable for tests. */
  exit?: (code: number) => void;
  /** null: the real port is not known (port 0), so no probe is sent. */
  target: LoopTarget | null;
  probeWindowMs?: number;
  probeTimeoutMs?: number;
  retryAfterMs?: number;
  graceMs?: number;
}

/** `<n>.<n>.<zone>` with two random non-negative integers, like CoreDNS's rand.Int() labels. */
export function probeName(zone: string): string {
  const n = () => String(randomInt(0, 2 ** 48 - 1));
  return zone === '.' ? `${n()}.${n()}.` : `${n()}.${n()}.${zone}`;
}

/** The block's own address: the first `bind` address (wildcards mean loopback) and its port. */
export function blockTarget(block: SetupContext['block']): LoopTarget | null {
  const port = block.boundPort?.() || block.port || Number(process.env.KDNS_LOOP_PROBE_PORT ?? 0);
  if (!port) return null;
  const bound = block.bind[0] ?? '';
  const host = bound === '' || bound === '0.0.0.0' ? '127.0.0.1' : bound === '::' ? '::1' : bound;
  const display = `${bound.includes(':') ? `[${bound}]` : bound}:${port}`;
  return { host, port, display };
}

export class LoopPlugin implements Plugin {
  readonly name = 'loop';
  /** Only its own random probe name matters, and that is never a reusable reply. */
  readonly fastAware = true;
  readonly qname: string;
  private seen = 0;
  private off = false;
  private closed = false;
  private exited = false;
  private timers = new Set<NodeJS.Timeout>();
  private socket: dgram.Socket | null = null;

  constructor(
    readonly zone: string,
    private readonly deps: LoopDeps,
  ) {
    this.qname = probeName(zone).toLowerCase();
  }

  get disabled(): boolean {
    return this.off;
  }

  handle(req: DnsRequest, next: Handler): Result {
    if (this.off || req.question.qtype !== TYPE.HINFO || req.question.lname !== this.qname) return next(req);
    this.seen++;
    if (this.seen > 2 && !this.exited) {
      this.exited = true;
      const client = `${req.remoteAddress.includes(':') ? `[${req.remoteAddress}]` : req.remoteAddress}:${req.remotePort}`;
      const addr = this.deps.target?.display ?? '';
      this.deps.log.error(
        `plugin/loop: Loop (${client} -> ${addr}) detected for zone "${this.zone}", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO ${this.qname}"`,
      );
      m.loopDetected.inc();
      (this.deps.exit ?? ((c) => process.exit(c)))(1);
    }
    return next(req);
  }

  /** Runs the probe in the background: startup must not wait for it. */
  start(): void {
    void this.probe();
  }

  private async probe(): Promise<void> {
    const target = this.deps.target;
    if (!target) {
      this.off = true;
      return;
    }
    const deadline = Date.now() + (this.deps.probeWindowMs ?? PROBE_WINDOW_MS);
    while (!this.closed && Date.now() < deadline) {
      try {
        await this.exchange(target);
        this.after(this.deps.graceMs ?? GRACE_MS, () => (this.off = true));
        return;
      } catch {
        // No reply in time (a slow or silent upstream behind forward): each try passes through
        // the server once, so count afresh for the next one, as CoreDNS's loop plugin resets.
        this.seen = 0;
        await new Promise<void>((r) => this.after(this.deps.retryAfterMs ?? RETRY_AFTER_MS, r));
      }
    }
    this.off = true;
  }

  private after(ms: number, fn: () => void) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  /** One UDP exchange; resolves on any reply, rejects on error or timeout. */
  private exchange(target: LoopTarget): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
      this.socket = sock;
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.socket = null;
        try {
          sock.close();
        } catch {
          // already closed
        }
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => done(new Error('timeout')), this.deps.probeTimeoutMs ?? PROBE_TIMEOUT_MS);
      timer.unref();
      sock.on('message', () => done());
      sock.on('error', (e) => done(e));
      const msg = encodeQuery(randomInt(0, 65536), { name: this.qname, qtype: TYPE.HINFO });
      sock.send(msg, target.port, target.host, (e) => {
        if (e) done(e);
      });
    });
  }

  close(): void {
    this.closed = true;
    this.off = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
    this.socket = null;
  }
}

export const loop: PluginDefinition = {
  name: 'loop',
  setup(d, ctx): Plugin {
    if (d.args.length || d.block) throw configErrorAt(d, `plugin/loop: this plugin takes no arguments`);
    return new LoopPlugin(ctx.block.zones[0] ?? '.', { log: ctx.log, target: blockTarget(ctx.block) });
  },
};
