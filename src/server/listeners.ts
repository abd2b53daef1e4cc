// UDP and TCP sockets for one listen address. They outlive configurations: a reload swaps the
// ListenerGroup they dispatch to, so no query is dropped.

import dgram from 'node:dgram';
import net from 'node:net';
import { dispatch, type DispatchContext, type Transport } from './dispatch.js';
import { quickQuery } from './fastpath.js';

export interface ListenerOptions {
  host: string; // '' = all interfaces
  port: number;
  /** Close a TCP connection after this long without a complete query (CoreDNS/miekg: 8 s). */
  tcpIdleMs?: number;
  /** At most this many TCP connections at once; more are closed on accept. */
  maxTcpConnections?: number;
  /** Most queries one TCP connection may have in flight before reading pauses. */
  maxTcpPipeline?: number;
  /** Bind the sockets ourselves (default). false in `-workers` mode: a cluster worker's binds
   *  then go through the primary, so every worker serves one shared UDP socket and the primary
   *  hands out TCP connections. */
  exclusive?: boolean;
}

/** SO_REUSEPORT for dgram sockets arrived in Node 22.12 / 23.1 (the image runs Node 24). */
export const UDP_REUSEPORT = (() => {
  const [maj, min] = process.versions.node.split('.').map(Number);
  return maj > 23 || (maj === 23 && min >= 1) || (maj === 22 && min >= 12);
})();

export class Listener {
  udp: dgram.Socket[] = [];
  tcp: net.Server | null = null;
  private conns = new Set<net.Socket>();
  udpPort = 0;
  tcpPort = 0;

  constructor(
    readonly opts: ListenerOptions,
    private readonly ctx: DispatchContext,
  ) {}

  async start(): Promise<void> {
    // Port 0 (tests): UDP picks a free port and TCP must get the same number, which another
    // program may hold for TCP; then try again with another port.
    for (let attempt = 0; ; attempt++) {
      await this.startUdp();
      try {
        await this.startTcp();
        return;
      } catch (e) {
        if (this.opts.port !== 0 || attempt >= 20 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
        const socks = this.udp;
        this.udp = [];
        for (const u of socks) await new Promise<void>((r) => u.close(() => r()));
      }
    }
  }

  private async startUdp(): Promise<void> {
    const { host } = this.opts;
    const open = (t: 'udp4' | 'udp6', addr: string, port: number) =>
      new Promise<dgram.Socket>((resolve, reject) => {
        // All interfaces: one IPv4 and one IPv6-only socket rather than one dual-stack socket, so
        // IPv4 clients are plain a.b.c.d addresses (Node validates the address on every send, and
        // the IPv4 check is far cheaper than the IPv6 one for ::ffff:a.b.c.d).
        // In -workers mode on a Node with SO_REUSEPORT, each worker binds its own UDP socket and the
        // kernel spreads datagrams over them; a socket shared through the cluster primary wakes one
        // worker for nearly every datagram. Port 0 (tests) must stay shared to get one port.
        const own = this.opts.exclusive === false && UDP_REUSEPORT && port !== 0;
        // Replies only ever go to the address a query came from, an IP literal: hand it back at once
        // instead of dgram's default dns.lookup (an address regex and a nextTick per datagram).
        const family = t === 'udp6' ? 6 : 4;
        const lookup = (address: string, _o: unknown, cb: (err: null, address: string, family: number) => void) => cb(null, address, family);
        const s = dgram.createSocket({ type: t, reuseAddr: false, ipv6Only: t === 'udp6' && host === '', lookup, ...(own ? { reusePort: true } : {}) } as dgram.SocketOptions);
        s.once('error', reject);
        s.bind({ port, address: addr, exclusive: own ? true : (this.opts.exclusive ?? true) }, () => {
          s.off('error', reject);
          resolve(s);
        });
      });
    if (host !== '') {
      this.serveUdp(await open(net.isIPv6(host) ? 'udp6' : 'udp4', host, this.opts.port));
    } else {
      const v4 = await open('udp4', '0.0.0.0', this.opts.port);
      this.serveUdp(v4);
      try {
        this.serveUdp(await open('udp6', '::', v4.address().port));
      } catch {
        // No IPv6 on this machine (or the port is taken there): serve IPv4 only.
      }
    }
    this.udpPort = this.udp[0].address().port;
  }

  private serveUdp(sock: dgram.Socket) {
    this.udp.push(sock);
    const local = sock.address();
    const v6 = local.family === 'IPv6';
    const send = (b: Buffer, port: number, address: string) => {
      try {
        sock.send(b, port, address);
      } catch {
        // Socket closed during shutdown.
      }
    };
    sock.on('error', (e) => this.ctx.log.error(`udp socket error: ${e.message}`));
    sock.on('message', (msg, rinfo) => {
      const fq = quickQuery(msg, false, v6 && !rinfo.address.startsWith('::ffff:'));
      if (fq) {
        const hit = this.ctx.group()?.fast.serve(msg, fq, fq.udpSize > 512 ? fq.udpSize : 512, performance.now());
        if (hit) {
          send(hit, rinfo.port, rinfo.address);
          return;
        }
      }
      const t: Transport = {
        proto: 'udp',
        remoteAddress: rinfo.address,
        remotePort: rinfo.port,
        localAddress: local.address,
        localPort: local.port,
      };
      let out;
      try {
        out = dispatch(this.ctx, msg, t, fq);
      } catch (e) {
        this.ctx.log.error(`udp dispatch: ${(e as Error).stack}`);
        return;
      }
      if (out === null) return;
      if (out instanceof Promise) {
        out.then((b) => b && send(b, rinfo.port, rinfo.address), (e) => this.ctx.log.error(`udp dispatch: ${e}`));
      } else {
        send(out, rinfo.port, rinfo.address);
      }
    });
  }

  private async startTcp(): Promise<void> {
    const server = net.createServer({ noDelay: true, pauseOnConnect: false }, (c) => this.onConnection(c));
    server.maxConnections = this.opts.maxTcpConnections ?? 1024;
    const { host } = this.opts;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.opts.port || this.udpPort, host: host === '' ? undefined : host, exclusive: this.opts.exclusive ?? true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.ctx.log.error(`tcp server error: ${e.message}`));
    this.tcp = server;
    this.tcpPort = (server.address() as net.AddressInfo).port;
  }

  private onConnection(c: net.Socket) {
    this.conns.add(c);
    const idle = this.opts.tcpIdleMs ?? 8000;
    const maxPipe = this.opts.maxTcpPipeline ?? 128;
    c.setTimeout(idle, () => c.destroy());
    let buf: Buffer = Buffer.alloc(0);
    let inflight = 0;
    const t: Transport = {
      proto: 'tcp',
      remoteAddress: c.remoteAddress ?? '',
      remotePort: c.remotePort ?? 0,
      localAddress: c.localAddress ?? '',
      localPort: c.localPort ?? 0,
    };
    const v6 = (c.remoteAddress ?? '').includes(':') && !(c.remoteAddress ?? '').startsWith('::ffff:');
    const write = (b: Buffer | null) => {
      if (!b || c.destroyed) return;
      const len = Buffer.allocUnsafe(2);
      len.writeUInt16BE(b.length, 0);
      c.write(Buffer.concat([len, b]));
    };
    c.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const msg = Buffer.from(buf.subarray(2, 2 + n));
        buf = buf.subarray(2 + n);
        const fq = quickQuery(msg, true, v6);
        if (fq) {
          const hit = this.ctx.group()?.fast.serve(msg, fq, 65535, performance.now());
          if (hit) {
            write(hit);
            continue;
          }
        }
        let out;
        try {
          out = dispatch(this.ctx, msg, t, fq);
        } catch (e) {
          this.ctx.log.error(`tcp dispatch: ${(e as Error).stack}`);
          continue;
        }
        if (out instanceof Promise) {
          inflight++;
          if (inflight >= maxPipe) c.pause();
          out.then(
            (b) => write(b),
            (e) => this.ctx.log.error(`tcp dispatch: ${e}`),
          ).finally(() => {
            inflight--;
            if (c.isPaused() && inflight < maxPipe) c.resume();
          });
        } else {
          write(out);
        }
      }
    });
    c.on('error', () => c.destroy());
    c.on('close', () => this.conns.delete(c));
  }

  async close(): Promise<void> {
    const socks = this.udp;
    this.udp = [];
    for (const u of socks) await new Promise<void>((r) => u.close(() => r()));
    const t = this.tcp;
    this.tcp = null;
    for (const c of this.conns) c.destroy();
    if (t) await new Promise<void>((r) => t.close(() => r()));
  }
}
