// HTTP listeners shared by address across server blocks and reloads (health, ready, prometheus):
// a plugin acquires an address, sets its routes, and releases it on close. The socket stays open
// while anyone holds it, so a reload does not drop /health or /metrics.

import http from 'node:http';
import { configErrorAt, type Directive } from '../corefile/types.js';

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Entry {
  server: http.Server;
  routes: Map<string, Route>;
  refs: number;
  listening: Promise<void>;
}

export interface HttpHandle {
  readonly address: string;
  route(path: string, fn: Route): void;
  release(): Promise<void>;
  /** Resolves once the socket is bound; rejects with the bind error. */
  readonly listening: Promise<void>;
}

const entries = new Map<string, Entry>();

/** Split `host:port`, `:port`, `[v6]:port` into listen options; empty host = all interfaces. */
export function parseHostPort(addr: string, defaultPort: number): { host: string; port: number } {
  let host = '';
  let port = defaultPort;
  const m = /^\[([^\]]*)\](?::(\d+))?$/.exec(addr);
  if (m) {
    host = m[1];
    if (m[2]) port = Number(m[2]);
  } else if (addr.includes(':')) {
    const i = addr.lastIndexOf(':');
    host = addr.slice(0, i);
    port = Number(addr.slice(i + 1));
  } else if (addr) {
    host = addr;
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port in address "${addr}"`);
  return { host, port };
}

/** Go's net.SplitHostPort check, which CoreDNS applies to the health, ready and prometheus
 *  addresses: null for HOST:PORT (`:8080`, `127.0.0.1:8080`, `[::1]:8080`), else Go's error text
 *  (`address localhost: missing port in address`). */
export function splitHostPortError(address: string): string | null {
  const err = (why: string) => (address === '' ? why : `address ${address}: ${why}`);
  const i = address.lastIndexOf(':');
  if (i < 0) return err('missing port in address');
  let j = 0;
  let k = 0;
  if (address[0] === '[') {
    const end = address.indexOf(']');
    if (end < 0) return err("missing ']' in address");
    if (end + 1 === address.length) return err('missing port in address');
    if (end + 1 !== i) return err(address[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
    j = 1;
    k = end + 1;
  } else if (address.slice(0, i).includes(':')) {
    return err('too many colons in address');
  }
  if (address.indexOf('[', j) >= 0) return err("unexpected '[' in address");
  if (address.indexOf(']', k) >= 0) return err("unexpected ']' in address");
  return null;
}

/** A listen address as health, ready and prometheus accept it: HOST:PORT (splitHostPortError)
 *  with a port parseHostPort can use. Null when fine, else the error text for the plugin. */
export function checkAddress(address: string): string | null {
  const bad = splitHostPortError(address);
  if (bad) return bad;
  try {
    parseHostPort(address, 0);
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

export function acquireHttp(address: string, defaultPort: number): HttpHandle {
  const { host, port } = parseHostPort(address, defaultPort);
  const key = `${host}:${port}`;
  let e = entries.get(key);
  if (!e) {
    const routes = new Map<string, Route>();
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const fn = routes.get(path);
      if (!fn) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('404 page not found\n');
        return;
      }
      try {
        fn(req, res);
      } catch (err) {
        res.writeHead(500);
        res.end(String(err));
      }
    });
    server.keepAliveTimeout = 5000;
    const listening = new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: host === '' || host === 'localhost' ? (host === 'localhost' ? '127.0.0.1' : undefined) : host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    listening.catch(() => entries.delete(key));
    e = { server, routes, refs: 0, listening };
    entries.set(key, e);
  }
  e.refs++;
  const entry = e;
  let released = false;
  return {
    address: key,
    listening: entry.listening,
    route(path, fn) {
      entry.routes.set(path, fn);
    },
    async release() {
      if (released) return;
      released = true;
      entry.refs--;
      if (entry.refs <= 0) {
        entries.delete(key);
        entry.server.closeAllConnections?.();
        await new Promise<void>((r) => entry.server.close(() => r()));
      }
    },
  };
}

/** The port a shared listener actually bound (for tests using port 0). */
export function boundPort(handle: HttpHandle): number | undefined {
  const e = entries.get(handle.address);
  const a = e?.server.address();
  return a && typeof a === 'object' ? a.port : undefined;
}

/** The optional listen address argument of health, ready and prometheus (`PLUGIN [ADDRESS]`):
 *  at most one argument, validated as Go's net.SplitHostPort would; the default otherwise. */
export function listenAddressArg(d: Directive, plugin: string, defaultAddress: string): string {
  if (d.args.length > 1) throw configErrorAt(d, `plugin/${plugin}: Wrong argument count or unexpected line ending after '${d.args[1]}'`);
  const address = d.args[0] ?? defaultAddress;
  const bad = checkAddress(address);
  if (bad) throw configErrorAt(d.argTokens[0] ?? d, `plugin/${plugin}: ${bad}`);
  return address;
}
