// A Kubernetes API test double on 127.0.0.1: lists (with limit/continue), watches (chunked JSON
// lines: ADDED/MODIFIED/DELETED/BOOKMARK/ERROR), label selectors, increasing resourceVersions and
// 410 Gone after compaction, for core/v1 services, endpoints, pods, namespaces, nodes and
// discovery.k8s.io/v1 endpointslices. Tests drive it with add/update/delete and fault switches
// (cutWatches, expireResourceVersion, setDown, disableEndpointSlices).
//
// Behaviour mirrors the real API server where the informer depends on it:
// - list items carry no kind/apiVersion (typed lists); watch event objects do;
// - watch without resourceVersion or with "0" first sends ADDED for every current object;
// - watch from a compacted resourceVersion: HTTP 200 and one ERROR event with a 410 Status
//   (`goneAs: 'http'` answers HTTP 410 instead);
// - a MODIFIED object that enters/leaves a watch's label selector is sent as ADDED/DELETED;
// - field selectors `a.b=v`, `a.b==v`, `a.b!=v` (comma = and) on any dotted path, as CoreDNS's pod
//   watch (`status.phase!=Succeeded,...`) uses them; same enter/leave rule as labels;
// - list with resourceVersion "0" ignores limit (served from the watch cache);
// - an expired continue token (or an exact-RV list of a compacted RV) is 410 Expired.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { matchesSelector, parseSelector, SelectorError, type LabelSelector } from '../src/informer/selector.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KObject = Record<string, any>;

interface ResourceDef {
  resource: string;
  group: string; // '' = core
  version: string;
  kind: string;
  namespaced: boolean;
}

const RESOURCES: ResourceDef[] = [
  { resource: 'services', group: '', version: 'v1', kind: 'Service', namespaced: true },
  { resource: 'endpoints', group: '', version: 'v1', kind: 'Endpoints', namespaced: true },
  { resource: 'pods', group: '', version: 'v1', kind: 'Pod', namespaced: true },
  { resource: 'namespaces', group: '', version: 'v1', kind: 'Namespace', namespaced: false },
  { resource: 'nodes', group: '', version: 'v1', kind: 'Node', namespaced: false },
  { resource: 'endpointslices', group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', namespaced: true },
];
const BY_KIND = new Map(RESOURCES.map((r) => [r.kind, r]));
const BY_RESOURCE = new Map(RESOURCES.map((r) => [`${r.group}/${r.resource}`, r]));

function apiVersionOf(r: ResourceDef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

export interface FakeApiServerOptions {
  /** Initial objects (each with `kind`). */
  objects?: KObject[];
  /** A v1 List (JSON) to load initially, like /work/shared/conformance/cluster.json. */
  listFile?: string;
  /** Alias of listFile. */
  file?: string;
  /** How a watch from a compacted resourceVersion fails: an ERROR event (default, as the watch
   *  cache does) or a plain HTTP 410. */
  goneAs?: 'event' | 'http';
  /** Serve https with this certificate (PEM); with `ca` client certificates signed by it are
   *  required (as an API server with client-cert auth). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /** Send a BOOKMARK to bookmark-enabled watches this often (0 = only on `bookmark()`). */
  bookmarkIntervalMs?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The Authorization header, if any. */
  authorization?: string;
  /** CN of the verified client certificate (https with `tls.ca`). */
  clientCN?: string;
}

export interface FakeApiCounters {
  requests: number;
  /** Per resource (`services`, `endpointslices`, ...). */
  lists: Record<string, number>;
  watches: Record<string, number>;
  /** 410 answers (HTTP or ERROR event). */
  gone: number;
  /** Connections refused while down. */
  refused: number;
}

export interface FakeApiServer {
  url: string;
  port: number;
  /** Current resourceVersion (the last one issued). */
  readonly resourceVersion: number;
  readonly counters: FakeApiCounters;
  readonly requests: RequestRecord[];
  add(obj: KObject): KObject;
  update(obj: KObject): KObject;
  /** add or update. */
  apply(obj: KObject): KObject;
  delete(ref: { kind: string; metadata?: { name?: string; namespace?: string }; name?: string; namespace?: string }): KObject | undefined;
  get(kind: string, name: string, namespace?: string): KObject | undefined;
  /** End every open watch stream (cleanly, as an API server restart or timeout would). */
  cutWatches(): void;
  /** Compact: every resourceVersion issued so far becomes too old (watches from it get 410).
   *  `notifyOpenWatches` also sends open watches an ERROR 410 and ends them. */
  expireResourceVersion(opts?: { notifyOpenWatches?: boolean }): void;
  /** Down: open connections are destroyed, new ones are reset at once. */
  setDown(down: boolean): void;
  /** 404 for discovery.k8s.io (as an API server without EndpointSlices). */
  disableEndpointSlices(disabled?: boolean): void;
  /** Send a BOOKMARK now to every watch that allowed them. */
  bookmark(): void;
  openWatches(): number;
  close(): Promise<void>;
}

interface LogEntry {
  rv: number;
  def: ResourceDef;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: KObject;
  old?: KObject;
}

/** One `path op value` term of a field selector. */
interface FieldTerm {
  path: string[];
  op: '=' | '!=';
  value: string;
}

function parseFieldSelector(text: string): FieldTerm[] {
  return text.split(',').filter(Boolean).map((t) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(t.trim());
    if (!m) throw new SelectorError(`invalid field selector: ${t}`);
    return { path: m[1]!.trim().split('.'), op: m[2] === '!=' ? '!=' : '=', value: m[3]!.trim() };
  });
}

function matchesFields(terms: FieldTerm[], o: KObject): boolean {
  return terms.every((t) => {
    let v: unknown = o;
    for (const k of t.path) v = v && typeof v === 'object' ? (v as KObject)[k] : undefined;
    const s = v === undefined || v === null ? '' : String(v);
    return t.op === '=' ? s === t.value : s !== t.value;
  });
}

interface Watcher {
  def: ResourceDef;
  namespace: string | null;
  selector: LabelSelector;
  fields: FieldTerm[];
  bookmarks: boolean;
  res: http.ServerResponse;
  timer?: NodeJS.Timeout;
}

function clone<T>(o: T): T {
  return JSON.parse(JSON.stringify(o));
}

function status(code: number, reason: string, message: string): KObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function keyOf(def: ResourceDef, obj: KObject): string {
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || !name) throw new Error(`${def.kind} without metadata.name`);
  return def.namespaced ? `${obj.metadata.namespace ?? 'default'}/${name}` : name;
}

class FakeApi implements FakeApiServer {
  url = '';
  port = 0;
  readonly counters: FakeApiCounters = { requests: 0, lists: {}, watches: {}, gone: 0, refused: 0 };
  readonly requests: RequestRecord[] = [];
  private rv = 1000;
  /** Watches and lists with a resourceVersion below this get 410. */
  private minRV = 0;
  private readonly objects = new Map<ResourceDef, Map<string, KObject>>(RESOURCES.map((r) => [r, new Map()]));
  private log: LogEntry[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private down = false;
  private slicesDisabled = false;
  private uidSeq = 0;
  private bookmarkTimer?: NodeJS.Timeout;
  private readonly server: http.Server | https.Server;

  constructor(private readonly opts: FakeApiServerOptions) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res);
    this.server = opts.tls
      ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, ...(opts.tls.ca ? { ca: opts.tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, handler)
      : http.createServer(handler);
    this.server.on('connection', (s) => {
      if (this.down) {
        this.counters.refused++;
        s.destroy();
        return;
      }
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    const listFile = opts.listFile ?? opts.file;
    if (listFile) {
      const list = JSON.parse(fs.readFileSync(listFile, 'utf8'));
      for (const o of list.items ?? []) this.add(o);
    }
    for (const o of opts.objects ?? []) this.add(o);
    if (opts.bookmarkIntervalMs) {
      this.bookmarkTimer = setInterval(() => this.bookmark(), opts.bookmarkIntervalMs);
      this.bookmarkTimer.unref();
    }
  }

  get resourceVersion(): number {
    return this.rv;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  // ---- control ----

  private defOf(kind: string): ResourceDef {
    const def = BY_KIND.get(kind);
    if (!def) throw new Error(`fake API: unsupported kind '${kind}'`);
    return def;
  }

  add(obj: KObject): KObject {
    const def = this.defOf(obj.kind);
    const key = keyOf(def, obj);
    if (this.objects.get(def)!.has(key)) throw new Error(`fake API: ${def.kind} ${key} exists`);
    const o = clone(obj);
    o.apiVersion = apiVersionOf(def);
    o.metadata ??= {};
    if (def.namespaced) o.metadata.namespace ??= 'default';
    o.metadata.uid ??= `00000000-0000-4000-8000-${String(++this.uidSeq).padStart(12, '0')}`;
    o.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return this.commit(def, key, 'ADDED', o, undefined);
  }

  update(obj: KObject): KObject {
    const def = this.defOf(obj.kind);
    const key = keyOf(def, obj);
    const old = this.objects.get(def)!.get(key);
    if (!old) throw new Error(`fake API: ${def.kind} ${key} not found`);
    const o = clone(obj);
    o.apiVersion = apiVersionOf(def);
    if (def.namespaced) o.metadata.namespace ??= 'default';
    o.metadata.uid = old.metadata.uid;
    o.metadata.creationTimestamp = old.metadata.creationTimestamp;
    return this.commit(def, key, 'MODIFIED', o, old);
  }

  apply(obj: KObject): KObject {
    const def = this.defOf(obj.kind);
    return this.objects.get(def)!.has(keyOf(def, obj)) ? this.update(obj) : this.add(obj);
  }

  delete(ref: { kind: string; metadata?: { name?: string; namespace?: string }; name?: string; namespace?: string }): KObject | undefined {
    const def = this.defOf(ref.kind);
    const name = ref.metadata?.name ?? ref.name;
    const namespace = ref.metadata?.namespace ?? ref.namespace ?? 'default';
    const key = def.namespaced ? `${namespace}/${name}` : String(name);
    const old = this.objects.get(def)!.get(key);
    if (!old) return undefined;
    const o = clone(old);
    return this.commit(def, key, 'DELETED', o, old);
  }

  get(kind: string, name: string, namespace = 'default'): KObject | undefined {
    const def = this.defOf(kind);
    const o = this.objects.get(def)!.get(def.namespaced ? `${namespace}/${name}` : name);
    return o && clone(o);
  }

  private commit(def: ResourceDef, key: string, type: LogEntry['type'], o: KObject, old: KObject | undefined): KObject {
    o.metadata.resourceVersion = String(++this.rv);
    if (type === 'DELETED') this.objects.get(def)!.delete(key);
    else this.objects.get(def)!.set(key, o);
    const entry: LogEntry = { rv: this.rv, def, type, obj: o, ...(old ? { old } : {}) };
    this.log.push(entry);
    for (const w of this.watchers) if (w.def === def) this.deliver(w, entry);
    return clone(o);
  }

  cutWatches(): void {
    for (const w of [...this.watchers]) this.endWatch(w);
  }

  expireResourceVersion(opts: { notifyOpenWatches?: boolean } = {}): void {
    // A fresh resourceVersion marks the compaction point, so a list made afterwards returns a
    // resourceVersion that is still watchable.
    this.minRV = ++this.rv;
    this.log = [];
    if (opts.notifyOpenWatches) {
      for (const w of [...this.watchers]) {
        this.counters.gone++;
        this.write(w, { type: 'ERROR', object: status(410, 'Expired', 'too old resource version') });
        this.endWatch(w);
      }
    }
  }

  setDown(down: boolean): void {
    this.down = down;
    if (down) {
      for (const w of [...this.watchers]) this.dropWatch(w);
      for (const s of this.sockets) s.destroy();
    }
  }

  disableEndpointSlices(disabled = true): void {
    this.slicesDisabled = disabled;
    if (disabled) for (const w of [...this.watchers]) if (w.def.group === 'discovery.k8s.io') this.endWatch(w);
  }

  bookmark(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      this.write(w, {
        type: 'BOOKMARK',
        object: { kind: w.def.kind, apiVersion: apiVersionOf(w.def), metadata: { resourceVersion: String(this.rv) } },
      });
    }
  }

  openWatches(): number {
    return this.watchers.size;
  }

  async close(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    for (const w of [...this.watchers]) this.dropWatch(w);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- HTTP ----

  private json(res: http.ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    this.counters.requests++;
    const rec: RequestRecord = { method: req.method ?? 'GET', path: url.pathname, query };
    if (req.headers.authorization) rec.authorization = req.headers.authorization;
    const tls = req.socket as TLSSocket;
    if (typeof tls.getPeerCertificate === 'function' && tls.authorized) {
      const cn = tls.getPeerCertificate()?.subject?.CN;
      if (typeof cn === 'string') rec.clientCN = cn;
    }
    this.requests.push(rec);
    if (req.method !== 'GET') return this.json(res, 405, status(405, 'MethodNotAllowed', 'read-only test double'));
    const parts = url.pathname.split('/').filter(Boolean);
    const p = url.pathname.replace(/\/+$/, '');

    if (p === '/version') {
      return this.json(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0-fake', platform: 'linux/amd64' });
    }
    if (p === '/api') return this.json(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (p === '/apis') {
      const groups = this.slicesDisabled
        ? []
        : [{ name: 'discovery.k8s.io', versions: [{ groupVersion: 'discovery.k8s.io/v1', version: 'v1' }], preferredVersion: { groupVersion: 'discovery.k8s.io/v1', version: 'v1' } }];
      return this.json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    if (p === '/api/v1' || p === '/apis/discovery.k8s.io/v1') {
      const group = p === '/api/v1' ? '' : 'discovery.k8s.io';
      if (group && this.slicesDisabled) return this.notFound(res);
      return this.json(res, 200, {
        kind: 'APIResourceList',
        groupVersion: group ? `${group}/v1` : 'v1',
        resources: RESOURCES.filter((r) => r.group === group).map((r) => ({
          name: r.resource,
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['get', 'list', 'watch'],
        })),
      });
    }

    // /api/v1/... or /apis/<group>/v1/...
    let group: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') {
      group = '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 3 && parts[2] === 'v1') {
      group = parts[1]!;
      rest = parts.slice(3);
      if (group === 'discovery.k8s.io' && this.slicesDisabled) return this.notFound(res);
    } else {
      return this.notFound(res);
    }
    let namespace: string | null = null;
    let resource: string;
    let name: string | null = null;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1]!;
      resource = rest[2]!;
      name = rest[3] ?? null;
      if (rest.length > 4) return this.notFound(res);
    } else {
      resource = rest[0] ?? '';
      name = rest[1] ?? null;
      if (rest.length > 2) return this.notFound(res);
    }
    const def = BY_RESOURCE.get(`${group}/${resource}`);
    if (!def || (namespace !== null && !def.namespaced)) return this.notFound(res);

    if (name !== null) {
      const o = this.objects.get(def)!.get(def.namespaced ? `${namespace ?? ''}/${name}` : name);
      if (!o) return this.json(res, 404, status(404, 'NotFound', `${def.resource} "${name}" not found`));
      return this.json(res, 200, o);
    }

    let selector: LabelSelector;
    let fields: FieldTerm[];
    try {
      selector = parseSelector(query.labelSelector ?? '');
      fields = parseFieldSelector(query.fieldSelector ?? '');
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e;
      return this.json(res, 400, status(400, 'BadRequest', `unable to parse requirement: ${e.message}`));
    }
    const watch = query.watch === '1' || query.watch === 'true';
    if (watch) return this.startWatch(def, namespace, selector, fields, query, res);
    return this.list(def, namespace, selector, fields, query, res);
  }

  private notFound(res: http.ServerResponse): void {
    this.json(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }

  private matches(w: { namespace: string | null; selector: LabelSelector; fields: FieldTerm[] }, o: KObject | undefined): boolean {
    if (!o) return false;
    if (w.namespace !== null && o.metadata?.namespace !== w.namespace) return false;
    return matchesSelector(w.selector, o.metadata?.labels) && matchesFields(w.fields, o);
  }

  private list(def: ResourceDef, namespace: string | null, selector: LabelSelector, fields: FieldTerm[], q: Record<string, string>, res: http.ServerResponse): void {
    this.counters.lists[def.resource] = (this.counters.lists[def.resource] ?? 0) + 1;
    const limit = q.limit ? Number(q.limit) : 0;
    let after = '';
    let listRV = this.rv;
    if (q.continue) {
      let tok: { rv: number; after: string };
      try {
        tok = JSON.parse(Buffer.from(q.continue, 'base64url').toString('utf8'));
      } catch {
        return this.json(res, 400, status(400, 'BadRequest', 'invalid continue token'));
      }
      if (tok.rv < this.minRV) {
        this.counters.gone++;
        return this.json(res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
      }
      after = tok.after;
      listRV = tok.rv;
    } else if (q.resourceVersion && q.resourceVersion !== '0') {
      const rv = Number(q.resourceVersion);
      // With limit (or resourceVersionMatch=Exact) a resourceVersion asks for that exact state.
      const exact = q.resourceVersionMatch === 'Exact' || (limit > 0 && q.resourceVersionMatch !== 'NotOlderThan');
      if (exact && rv < this.minRV) {
        this.counters.gone++;
        return this.json(res, 410, status(410, 'Expired', `too old resource version: ${rv} (${this.minRV})`));
      }
    }
    const paginate = limit > 0 && q.resourceVersion !== '0';
    const all = [...this.objects.get(def)!.entries()]
      .filter(([, o]) => this.matches({ namespace, selector, fields }, o))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .filter(([k]) => !after || k > after);
    const page = paginate ? all.slice(0, limit) : all;
    const metadata: KObject = { resourceVersion: String(listRV) };
    if (paginate && all.length > limit) {
      metadata.continue = Buffer.from(JSON.stringify({ rv: listRV, after: page[page.length - 1]![0] })).toString('base64url');
      metadata.remainingItemCount = all.length - limit;
    }
    const items = page.map(([, o]) => {
      const { kind: _k, apiVersion: _a, ...item } = o;
      return item;
    });
    this.json(res, 200, { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata, items });
  }

  private startWatch(def: ResourceDef, namespace: string | null, selector: LabelSelector, fields: FieldTerm[], q: Record<string, string>, res: http.ServerResponse): void {
    this.counters.watches[def.resource] = (this.counters.watches[def.resource] ?? 0) + 1;
    const rvParam = q.resourceVersion ?? '';
    const fromRV = rvParam === '' || rvParam === '0' ? null : Number(rvParam);
    if (fromRV !== null && (!Number.isFinite(fromRV) || fromRV < this.minRV)) {
      this.counters.gone++;
      const st = status(410, 'Expired', `too old resource version: ${rvParam} (${this.minRV})`);
      if (this.opts.goneAs === 'http') return this.json(res, 410, st);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ type: 'ERROR', object: st }) + '\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const w: Watcher = { def, namespace, selector, fields, bookmarks: q.allowWatchBookmarks === 'true' || q.allowWatchBookmarks === '1', res };
    this.watchers.add(w);
    res.on('close', () => this.dropWatch(w));
    const timeout = Number(q.timeoutSeconds);
    if (timeout > 0) w.timer = setTimeout(() => this.endWatch(w), timeout * 1000);
    if (fromRV === null) {
      // "Get state and start at most recent": synthetic ADDED for the current state.
      for (const o of this.objects.get(def)!.values()) if (this.matches(w, o)) this.write(w, { type: 'ADDED', object: o });
    } else {
      for (const e of this.log) if (e.def === def && e.rv > fromRV) this.deliver(w, e);
    }
  }

  private deliver(w: Watcher, e: LogEntry): void {
    const now = this.matches(w, e.obj);
    if (e.type === 'MODIFIED') {
      const before = this.matches(w, e.old);
      if (now) this.write(w, { type: before ? 'MODIFIED' : 'ADDED', object: e.obj });
      else if (before) this.write(w, { type: 'DELETED', object: e.obj });
      return;
    }
    if (now) this.write(w, { type: e.type, object: e.obj });
  }

  private write(w: Watcher, ev: KObject): void {
    if (!w.res.writableEnded && !w.res.destroyed) w.res.write(JSON.stringify(ev) + '\n');
  }

  private endWatch(w: Watcher): void {
    this.dropWatch(w);
    if (!w.res.writableEnded) w.res.end();
  }

  private dropWatch(w: Watcher): void {
    clearTimeout(w.timer);
    this.watchers.delete(w);
  }
}

/** Starts the fake API on 127.0.0.1 with a random port. Close it in afterEach/finally. */
export async function startFakeApiServer(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const api = new FakeApi(opts);
  await api.listen();
  return api;
}
