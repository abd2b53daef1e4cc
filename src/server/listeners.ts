// UDP and TCP sockets for one listen address. They outlive configurations: a reload swaps the
// ListenerGroup they dispatch to, so no query is dropped.

import dgram from 'node:dgram';
import net from 'node:net';
import { dispatch, type DispatchContext, type Transport } from './dispatch.js';

export interface ListenerOptions {
  host: string; // '' = all interfaces
  port: number;
  /** Close a TCP connection after this long without a complete query (CoreDNS/miekg: 8 s). */
  tcpIdleMs?: number;
  /** At most this many TCP connections at once; more are closed on accept. */
  maxTcpConnections?: number;
  /** Most queries one TCP connection may have in flight before reading pauses. */
  maxTcpPipeline?: number;
}

export class Listener {
  udp: dgram.Socket | null = null;
  tcp: net.Server | null = null;
  private conns = new Set<net.Socket>();
  udpPort = 0;
  tcpPort = 0;

  constructor(
    readonly opts: ListenerOptions,
    private readonly ctx: DispatchContext,
  ) {}

  async start(): Promise<void> {
    await this.startUdp();
    await this.startTcp();
  }

  private async startUdp(): Promise<void> {
    const { host } = this.opts;
    const type = host === '' ? 'udp6' : net.isIPv6(host) ? 'udp6' : 'udp4';
    const open = (t: 'udp4' | 'udp6', addr: string | undefined) =>
      new Promise<dgram.Socket>((resolve, reject) => {
        const s = dgram.createSocket({ type: t, reuseAddr: false, ipv6Only: false });
        s.once('error', reject);
        s.bind({ port: this.opts.port, address: addr, exclusive: true }, () => {
          s.off('error', reject);
          resolve(s);
        });
      });
    let sock: dgram.Socket;
    try {
      sock = await open(type, host === '' ? '::' : host);
    } catch (e) {
      if (host !== '') throw e;
      // No IPv6 on this machine: fall back to IPv4 only.
      sock = await open('udp4', '0.0.0.0');
    }
    this.udp = sock;
    this.udpPort = sock.address().port;
    const local = sock.address();
    sock.on('error', (e) => this.ctx.log.error(`udp socket error: ${e.message}`));
    sock.on('message', (msg, rinfo) => {
      const t: Transport = {
        proto: 'udp',
        remoteAddress: rinfo.address,
        remotePort: rinfo.port,
        localAddress: local.address,
        localPort: local.port,
      };
      let out;
      try {
        out = dispatch(this.ctx, msg, t);
      } catch (e) {
        this.ctx.log.error(`udp dispatch: ${(e as Error).stack}`);
        return;
      }
      if (out === null) return;
      if (out instanceof Promise) {
        out.then((b) => b && this.sendUdp(b, rinfo.port, rinfo.address), (e) => this.ctx.log.error(`udp dispatch: ${e}`));
      } else {
        this.sendUdp(out, rinfo.port, rinfo.address);
      }
    });
  }

  private sendUdp(b: Buffer, port: number, address: string) {
    const s = this.udp;
    if (!s) return;
    try {
      s.send(b, port, address);
    } catch {
      // Socket closed during shutdown.
    }
  }

  private async startTcp(): Promise<void> {
    const server = net.createServer({ noDelay: true, pauseOnConnect: false }, (c) => this.onConnection(c));
    server.maxConnections = this.opts.maxTcpConnections ?? 1024;
    const { host } = this.opts;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.opts.port || this.udpPort, host: host === '' ? undefined : host, exclusive: true }, () => {
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
        let out;
        try {
          out = dispatch(this.ctx, msg, t);
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
    const u = this.udp;
    this.udp = null;
    if (u) await new Promise<void>((r) => u.close(() => r()));
    const t = this.tcp;
    this.tcp = null;
    for (const c of this.conns) c.destroy();
    if (t) await new Promise<void>((r) => t.close(() => r()));
  }
}
