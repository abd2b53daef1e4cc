// prometheus: serves /metrics (CoreDNS plugin/metrics) and records per-query DNS metrics for its
// server block. The registry is process-wide (src/metrics/registry.ts); the HTTP listener is shared
// per address across blocks and reloads (src/server/http.ts). See README.md.

import type http from 'node:http';
import type { DnsRequest, DnsResponse } from '../../dns/message.js';
import { configErrorAt } from '../../corefile/types.js';
import { m } from '../../metrics/registry.js';
import { clusterAwareMetrics } from '../../metrics/cluster.js';
import { goLabelOrder } from '../../metrics/exposition.js';
import { acquireHttp, boundPort, listenAddressArg, type HttpHandle } from '../../server/http.js';
import type { Handler, Plugin, PluginDefinition, Result } from '../types.js';
import { Reporter } from './report.js';
import { replySize } from './size.js';

export { metricsObserver, Reporter, typeLabel } from './report.js';
export { replySize } from './size.js';

export const DEFAULT_ADDRESS = 'localhost:9153';
export const METRICS_PATH = '/metrics';

/** coredns_plugin_enabled{server, zone, view="", name} = 1 for each zone of a block and each plugin
 *  with a DNS handler in it. The server calls this per block once an instance is built. */
export function markPluginsEnabled(server: string, zones: readonly string[], names: readonly string[]): void {
  for (const zone of zones) {
    for (const name of names) m.pluginEnabled.labels({ server, zone, view: '', name }).set(1);
  }
}

/** Forget the plugin_enabled series of the previous configuration (call before marking on reload). */
export function resetPluginsEnabled(): void {
  m.pluginEnabled.reset();
}

function serveMetrics(_req: http.IncomingMessage, res: http.ServerResponse): void {
  // With `-workers N` this is the sum over every process, not just the one that got the scrape.
  clusterAwareMetrics().then(
    ({ contentType, body }) => {
      res.writeHead(200, { 'content-type': contentType });
      res.end(goLabelOrder(body));
    },
    (err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`An error has occurred while serving metrics:\n\n${(err as Error)?.message ?? err}\n`);
    },
  );
}

/** coredns_plugin_enabled for a configuration that starts serving: one series per plugin with a
 *  DNS handler in each block (CoreDNS lists the same set; reload, bind, health... are not listed). */
export function markEnabledPlugins(inst: { blocks: { server: string; zones: string[]; plugins: Plugin[] }[] }): void {
  resetPluginsEnabled();
  for (const b of inst.blocks) markPluginsEnabled(b.server, b.zones, b.plugins.filter((p) => p.handle).map((p) => p.name));
}

export interface PrometheusPlugin extends Plugin {
  /** Port the /metrics listener bound (tests use `127.0.0.1:0`); undefined before start(). */
  port(): number | undefined;
}

export const prometheus: PluginDefinition = {
  name: 'prometheus',
  setup(d): PrometheusPlugin {
    if (d.block && d.block.length > 0) {
      throw configErrorAt(d.block[0], `plugin/prometheus: unknown property '${d.block[0].name}'`);
    }
    const address = listenAddressArg(d, 'prometheus', DEFAULT_ADDRESS);

    const reporter = new Reporter();
    let http: HttpHandle | null = null;
    const record = (req: DnsRequest, res: DnsResponse): DnsResponse => {
      const size = replySize(req, res);
      reporter.report(req, res, size);
      // Reusable reply: leave the same counting for the fast path (after report bound the labels).
      if (res.fast && req.fastQuery && !req.noFast) (req.fastReplays ??= []).push(reporter.replay(req, res, size));
      return res;
    };
    return {
      name: 'prometheus',
      fastAware: true,
      early: true,
      port: () => (http ? boundPort(http) : undefined),
      handle(req: DnsRequest, next: Handler): Result {
        const r = next(req);
        if (r instanceof Promise) return r.then((res) => record(req, res));
        return record(req, r);
      },
      async start() {
        if (http) return;
        http = acquireHttp(address, 9153);
        http.route(METRICS_PATH, serveMetrics);
        try {
          await http.listening;
        } catch (e) {
          const h = http;
          http = null;
          await h.release();
          throw new Error(`plugin/prometheus: listen ${address}: ${(e as Error).message}`);
        }
      },
      async close() {
        const h = http;
        http = null;
        if (h) await h.release();
      },
    };
  },
};
