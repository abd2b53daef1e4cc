// HTTP listeners shared by address across server blocks and reloads (health, ready, prometheus):
// a plugin acquires an address, sets its routes, and releases it on close. The socket stays open
// while anyone holds it, so a reload does not drop /health or /metrics.

import http from 'node:http';

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
