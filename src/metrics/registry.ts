// Every metric kdns exports, with CoreDNS's names, labels and buckets (shared reference section 9).
// One process-wide registry: plugins update it whether or not `prometheus` is configured; the
// prometheus plugin only serves it. Per-query hot paths use bindCounter/bindHistogram (below).

import client from 'prom-client';
import { VERSION, REVISION, RUNTIME } from '../version.js';

export const registry = new client.Registry();

const timeBuckets = Array.from({ length: 16 }, (_, n) => 0.00025 * 2 ** n);
const sizeBuckets = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16000, 32000, 48000, 64000];
/** Go's prometheus.DefBuckets (client-go's REST client metrics in CoreDNS use them). */
const goDefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// Bound children for per-query hot paths. prom-client's `.labels(...)` children hash the label set
// on every inc/observe (measured ~0.35 µs per counter inc, ~0.6-1.2 µs per histogram observe); a
// bound child counts into plain numbers and is folded into the prom-client metric when that metric
// is collected (every scrape and every `.get()`), so the exposition is unchanged.
export interface BoundCounter { inc(n?: number): void }
export interface BoundHistogram { observe(v: number): void }

interface CounterChild extends BoundCounter { labels: Record<string, string>; n: number }
interface HistChild extends BoundHistogram {
  labels: Record<string, string>;
  counts: Float64Array;
  sum: number;
  count: number;
  /** prom-client's series object for these labels (internal; re-located if the metric was reset). */
  key?: string;
  entry?: { sum: number; count: number; bucketValues: Record<string, number> };
}

const counterChildren = new WeakMap<object, Map<string, CounterChild>>();
const histChildren = new WeakMap<object, { bounds: number[]; children: Map<string, HistChild> }>();

function childKey(labels: Record<string, string>): string {
  let k = '';
  for (const name of Object.keys(labels).sort()) k += `${name}\u0000${labels[name]}\u0001`;
  return k;
}

function counter<T extends string>(name: string, help: string, labelNames: readonly T[] = []) {
  const children = new Map<string, CounterChild>();
  const c: client.Counter<T> = new client.Counter<T>({
    name, help, labelNames, registers: [registry],
    collect() {
      for (const ch of children.values()) {
        if (ch.n > 0) { c.inc(ch.labels as client.LabelValues<T>, ch.n); ch.n = 0; }
      }
    },
  });
  counterChildren.set(c, children);
  return c;
}
function gauge<T extends string>(name: string, help: string, labelNames: readonly T[] = []) {
  return new client.Gauge<T>({ name, help, labelNames, registers: [registry] });
}
function histogram<T extends string>(name: string, help: string, labelNames: readonly T[], buckets: number[]) {
  const state = { bounds: [...buckets].sort((a, b) => a - b), children: new Map<string, HistChild>() };
  const h: client.Histogram<T> = new client.Histogram<T>({
    name, help, labelNames, buckets, registers: [registry],
    collect() {
      for (const ch of state.children.values()) if (ch.count > 0) flushHistogram(h, state.bounds, ch);
    },
  });
  histChildren.set(h, state);
  return h;
}

type SeriesMap = Record<string, { labels: Record<string, string>; sum: number; count: number; bucketValues: Record<string, number> }>;

function flushHistogram(h: client.Histogram<string>, bounds: number[], ch: HistChild) {
  const map = (h as unknown as { hashMap: SeriesMap }).hashMap;
  if (!ch.entry || !ch.key || map[ch.key] !== ch.entry) {
    ch.entry = undefined;
    const find = () => {
      for (const [k, v] of Object.entries(map)) {
        if (Object.keys(ch.labels).every((n) => String(v.labels[n]) === ch.labels[n])) { ch.key = k; ch.entry = v; return true; }
      }
      return false;
    };
    if (!find()) { h.zero(ch.labels); find(); }
    if (!ch.entry) return;
  }
  const e = ch.entry;
  e.sum += ch.sum;
  e.count += ch.count;
  for (let i = 0; i < bounds.length; i++) if (ch.counts[i] > 0) e.bucketValues[bounds[i]] += ch.counts[i];
  ch.sum = 0;
  ch.count = 0;
  ch.counts.fill(0);
}

/** A counter child for a fixed label set; cheap to `inc()` per query. */
export function bindCounter<T extends string>(c: client.Counter<T>, labels: Record<T, string>): BoundCounter {
  const children = counterChildren.get(c);
  if (!children) throw new Error('bindCounter: not a counter from src/metrics/registry.ts');
  const key = childKey(labels);
  let ch = children.get(key);
  if (!ch) {
    const child: CounterChild = { labels, n: 0, inc(n = 1) { child.n += n; } };
    ch = child;
    children.set(key, ch);
    c.inc(labels as client.LabelValues<T>, 0);
  }
  return ch;
}

/** A histogram child for a fixed label set; cheap to `observe()` per query. */
export function bindHistogram<T extends string>(h: client.Histogram<T>, labels: Record<T, string>): BoundHistogram {
  const state = histChildren.get(h);
  if (!state) throw new Error('bindHistogram: not a histogram from src/metrics/registry.ts');
  const key = childKey(labels);
  let ch = state.children.get(key);
  if (!ch) {
    const bounds = state.bounds;
    const child: HistChild = {
      labels, counts: new Float64Array(bounds.length), sum: 0, count: 0,
      observe(v: number) {
        for (let i = 0; i < bounds.length; i++) if (v <= bounds[i]) { child.counts[i]++; break; }
        child.sum += v;
        child.count++;
      },
    };
    ch = child;
    state.children.set(key, ch);
    h.zero(labels as client.LabelValues<T>);
  }
  return ch;
}

export const m = {
  buildInfo: gauge('coredns_build_info', 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.', ['version', 'revision', 'goversion']),
  panics: counter('coredns_panics_total', 'A metrics that counts the number of panics.'),
  pluginEnabled: gauge('coredns_plugin_enabled', 'A metric that indicates whether a plugin is enabled on per server and zone basis.', ['server', 'zone', 'view', 'name']),

  requests: counter('coredns_dns_requests_total', 'Counter of DNS requests made per zone, protocol and family.', ['server', 'zone', 'view', 'proto', 'family', 'type']),
  requestDuration: histogram('coredns_dns_request_duration_seconds', 'Histogram of the time (in seconds) each request took per zone.', ['server', 'zone', 'view'], timeBuckets),
  requestSize: histogram('coredns_dns_request_size_bytes', 'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.', ['server', 'zone', 'view', 'proto'], sizeBuckets),
  responseSize: histogram('coredns_dns_response_size_bytes', 'Size of the returned response in bytes.', ['server', 'zone', 'view', 'proto'], sizeBuckets),
  doRequests: counter('coredns_dns_do_requests_total', 'Counter of DNS requests with DO bit set per zone.', ['server', 'zone', 'view']),
  responses: counter('coredns_dns_responses_total', 'Counter of response status codes.', ['server', 'zone', 'view', 'rcode', 'plugin']),

  cacheEntries: gauge('coredns_cache_entries', 'The number of elements in the cache.', ['server', 'type', 'zones', 'view']),
  cacheRequests: counter('coredns_cache_requests_total', 'The count of cache requests.', ['server', 'zones', 'view']),
  cacheHits: counter('coredns_cache_hits_total', 'The count of cache hits.', ['server', 'type', 'zones', 'view']),
  cacheMisses: counter('coredns_cache_misses_total', 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', ['server', 'zones', 'view']),
  cachePrefetch: counter('coredns_cache_prefetch_total', 'The number of times the cache has prefetched a cached item.', ['server', 'zones', 'view']),
  cacheDrops: counter('coredns_cache_drops_total', 'The number responses that are not cached, because the reply is malformed.', ['server', 'zones', 'view']),
  cacheServedStale: counter('coredns_cache_served_stale_total', 'The number of requests served from stale cache entries.', ['server', 'zones', 'view']),
  cacheEvictions: counter('coredns_cache_evictions_total', 'The count of cache evictions.', ['server', 'type', 'zones', 'view']),

  forwardHealthcheckBroken: counter('coredns_forward_healthcheck_broken_total', 'Counter of the number of complete failures of the healthchecks.'),
  forwardMaxConcurrentRejects: counter('coredns_forward_max_concurrent_rejects_total', 'Counter of the number of queries rejected because the concurrent queries were at maximum.'),
  proxyRequestDuration: histogram('coredns_proxy_request_duration_seconds', 'Histogram of the time each request took.', ['proxy_name', 'to', 'rcode'], timeBuckets),
  proxyHealthcheckFailures: counter('coredns_proxy_healthcheck_failures_total', 'Counter of the number of failed healthchecks.', ['proxy_name', 'to']),
  proxyConnCacheHits: counter('coredns_proxy_conn_cache_hits_total', 'Counter of connection cache hits per upstream and protocol.', ['proxy_name', 'to', 'proto']),
  proxyConnCacheMisses: counter('coredns_proxy_conn_cache_misses_total', 'Counter of connection cache misses per upstream and protocol.', ['proxy_name', 'to', 'proto']),
  // Removed in CoreDNS 1.11 but still queried by the common coredns-mixin dashboards and alerts.
  forwardRequests: counter('coredns_forward_requests_total', 'Counter of requests made per upstream.', ['to']),
  forwardResponses: counter('coredns_forward_responses_total', 'Counter of responses received per upstream.', ['to', 'rcode']),
  forwardRequestDuration: histogram('coredns_forward_request_duration_seconds', 'Histogram of the time each request took.', ['to', 'rcode'], timeBuckets),
  forwardHealthcheckFailures: counter('coredns_forward_healthcheck_failures_total', 'Counter of the number of failed healthchecks.', ['to']),

  k8sProgrammingDuration: histogram('coredns_kubernetes_dns_programming_duration_seconds', 'Histogram of the time (in seconds) it took to program a dns instance.', ['service_kind'], Array.from({ length: 20 }, (_, n) => 0.001 * 2 ** n)),
  k8sRestRequestDuration: histogram('coredns_kubernetes_rest_client_request_duration_seconds', 'Request latency in seconds. Broken down by verb and host.', ['verb', 'host'], goDefaultBuckets),
  k8sRestRateLimiterDuration: histogram('coredns_kubernetes_rest_client_rate_limiter_duration_seconds', 'Client side rate limiter latency in seconds. Broken down by verb and host.', ['verb', 'host'], goDefaultBuckets),
  k8sRestRequests: counter('coredns_kubernetes_rest_client_requests_total', 'Number of HTTP requests, partitioned by status code, method, and host.', ['code', 'method', 'host']),

  healthDuration: histogram('coredns_health_request_duration_seconds', 'Histogram of the time (in seconds) each request took.', [], [0.00025, 0.0025, 0.025, 0.25, 2.5]),
  healthFailures: counter('coredns_health_request_failures_total', 'The number of times the health check failed.'),

  reloadFailed: counter('coredns_reload_failed_total', 'Counter of the number of failed reload attempts.'),
  reloadVersion: gauge('coredns_reload_version_info', 'A metric with a constant \'1\' value labeled by hash, and value which type of hash generated.', ['hash', 'value']),

  hostsEntries: gauge('coredns_hosts_entries', 'The combined number of entries in hosts and Corefile.'),
  hostsReloadTimestamp: gauge('coredns_hosts_reload_timestamp_seconds', 'The timestamp of the last reload of hosts file.'),
  autopathSuccess: counter('coredns_autopath_success_total', 'Counter of requests that did autopath.', ['server']),
  // Dashboards (coredns-mixin) plot go_goroutines. Node has no goroutines; the nearest measure of
  // concurrent work is the number of active libuv resources (sockets, timers, pending I/O and DNS
  // requests), read at scrape time.
  goGoroutines: new client.Gauge({
    name: 'go_goroutines',
    help: 'Number of goroutines that currently exist (kdns: active Node.js resources: sockets, timers, pending requests).',
    registers: [registry],
    collect() {
      this.set(process.getActiveResourcesInfo().length);
    },
  }),
  loopDetected: counter('coredns_loop_detected_total', 'Counter of loops detected (kdns extension; CoreDNS exits without a metric).'),
};

m.buildInfo.labels({ version: VERSION, revision: REVISION, goversion: RUNTIME }).set(1);
m.panics.inc(0);
client.collectDefaultMetrics({ register: registry });
