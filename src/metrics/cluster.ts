// /metrics with `-workers N`: every process has its own registry (src/metrics/registry.ts), and a
// scrape that lands on any worker must see the whole server. The worker asks the primary, the
// primary collects `getMetricsAsJSON()` from every worker plus its own registry (the informer and
// its API-client metrics run there) and merges them with prom-client's
// `AggregatorRegistry.aggregate`. We do not use `AggregatorRegistry#clusterMetrics()` itself: it
// only sees the workers, and it cannot be asked from a worker.
//
// Series that are one fact about the server, not a count per process, get a non-sum aggregator
// (build info 1, not N).

import cluster, { type Worker } from 'node:cluster';
import client from 'prom-client';
import { registry } from './registry.js';

type Aggregator = 'sum' | 'first' | 'min' | 'max' | 'average' | 'omit';

const AGGREGATORS: Record<string, Aggregator> = {
  coredns_build_info: 'first',
  coredns_plugin_enabled: 'max',
  coredns_reload_version_info: 'max',
  coredns_hosts_entries: 'max',
  coredns_hosts_reload_timestamp_seconds: 'max',
};

const COLLECT_TIMEOUT_MS = 5000;

type MetricsJSON = Awaited<ReturnType<typeof registry.getMetricsAsJSON>>;

type MetricsMessage =
  | { kdns: 'metrics.req'; id: number }
  | { kdns: 'metrics.res'; id: number; contentType: string; body?: string; error?: string }
  | { kdns: 'metrics.collect'; id: number }
  | { kdns: 'metrics.part'; id: number; metrics?: MetricsJSON; error?: string };

function isMetricsMessage(m: unknown): m is MetricsMessage {
  return typeof m === 'object' && m !== null && typeof (m as { kdns?: unknown }).kdns === 'string' &&
    (m as { kdns: string }).kdns.startsWith('metrics.');
}

async function localJSON(): Promise<MetricsJSON> {
  const json = await registry.getMetricsAsJSON();
  for (const metric of json) {
    const a = AGGREGATORS[metric.name];
    if (a) (metric as { aggregator: Aggregator }).aggregator = a;
  }
  return json;
}

/** The metrics of the whole server: this process's registry, or, in a `-workers` worker, the
 *  aggregate of every process (asked from the primary). For the prometheus plugin's /metrics. */
export function clusterAwareMetrics(): Promise<{ contentType: string; body: string }> {
  if (!cluster.isWorker || !process.send) {
    return registry.metrics().then((body) => ({ contentType: registry.contentType, body }));
  }
  installWorkerListener();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error('metrics: the primary process did not answer'));
    }, COLLECT_TIMEOUT_MS + 1000);
    waiting.set(id, (m) => {
      clearTimeout(timer);
      if (m.error !== undefined || m.body === undefined) reject(new Error(m.error ?? 'metrics: no body'));
      else resolve({ contentType: m.contentType, body: m.body });
    });
    process.send!({ kdns: 'metrics.req', id } satisfies MetricsMessage);
  });
}

let nextId = 1;
const waiting = new Map<number, (m: Extract<MetricsMessage, { kdns: 'metrics.res' }>) => void>();
let workerListening = false;

/** In a worker: answer the primary's collection requests and route its answers to our scrapes.
 *  Idempotent; call at worker startup so a scrape on another worker never waits for us in vain. */
export function installWorkerListener(): void {
  if (workerListening || !cluster.isWorker) return;
  workerListening = true;
  process.on('message', (m: unknown) => {
    if (!isMetricsMessage(m)) return;
    if (m.kdns === 'metrics.res') {
      const fn = waiting.get(m.id);
      waiting.delete(m.id);
      fn?.(m);
    } else if (m.kdns === 'metrics.collect') {
      localJSON().then(
        (metrics) => process.send?.({ kdns: 'metrics.part', id: m.id, metrics } satisfies MetricsMessage),
        (e: unknown) => process.send?.({ kdns: 'metrics.part', id: m.id, error: String((e as Error)?.message ?? e) } satisfies MetricsMessage),
      );
    }
  });
}

/** In the primary: collect and merge every worker's metrics with ours. */
export async function aggregateClusterMetrics(): Promise<{ contentType: string; body: string }> {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && w.isConnected());
  const parts = await Promise.all([localJSON(), ...workers.map((w) => collectFrom(w))]);
  const merged = client.AggregatorRegistry.aggregate(parts.filter((p): p is MetricsJSON => p !== null));
  return { contentType: merged.contentType, body: await merged.metrics() };
}

let nextCollect = 1;

function collectFrom(w: Worker): Promise<MetricsJSON | null> {
  const id = nextCollect++;
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('exit', onExit);
    };
    const onMessage = (m: unknown) => {
      if (!isMetricsMessage(m) || m.kdns !== 'metrics.part' || m.id !== id) return;
      done();
      if (m.metrics) resolve(m.metrics);
      else reject(new Error(`metrics: worker ${w.id}: ${m.error}`));
    };
    // A worker that exits meanwhile took its counters with it; its replacement starts at zero.
    const onExit = () => {
      done();
      resolve(null);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`metrics: worker ${w.id} did not answer in ${COLLECT_TIMEOUT_MS} ms`));
    }, COLLECT_TIMEOUT_MS);
    w.on('message', onMessage);
    w.on('exit', onExit);
    w.send({ kdns: 'metrics.collect', id } satisfies MetricsMessage);
  });
}

/** In the primary: answer workers' `metrics.req` (call once per forked worker). */
export function serveWorkerMetrics(w: Worker): void {
  w.on('message', (m: unknown) => {
    if (!isMetricsMessage(m) || m.kdns !== 'metrics.req') return;
    aggregateClusterMetrics().then(
      (r) => w.isConnected() && w.send({ kdns: 'metrics.res', id: m.id, ...r } satisfies MetricsMessage),
      (e: unknown) => w.isConnected() && w.send({ kdns: 'metrics.res', id: m.id, contentType: 'text/plain', error: String((e as Error)?.message ?? e) } satisfies MetricsMessage),
    );
  });
}
