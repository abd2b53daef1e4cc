#!/usr/bin/env node
// A minimal Kubernetes API stand-in in plain JS for the benchmark: list and watch of services,
// endpoints, pods, namespaces, nodes and discovery.k8s.io/v1 endpointslices (cluster-wide and per
// namespace), the discovery documents client-go asks for (/api, /apis, /version, ...), and watch
// events sent on demand by add/update/remove (that is what the change-to-answer latency measures).
//
// Watch semantics kept from the real server: without resourceVersion (or "0") a watch first sends
// ADDED for every object; from resourceVersion N it replays the events after N (410 Gone as an
// ERROR event when N is older than the kept history); sendInitialEvents=true (watch-list) sends
// ADDED for all, then a BOOKMARK annotated k8s.io/initial-events-end; timeoutSeconds ends it.
// Responses are always JSON, whatever Accept says (client-go decodes by the response type).
//
// CLI:  node bench/mini-apiserver.mjs --file cluster.json [--port P] [--log]

import fs from 'node:fs';
import http from 'node:http';

const RESOURCES = [
  { resource: 'services', group: '', version: 'v1', kind: 'Service', namespaced: true },
  { resource: 'endpoints', group: '', version: 'v1', kind: 'Endpoints', namespaced: true },
  { resource: 'pods', group: '', version: 'v1', kind: 'Pod', namespaced: true },
  { resource: 'namespaces', group: '', version: 'v1', kind: 'Namespace', namespaced: false },
  { resource: 'nodes', group: '', version: 'v1', kind: 'Node', namespaced: false },
  { resource: 'endpointslices', group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', namespaced: true },
];
const BY_KIND = new Map(RESOURCES.map((r) => [r.kind, r]));
const apiVersionOf = (r) => (r.group ? `${r.group}/${r.version}` : r.version);
const HISTORY = 20000;

export class MiniApiServer {
  constructor({ log = false } = {}) {
    this.rv = 1;
    this.log = log;
    this.paths = new Map(); // "METHOD path" -> count (what clients asked for)
    this.store = new Map(RESOURCES.map((r) => [r.resource, new Map()])); // key -> {ns, json}
    this.history = new Map(RESOURCES.map((r) => [r.resource, []])); // [{rv, line}]
    this.watchers = new Set();
    this.sockets = new Set();
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 120_000;
    this.server.on('connection', (s) => {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** Load objects (each with kind) without sending events. */
  load(objects) {
    for (const o of objects) this.put(o, null);
  }

  loadFile(file) {
    const list = JSON.parse(fs.readFileSync(file, 'utf8'));
    this.load(list.items ?? []);
  }

  key(r, o) {
    return r.namespaced ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
  }

  put(o, type) {
    const r = BY_KIND.get(o.kind);
    if (!r) return null;
    const rv = ++this.rv;
    o.apiVersion = apiVersionOf(r);
    o.metadata.resourceVersion = String(rv);
    const json = JSON.stringify(o);
    const k = this.key(r, o);
    const store = this.store.get(r.resource);
    const existed = store.has(k);
    store.set(k, { ns: o.metadata.namespace ?? '', json });
    if (type) this.emit(r, type === 'auto' ? (existed ? 'MODIFIED' : 'ADDED') : type, json, o.metadata.namespace ?? '', rv);
    return rv;
  }

  /** Add or replace an object and send the watch event now. Returns performance.now() before the send. */
  add(o) {
    const t = performance.now();
    this.put(o, 'auto');
    return t;
  }

  update(o) {
    return this.add(o);
  }

  remove(kind, namespace, name) {
    const r = BY_KIND.get(kind);
    const store = this.store.get(r.resource);
    const k = r.namespaced ? `${namespace}/${name}` : name;
    const cur = store.get(k);
    const t = performance.now();
    if (!cur) return t;
    store.delete(k);
    const rv = ++this.rv;
    const o = JSON.parse(cur.json);
    o.metadata.resourceVersion = String(rv);
    this.emit(r, 'DELETED', JSON.stringify(o), cur.ns, rv);
    return t;
  }

  emit(r, type, json, ns, rv) {
    const line = `{"type":"${type}","object":${json}}\n`;
    const h = this.history.get(r.resource);
    h.push({ rv, line, ns });
    if (h.length > HISTORY) h.splice(0, h.length - HISTORY);
    for (const w of this.watchers) {
      if (w.r === r && (!w.ns || w.ns === ns)) w.res.write(line);
    }
  }

  count(resource) {
    return this.store.get(resource).size;
  }

  async start(port = 0, host = '127.0.0.1') {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, resolve);
    });
    this.port = this.server.address().port;
    this.url = `http://${host}:${this.port}`;
    return this;
  }

  close() {
    for (const w of this.watchers) clearTimeout(w.timer);
    this.watchers.clear();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Close every open watch (clients re-watch from their last resourceVersion). */
  cutWatches() {
    for (const w of this.watchers) w.res.end();
  }

  send(res, code, body) {
    const s = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
    res.end(s);
  }

  status(res, code, reason, message) {
    this.send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  }

  handle(req, res) {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const q = Object.fromEntries(url.searchParams);
    const tag = `${req.method} ${p}${q.watch ? ' (watch)' : ''}`;
    this.paths.set(tag, (this.paths.get(tag) ?? 0) + 1);
    if (this.log) process.stderr.write(`mini-apiserver: ${req.method} ${req.url}\n`);
    if (req.method !== 'GET') return this.status(res, 405, 'MethodNotAllowed', 'read-only');
    switch (p) {
      case '/version':
        return this.send(res, 200, {
          major: '1',
          minor: '31',
          gitVersion: 'v1.31.0',
          gitCommit: 'bench',
          gitTreeState: 'clean',
          buildDate: '2024-08-13T00:00:00Z',
          goVersion: 'go1.22.5',
          compiler: 'gc',
          platform: 'linux/amd64',
        });
      case '/healthz':
      case '/livez':
      case '/readyz':
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return res.end('ok');
      case '/api':
        return this.send(res, 200, {
          kind: 'APIVersions',
          versions: ['v1'],
          serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.port}` }],
        });
      case '/apis':
        return this.send(res, 200, {
          kind: 'APIGroupList',
          apiVersion: 'v1',
          groups: [
            {
              name: 'discovery.k8s.io',
              versions: [{ groupVersion: 'discovery.k8s.io/v1', version: 'v1' }],
              preferredVersion: { groupVersion: 'discovery.k8s.io/v1', version: 'v1' },
            },
          ],
        });
      case '/api/v1':
        return this.send(res, 200, this.resourceList('v1', ''));
      case '/apis/discovery.k8s.io/v1':
        return this.send(res, 200, this.resourceList('discovery.k8s.io/v1', 'discovery.k8s.io'));
    }
    // /api/v1[/namespaces/NS]/RES[/NAME] and /apis/G/V[/namespaces/NS]/RES[/NAME]
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/v1)(?:\/namespaces\/([^/]+)(?=\/))?\/([^/]+)(?:\/([^/]+))?$/.exec(p);
    if (!m) return this.status(res, 404, 'NotFound', `the server could not find the requested resource (${p})`);
    const [, group = '', ns = '', resource, name] = m;
    const r = RESOURCES.find((x) => x.resource === resource && x.group === group);
    if (!r) return this.status(res, 404, 'NotFound', `the server could not find the requested resource (${p})`);
    if (name) {
      const o = this.store.get(r.resource).get(r.namespaced ? `${ns}/${name}` : name);
      if (!o) return this.status(res, 404, 'NotFound', `${r.resource} "${name}" not found`);
      return this.send(res, 200, o.json);
    }
    if (q.watch === '1' || q.watch === 'true') return this.watch(req, res, r, ns, q);
    return this.list(res, r, ns);
  }

  resourceList(gv, group) {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: gv,
      resources: RESOURCES.filter((r) => r.group === group).map((r) => ({
        name: r.resource,
        singularName: r.kind.toLowerCase(),
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['get', 'list', 'watch'],
      })),
    };
  }

  list(res, r, ns) {
    const items = [];
    for (const o of this.store.get(r.resource).values()) if (!ns || o.ns === ns) items.push(o.json);
    const head = `{"kind":"${r.kind}List","apiVersion":"${apiVersionOf(r)}","metadata":{"resourceVersion":"${this.rv}"},"items":[`;
    const body = head + items.join(',') + ']}';
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  watch(req, res, r, ns, q) {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    const w = { r, ns, res, timer: null };
    const from = q.resourceVersion ?? '';
    const initial = q.sendInitialEvents === 'true' || from === '' || from === '0';
    if (initial) {
      const lines = [];
      for (const o of this.store.get(r.resource).values()) if (!ns || o.ns === ns) lines.push(`{"type":"ADDED","object":${o.json}}\n`);
      if (lines.length) res.write(lines.join(''));
      if (q.sendInitialEvents === 'true') {
        res.write(
          JSON.stringify({
            type: 'BOOKMARK',
            object: {
              kind: r.kind,
              apiVersion: apiVersionOf(r),
              metadata: { resourceVersion: String(this.rv), annotations: { 'k8s.io/initial-events-end': 'true' } },
            },
          }) + '\n',
        );
      }
    } else {
      const n = Number(from);
      const h = this.history.get(r.resource);
      const floor = h.length ? h[0].rv - 1 : this.rv;
      if (!Number.isFinite(n) || (n < floor && h.length >= HISTORY)) {
        res.end(
          JSON.stringify({
            type: 'ERROR',
            object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from}`, reason: 'Expired', code: 410 },
          }) + '\n',
        );
        return;
      }
      const lines = h.filter((e) => e.rv > n && (!ns || e.ns === ns)).map((e) => e.line);
      if (lines.length) res.write(lines.join(''));
    }
    this.watchers.add(w);
    const t = Number(q.timeoutSeconds);
    if (t > 0) w.timer = setTimeout(() => res.end(), t * 1000);
    const done = () => {
      clearTimeout(w.timer);
      this.watchers.delete(w);
    };
    res.on('close', done);
    req.on('close', done);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opt = (k, d) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : d;
  };
  const s = new MiniApiServer({ log: args.includes('--log') });
  if (opt('--file')) s.loadFile(opt('--file'));
  await s.start(Number(opt('--port', '0')));
  console.log(`mini-apiserver on ${s.url}`);
  const stop = () => s.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
