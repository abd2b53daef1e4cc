// DNS over TCP and over TLS to one upstream: length-prefixed messages on a connection that is
// used by one query at a time and then given back to a small idle pool (CoreDNS persistConn):
// taken oldest first, closed once idle for `expire` or older than `max_age`, at most
// `max_idle_conns` kept (0 = no limit).

import net from 'node:net';
import tls from 'node:tls';
import type { ExchangeHooks, ExchangeTarget } from './udp.js';
import { netError, sysErrorText } from './udp.js';

export interface StreamTarget extends ExchangeTarget {
  /** Present for DoT upstreams. */
  tls?: tls.ConnectionOptions;
}

/** A cached connection turned out to be closed by the peer before it answered: retry on a new one. */
export class CachedClosed extends Error {
  constructor() {
    super('cached connection was closed by peer');
  }
}

function endpoint(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class StreamConn {
  readonly created = Date.now();
  used = Date.now();
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private onMessage: ((m: Buffer) => void) | null = null;
  private onFail: ((e: Error) => void) | null = null;
  readonly local: string;

  constructor(private readonly sock: net.Socket, readonly proto: 'tcp' | 'tcp-tls') {
    this.local = endpoint(sock.localAddress ?? '', sock.localPort ?? 0);
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.data(d));
    sock.on('error', (e: NodeJS.ErrnoException) => this.fail(e));
    sock.on('close', () => this.fail(null));
  }

  private data(d: Buffer) {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + len) break;
      const m = this.buf.subarray(2, 2 + len);
      this.buf = this.buf.subarray(2 + len);
      // Messages while nobody waits (nothing asked) are dropped.
      this.onMessage?.(m);
    }
  }

  private fail(e: NodeJS.ErrnoException | null) {
    this.closed = true;
    const f = this.onFail;
    this.onFail = null;
    this.onMessage = null;
    f?.(e ?? new Error('EOF'));
  }

  destroy() {
    this.closed = true;
    this.sock.destroy();
  }

  /** Send `msg`, wait for a message that `accept`s. Rejects with the Go-style error text. */
  exchange(msg: Buffer, accept: (m: Buffer) => boolean, timeoutMs: number, remote: string, cached: boolean, hooks: ExchangeHooks): Promise<Buffer> {
    const proto = 'tcp'; // Go names DoT errors `read tcp ...` as well
    return new Promise((resolve, reject) => {
      if (this.closed) { reject(cached ? new CachedClosed() : new Error('EOF')); return; }
      let done = false;
      let got = false;
      const finish = (err: Error | null, reply?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        untrack();
        this.onMessage = null;
        this.onFail = null;
        if (err) { this.destroy(); reject(err); } else resolve(reply!);
      };
      const untrack = hooks.track((err) => finish(err));
      const timer = setTimeout(() => finish(netError('read', proto, this.local, remote, 'i/o timeout')), timeoutMs);
      this.onMessage = (m) => {
        got = true;
        if (accept(m)) finish(null, Buffer.from(m));
        else hooks.dropped();
      };
      this.onFail = (e: NodeJS.ErrnoException) => {
        // A reused connection the peer closed in the meantime is not the upstream's fault.
        if (cached && !got && (e.message === 'EOF' || e.code === 'ECONNRESET' || e.code === 'EPIPE')) finish(new CachedClosed());
        else finish(netError('read', proto, this.local, remote, e.message === 'EOF' ? 'EOF' : sysErrorText(e)));
      };
      const frame = Buffer.allocUnsafe(2 + msg.length);
      frame.writeUInt16BE(msg.length, 0);
      msg.copy(frame, 2);
      this.sock.write(frame);
    });
  }
}

export function dialStream(t: StreamTarget, timeoutMs: number, hooks: ExchangeHooks): Promise<StreamConn> {
  const remote = endpoint(t.host, t.port);
  const proto = t.tls ? 'tcp-tls' : 'tcp';
  return new Promise((resolve, reject) => {
    const sock = t.tls
      ? tls.connect({ ...t.tls, host: t.host, port: t.port })
      : net.connect({ host: t.host, port: t.port, family: t.family });
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      untrack();
      sock.off('error', onError);
      if (err) { sock.destroy(); reject(err); } else resolve(new StreamConn(sock, proto));
    };
    const untrack = hooks.track((err) => finish(err));
    const timer = setTimeout(() => finish(netError('dial', 'tcp', null, remote, 'i/o timeout')), timeoutMs);
    const onError = (e: NodeJS.ErrnoException) => {
      const what = e.code === 'ECONNREFUSED' ? 'connect: connection refused' : t.tls && !e.syscall ? `tls: ${e.message}` : sysErrorText(e);
      finish(netError('dial', 'tcp', null, remote, what));
    };
    sock.on('error', onError);
    sock.once(t.tls ? 'secureConnect' : 'connect', () => finish(null));
  });
}

export class StreamPool {
  private idle: StreamConn[] = [];
  private sweeper: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: { expireMs: number; maxAgeMs: number; maxIdle: number }) {}

  private stale(c: StreamConn, now: number): boolean {
    return c.closed || now - c.used > this.opts.expireMs || (this.opts.maxAgeMs > 0 && now - c.created > this.opts.maxAgeMs);
  }

  /** An idle connection that is still fresh, or null (a cache miss). */
  take(): StreamConn | null {
    const now = Date.now();
    while (this.idle.length > 0) {
      const c = this.idle.shift()!;
      if (this.stale(c, now)) { c.destroy(); continue; }
      return c;
    }
    return null;
  }

  give(c: StreamConn) {
    c.used = Date.now();
    if (this.stopped || c.closed || this.opts.expireMs === 0 || (this.opts.maxIdle > 0 && this.idle.length >= this.opts.maxIdle)) {
      c.destroy();
      return;
    }
    this.idle.push(c);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(this.opts.expireMs, 100));
      this.sweeper.unref();
    }
  }

  private sweep() {
    const now = Date.now();
    this.idle = this.idle.filter((c) => {
      if (!this.stale(c, now)) return true;
      c.destroy();
      return false;
    });
    if (this.idle.length === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  get size(): number {
    return this.idle.length;
  }

  close() {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const c of this.idle) c.destroy();
    this.idle = [];
  }
}

