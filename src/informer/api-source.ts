// List + watch against the Kubernetes API, one loop per kind, in the manner of client-go's
// reflector: list (resourceVersion "0" first, a consistent "" after 410 Gone), then watch from the
// list's resourceVersion with bookmarks; a watch that ends is resumed from the last seen
// resourceVersion after a backoff; 410 Gone relists and replaces the store as a diff. Stores are
// never cleared because the API is unreachable.
//
// The connection: see connectionFor (client-node's KubeConfig for kubeconfig files only); the
// requests themselves are plain node:http(s) so that we control streaming, timeouts and cancellation.

import http from 'node:http';
import https from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { Backoff } from './backoff.js';
import { ConvertError, convertObject, objectKey } from './convert.js';
import { JsonListSplitter } from './json-items.js';
import { emitApiRequest } from './observe.js';
import type { Sink, Source } from './source.js';
import type { InformerOptions, Kind, RecordOf } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Resource {
  path: string;
  apiKind: string;
  namespaced: boolean;
}

const RESOURCES: Record<Kind, Resource> = {
  services: { path: '/api/v1/services', apiKind: 'Service', namespaced: true },
  endpointslices: { path: '/apis/discovery.k8s.io/v1/endpointslices', apiKind: 'EndpointSlice', namespaced: true },
  pods: { path: '/api/v1/pods', apiKind: 'Pod', namespaced: true },
  namespaces: { path: '/api/v1/namespaces', apiKind: 'Namespace', namespaced: false },
  nodes: { path: '/api/v1/nodes', apiKind: 'Node', namespaced: false },
};

/** Clusters without discovery.k8s.io/v1 (404 on the slice list) get core/v1 Endpoints instead. */
const LEGACY_ENDPOINTS: Resource = { path: '/api/v1/endpoints', apiKind: 'Endpoints', namespaced: true };

const LIST_PAGE = 500;
const LIST_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 10_000;

export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function isGone(e: unknown): boolean {
  return e instanceof ApiError && e.code === 410;
}

/** How requests reach the API server: its URL and what each request needs (TLS, credentials). */
export interface Connection {
  readonly server: string;
  /** Fill TLS/auth options for one request (called per request: rotated tokens are picked up). */
  apply(opts: https.RequestOptions): Promise<void>;
}

// In a pod the kubelet mounts the credentials here; KDNS_SERVICEACCOUNT_DIR exists for tests.
const saDir = () => process.env.KDNS_SERVICEACCOUNT_DIR ?? '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The connection for the options: kubeconfig file (wins, as in CoreDNS), else endpoint (+tls), else
 * the in-cluster service account. Throws on unusable configuration.
 *
 * Only kubeconfig files go through @kubernetes/client-node's KubeConfig (exec plugins, OIDC, token
 * files, proxies: everything a kubeconfig may say), and the client is imported only then: loading it
 * costs ~75 MB of RSS (its generated API models), more than all of kdns's stores for a 10k-Service
 * cluster. A plain endpoint and the service account need nothing but node:https.
 */
export function connectionFor(opts: InformerOptions): Connection {
  if (opts.kubeconfig) {
    const { file, context } = opts.kubeconfig;
    if (!existsSync(file)) throw new Error(`kubeconfig ${file}: no such file`);
    return new KubeConfigConnection(file, context);
  }
  if (opts.endpoint) {
    const url = new URL(opts.endpoint); // throws on a malformed URL
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`endpoint ${opts.endpoint}: not http(s)`);
    const tls = opts.tls ?? {};
    const files = { ca: tls.ca, cert: tls.cert, key: tls.key };
    for (const f of Object.values(files)) if (f && !existsSync(f)) throw new Error(`tls file ${f}: no such file`);
    return {
      server: opts.endpoint.replace(/\/+$/, ''),
      async apply(o) {
        if (files.ca) o.ca = readFileSync(files.ca);
        if (files.cert) o.cert = readFileSync(files.cert);
        if (files.key) o.key = readFileSync(files.key);
      },
    };
  }
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error('no endpoint or kubeconfig given and not running in a cluster (KUBERNETES_SERVICE_HOST unset)');
  }
  const tokenFile = `${saDir()}/token`;
  const caFile = `${saDir()}/ca.crt`;
  if (!existsSync(tokenFile)) throw new Error(`in-cluster credentials missing: ${tokenFile}`);
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async apply(o) {
      // The kubelet rotates the projected token; read it per request as client-go does.
      o.ca = readFileSync(caFile);
      o.headers = { ...(o.headers ?? {}), Authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` };
    },
  };
}

class KubeConfigConnection implements Connection {
  readonly server: string;
  private kc: Promise<import('@kubernetes/client-node').KubeConfig> | null = null;

  constructor(
    private readonly file: string,
    private readonly context?: string,
  ) {
    // The server URL is needed before the first request (logs, identity); read it cheaply.
    this.server = peekKubeconfigServer(file, context);
  }

  private load() {
    this.kc ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const kc = new KubeConfig();
      kc.loadFromFile(this.file);
      if (this.context) {
        if (!kc.getContextObject(this.context)) throw new Error(`kubeconfig ${this.file}: no context '${this.context}'`);
        kc.setCurrentContext(this.context);
      }
      // client-node refuses plain http unless skipTLSVerify is set; there is no TLS to verify there.
      kc.loadFromOptions({
        clusters: kc.getClusters().map((c) => (c.server.startsWith('http:') ? { ...c, skipTLSVerify: true } : c)),
        contexts: kc.getContexts(),
        users: kc.getUsers(),
        currentContext: kc.getCurrentContext(),
      });
      if (!kc.getCurrentCluster()) throw new Error('kubeconfig has no current cluster');
      return kc;
    });
    return this.kc;
  }

  async apply(o: https.RequestOptions): Promise<void> {
    const kc = await this.load();
    await kc.applyToHTTPSOptions(o);
  }
}

/** The current (or named) context's cluster server from a kubeconfig, without client-node. */
function peekKubeconfigServer(file: string, context?: string): string {
  const doc = yaml.load(readFileSync(file, 'utf8')) as any;
  const ctxName = context ?? doc?.['current-context'];
  const ctx = (doc?.contexts ?? []).find((c: any) => c?.name === ctxName);
  if (!ctx) throw new Error(context ? `kubeconfig ${file}: no context '${context}'` : `kubeconfig ${file}: no current context`);
  const cl = (doc?.clusters ?? []).find((c: any) => c?.name === ctx.context?.cluster);
  const server = cl?.cluster?.server;
  if (typeof server !== 'string' || !server) throw new Error(`kubeconfig ${file}: context '${ctxName}' has no cluster server`);
  return server.replace(/\/+$/, '');
}

class ApiClient {
  readonly server: string;

  constructor(private readonly conn: Connection) {
    this.server = conn.server;
  }

  /** Starts a GET; resolves with the response once headers arrived. `signal` aborts it at any time. */
  async open(path: string, query: Record<string, string>, signal: AbortSignal): Promise<http.IncomingMessage> {
    // Per request, so rotated service-account tokens and exec credentials are picked up.
    const opts: https.RequestOptions = {};
    await this.conn.apply(opts);
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const mod = url.protocol === 'https:' ? https : http;
    const watch = query.watch === '1';
    return new Promise((resolve, reject) => {
      const req = mod.request(url, {
        ...opts,
        method: 'GET',
        headers: { ...(opts.headers ?? {}), Accept: 'application/json', 'User-Agent': 'kdns-informer' },
        signal,
      });
      const connectTimer = setTimeout(() => req.destroy(new Error(`no response from ${url.host} in ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      req.on('socket', (s) => s.setKeepAlive(true, 30_000));
      req.on('response', (res) => {
        clearTimeout(connectTimer);
        if (watch) emitApiRequest({ host: url.host, method: 'GET', code: String(res.statusCode ?? 0), watch });
        resolve(res);
      });
      req.on('error', (e) => {
        clearTimeout(connectTimer);
        if (watch && !signal.aborted) emitApiRequest({ host: url.host, method: 'GET', code: '<error>', watch });
        reject(e);
      });
      req.end();
    });
  }

  /** A list request whose items are handed to `onItem` one by one while the body streams in (a
   *  list served from the watch cache ignores `limit`: the first list is the whole kind). */
  async list(path: string, query: Record<string, string>, signal: AbortSignal, onItem: (item: Json) => void): Promise<Json> {
    const started = performance.now();
    const host = new URL(this.server).host;
    let code = '<error>';
    try {
      const res = await this.open(path, query, signal);
      code = String(res.statusCode ?? 0);
      if (res.statusCode !== 200) throw statusError(res.statusCode ?? 0, await readBody(res, LIST_TIMEOUT_MS));
      return await readList(res, LIST_TIMEOUT_MS, onItem);
    } finally {
      if (!signal.aborted) emitApiRequest({ host, method: 'GET', code, watch: false, seconds: (performance.now() - started) / 1000 });
    }
  }
}

/** Streams a list response through a JsonListSplitter: each item goes to `onItem` as soon as it
 *  was received; resolves with the list without its items (kind, metadata). */
function readList(res: http.IncomingMessage, timeoutMs: number, onItem: (item: Json) => void): Promise<Json> {
  return new Promise((resolve, reject) => {
    const splitter = new JsonListSplitter(onItem);
    let settled = false;
    const finish = (err: unknown, value?: Json) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        res.destroy();
        reject(err);
      } else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`response not complete in ${timeoutMs} ms`)), timeoutMs);
    res.on('data', (c: Buffer) => {
      if (settled) return;
      try {
        splitter.push(c);
      } catch (e) {
        finish(e);
      }
    });
    res.on('end', () => {
      try {
        finish(undefined, splitter.end());
      } catch (e) {
        finish(e);
      }
    });
    res.on('error', (e) => finish(e));
    res.on('close', () => {
      if (!res.complete) finish(new Error('connection closed before the response was complete'));
    });
  });
}

function readBody(res: http.IncomingMessage, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => res.destroy(new Error(`response not complete in ${timeoutMs} ms`)), timeoutMs);
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    res.on('close', () => {
      clearTimeout(timer);
      if (!res.complete) reject(new Error('connection closed before the response was complete'));
    });
  });
}

function statusError(code: number, body: string): ApiError {
  let msg = body.slice(0, 200);
  try {
    const st = JSON.parse(body);
    if (st && typeof st.message === 'string') msg = st.message;
  } catch {
    // not a Status object
  }
  return new ApiError(code, `HTTP ${code}: ${msg}`);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** One reflector loop for one kind. */
class KindWatcher {
  private resource: Resource;
  /** resourceVersion to watch from; null = a list is needed first. */
  private rv: string | null = null;
  /** resourceVersion for the next list: "0" (any, served from the API server cache) at first,
   *  "" (consistent read) after 410 Gone. */
  private listRV = '0';
  private readonly backoff = new Backoff();
  private failing = false;
  private done: Promise<void> | undefined;

  constructor(
    readonly kind: Kind,
    private readonly client: ApiClient,
    private readonly sink: Sink,
    private readonly selector: string | undefined,
    private readonly signal: AbortSignal,
  ) {
    this.resource = RESOURCES[kind];
  }

  get usingLegacyEndpoints(): boolean {
    return this.resource === LEGACY_ENDPOINTS;
  }

  start(): void {
    this.done ??= this.run();
  }

  wait(): Promise<void> {
    return this.done ?? Promise.resolve();
  }

  private async run(): Promise<void> {
    const log = this.sink.log;
    while (!this.signal.aborted) {
      try {
        if (this.rv === null) {
          await this.list();
        }
        const healthy = await this.watch();
        if (healthy) this.backoff.reset();
        this.recovered();
      } catch (e) {
        if (this.signal.aborted) break;
        if (isGone(e)) {
          log.info(`informer: ${this.what()}: resourceVersion too old (410 Gone), relisting`);
          this.rv = null;
          this.listRV = '';
          continue;
        }
        if (this.kind === 'endpointslices' && this.rv === null && e instanceof ApiError && e.code === 404 && !this.usingLegacyEndpoints) {
          log.warn('informer: discovery.k8s.io/v1 EndpointSlices not served (404); falling back to core/v1 Endpoints');
          this.resource = LEGACY_ENDPOINTS;
          continue;
        }
        this.failed(e);
      }
      await sleep(this.backoff.next(), this.signal);
    }
  }

  private what(): string {
    return this.resource.path;
  }

  private failed(e: unknown): void {
    const msg = `informer: ${this.rv === null ? 'list' : 'watch'} ${this.what()} failed: ${(e as Error)?.message ?? e}`;
    // One warning per outage, then quiet: a down API would otherwise log every backoff step.
    if (this.failing) this.sink.log.debug(msg);
    else this.sink.log.warn(`${msg} (retrying with backoff; stores keep their state)`);
    this.failing = true;
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.sink.log.info(`informer: ${this.what()} reachable again`);
  }

  private baseQuery(): Record<string, string> {
    return this.selector ? { labelSelector: this.selector } : {};
  }

  private async list(): Promise<void> {
    const records: RecordOf[Kind][] = [];
    let cont = '';
    let listRV = '';
    for (;;) {
      const q = { ...this.baseQuery(), limit: String(LIST_PAGE) } as Record<string, string>;
      if (cont) q.continue = cont;
      else if (this.listRV) q.resourceVersion = this.listRV;
      let page: Json;
      const before = records.length;
      try {
        page = await this.client.list(this.resource.path, q, this.signal, (item) => {
          const r = this.convert(item);
          if (r) records.push(r);
        });
      } catch (e) {
        records.length = before; // a page that failed half-way is fetched again as a whole
        // An expired continue token or a compacted resourceVersion: start over with a consistent list.
        if (isGone(e) && (cont || this.listRV)) {
          this.listRV = '';
          cont = '';
          records.length = 0;
          continue;
        }
        throw e;
      }
      listRV = String(page?.metadata?.resourceVersion ?? '');
      cont = typeof page?.metadata?.continue === 'string' ? page.metadata.continue : '';
      if (!cont) break;
    }
    this.sink.replace(this.kind, records);
    this.rv = listRV;
    this.listRV = listRV || '0';
    this.sink.markSynced(this.kind);
    this.recovered();
  }

  private convert(o: Json): RecordOf[Kind] | null {
    try {
      const c = convertObject(o, this.resource.apiKind);
      return c && c.kind === this.kind ? c.record : null;
    } catch (e) {
      if (!(e instanceof ConvertError)) throw e;
      this.sink.log.warn(`informer: skipping ${this.resource.apiKind}: ${e.message}`);
      return null;
    }
  }

  /** One watch request until the stream ends. Resolves true when it was healthy (delivered events
   *  or lasted a while), so the backoff can start small again. Throws ApiError (410 -> relist). */
  private async watch(): Promise<boolean> {
    // client-go: a random timeout in [5, 10) minutes spreads re-watches over time.
    const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
    const q: Record<string, string> = {
      ...this.baseQuery(),
      watch: '1',
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    };
    if (this.rv) q.resourceVersion = this.rv;
    const started = Date.now();
    const res = await this.client.open(this.resource.path, q, this.signal);
    if (res.statusCode !== 200) {
      throw statusError(res.statusCode ?? 0, await readBody(res, LIST_TIMEOUT_MS).catch(() => ''));
    }
    this.recovered();
    let events = 0;
    await new Promise<void>((resolve, reject) => {
      // A connection that silently died would otherwise hang here forever.
      const deadline = setTimeout(() => res.destroy(), (timeoutSeconds + 30) * 1000);
      let buf = '';
      let scanFrom = 0; // no newline before this offset of buf (large objects span many chunks)
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (err) {
          res.destroy();
          reject(err);
        } else resolve();
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (settled) return;
        buf += chunk;
        let start = 0;
        let nl: number;
        try {
          while ((nl = buf.indexOf('\n', Math.max(start, scanFrom))) >= 0) {
            const line = buf.slice(start, nl);
            start = nl + 1;
            if (line.trim() === '') continue;
            this.handleEvent(JSON.parse(line));
            events++;
          }
          buf = start > 0 ? buf.slice(start) : buf;
          scanFrom = buf.length;
        } catch (e) {
          finish(e);
        }
      });
      res.on('end', () => {
        try {
          if (buf.trim() !== '') this.handleEvent(JSON.parse(buf));
          finish();
        } catch (e) {
          finish(e);
        }
      });
      res.on('error', (e) => finish(e));
      res.on('close', () => finish());
    });
    return events > 0 || Date.now() - started > 5_000;
  }

  private handleEvent(ev: Json): void {
    const type = ev?.type;
    const obj = ev?.object;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED': {
        const r = this.convert(obj);
        if (r) this.sink.upsert(this.kind, r);
        break;
      }
      case 'DELETED': {
        try {
          this.sink.remove(this.kind, objectKey(obj, this.resource.namespaced));
        } catch (e) {
          if (!(e instanceof ConvertError)) throw e;
        }
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const code = typeof obj?.code === 'number' ? obj.code : 0;
        throw new ApiError(code, `watch error event ${code}: ${obj?.message ?? ''}`);
      }
      default:
        this.sink.log.debug(`informer: ignoring watch event type ${String(type)}`);
        return;
    }
    const rv = obj?.metadata?.resourceVersion;
    if (typeof rv === 'string' && rv !== '') this.rv = rv;
  }
}

export class ApiSource implements Source {
  private readonly client: ApiClient;
  private readonly watchers = new Map<Kind, KindWatcher>();
  private readonly abort = new AbortController();

  constructor(
    opts: InformerOptions,
    private readonly sink: Sink,
  ) {
    this.client = new ApiClient(connectionFor(opts));
    this.selectors = { labels: opts.labelSelector, namespaces: opts.namespaceLabelSelector };
  }

  private readonly selectors: { labels?: string; namespaces?: string };

  get server(): string {
    return this.client.server;
  }

  get usingLegacyEndpoints(): boolean {
    return this.watchers.get('endpointslices')?.usingLegacyEndpoints ?? false;
  }

  addKinds(kinds: Kind[]): void {
    for (const kind of kinds) {
      if (this.watchers.has(kind) || this.abort.signal.aborted) continue;
      const sel = kind === 'namespaces' ? this.selectors.namespaces : kind === 'nodes' ? undefined : this.selectors.labels;
      const w = new KindWatcher(kind, this.client, this.sink, sel || undefined, this.abort.signal);
      this.watchers.set(kind, w);
      w.start();
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.watchers.values()].map((w) => w.wait()));
  }
}
