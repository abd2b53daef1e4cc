// One UDP exchange with an upstream. Every try gets its own socket, so its own random source
// port (CoreDNS reuses UDP sockets; a fresh port per query makes off-path spoofing much harder).
// The socket is connected, so the kernel only hands us datagrams from the upstream address;
// datagrams that are not the reply to our query (wrong ID or question) are dropped and counted,
// and we keep waiting until the read timeout, as CoreDNS's proxy does.

import dgram from 'node:dgram';

export interface ExchangeTarget {
  host: string;
  port: number;
  family: 4 | 6;
}

export interface ExchangeHooks {
  /** Called for every received message that is not accepted. */
  dropped(): void;
  /** Sockets in use, so that closing the plugin can abort them. */
  track(abort: (err: Error) => void): () => void;
}

export class TransportStopped extends Error {
  constructor() {
    super('proxy: transport stopped');
  }
}

function endpoint(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Go-style error text, as CoreDNS logs it: `read udp 127.0.0.1:4242->127.0.0.1:53: i/o timeout`. */
export function netError(op: string, proto: string, local: string | null, remote: string, what: string): Error {
  return new Error(`${op} ${proto} ${local ? `${local}->` : ''}${remote}: ${what}`);
}

export function sysErrorText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': return 'connection reset by peer';
    case 'EHOSTUNREACH': return 'no route to host';
    case 'ENETUNREACH': return 'network is unreachable';
    case 'EPIPE': return 'broken pipe';
    default: return e.message;
  }
}

export function udpExchange(
  t: ExchangeTarget,
  msg: Buffer,
  accept: (reply: Buffer) => boolean,
  timeoutMs: number,
  hooks: ExchangeHooks,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const remote = endpoint(t.host, t.port);
    const sock = dgram.createSocket(t.family === 6 ? 'udp6' : 'udp4');
    let local: string | null = null;
    let done = false;
    const finish = (err: Error | null, reply?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      untrack();
      try { sock.close(); } catch { /* already closed */ }
      if (err) reject(err); else resolve(reply!);
    };
    const untrack = hooks.track((err) => finish(err));
    const timer = setTimeout(() => finish(netError('read', 'udp', local, remote, 'i/o timeout')), timeoutMs);
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const op = local ? 'read' : 'dial';
      finish(netError(op, 'udp', local, remote, op === 'read' ? `read: ${sysErrorText(e)}` : sysErrorText(e)));
    });
    sock.on('message', (m) => {
      if (accept(m)) finish(null, m);
      else hooks.dropped();
    });
    // The callback gets the error when the address cannot be connected to (types say otherwise).
    (sock.connect as (port: number, host: string, cb: (err?: Error) => void) => void)(t.port, t.host, (cerr) => {
      if (done) return;
      if (cerr) {
        finish(netError('dial', 'udp', null, remote, sysErrorText(cerr as NodeJS.ErrnoException)));
        return;
      }
      const a = sock.address();
      local = endpoint(a.address, a.port);
      sock.send(msg, (err) => {
        if (err) finish(netError('write', 'udp', local, remote, sysErrorText(err as NodeJS.ErrnoException)));
      });
    });
  });
}
