// health: `GET /health` answers 200 `OK` for as long as the process runs. A self-probe every second
// feeds coredns_health_request_duration_seconds / coredns_health_request_failures_total. On
// SIGTERM, `lameduck` keeps DNS and /health up for a while so endpoints drain first.

import http from 'node:http';
import type { Directive } from '../../corefile/types.js';
import { configErrorAt } from '../../corefile/types.js';
import { acquireHttp, boundPort, listenAddressArg, parseHostPort, type HttpHandle } from '../../server/http.js';
import { m } from '../../metrics/registry.js';
import type { Logger, Plugin, PluginDefinition, ProcessContext } from '../types.js';
import { formatDuration, parseDuration } from '../../corefile/duration.js';

export const DEFAULT_ADDRESS = ':8080';
const DEFAULT_PORT = 8080;
const PROBE_EVERY_MS = 1000;
const PROBE_TIMEOUT_MS = 3000;

export interface HealthConfig {
  address: string;
  lameduckMs: number;
}

export function parseHealth(d: Directive): HealthConfig {
  const address = listenAddressArg(d, 'health', DEFAULT_ADDRESS);
  let lameduckMs = 0;
  for (const sub of d.block ?? []) {
    if (sub.name !== 'lameduck') throw configErrorAt(sub, `plugin/health: unknown property '${sub.name}'`);
    if (sub.args.length !== 1) throw configErrorAt(sub, `plugin/health: Wrong argument count or unexpected line ending after 'lameduck'`);
    try {
      lameduckMs = parseDuration(sub.args[0]);
    } catch (e) {
      throw configErrorAt(sub, `plugin/health: unable to parse lameduck duration value: "${sub.args[0]}": ${(e as Error).message}`);
    }
  }
  return { address, lameduckMs };
}

/** Where the process reaches its own listener: a wildcard host means loopback. */
export function loopbackHost(host: string): string {
  if (host === '' || host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

export class HealthPlugin implements Plugin {
  readonly name = 'health';
  readonly early = true;
  private http: HttpHandle | null = null;
  private timer: NodeJS.Timeout | null = null;
  private probing = false;

  constructor(
    readonly cfg: HealthConfig,
    private readonly log: Logger,
    private readonly proc: ProcessContext,
  ) {}

  async start(): Promise<void> {
    const h = acquireHttp(this.cfg.address, DEFAULT_PORT);
    this.http = h;
    h.route('/health', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('OK');
    });
    await h.listening;
    this.timer = setInterval(() => void this.probe(), PROBE_EVERY_MS);
    this.timer.unref();
  }

  /** The port actually bound (differs from the configured one only for port 0). */
  port(): number | undefined {
    return this.http ? boundPort(this.http) : undefined;
  }

  private async probe(): Promise<void> {
    if (this.probing || !this.http) return;
    const port = this.port();
    if (port === undefined) return;
    this.probing = true;
    const host = loopbackHost(parseHostPort(this.cfg.address, DEFAULT_PORT).host);
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/health`;
    const start = process.hrtime.bigint();
    try {
      await get(host, port);
      const secs = Number(process.hrtime.bigint() - start) / 1e9;
      m.healthDuration.observe(secs);
      if (secs > 1) this.log.warn(`plugin/health: Local health request to "${url}" took more than 1s: ${formatDuration(secs * 1000)}`);
    } catch (e) {
      m.healthDuration.observe(Number(process.hrtime.bigint() - start) / 1e9);
      m.healthFailures.inc();
      if (this.http) this.log.warn(`plugin/health: Local health request to "${url}" failed: ${(e as Error).message}`);
    } finally {
      this.probing = false;
    }
  }

  /** SIGTERM: keep answering (DNS and /health) for `lameduck` before the servers stop. Not on reload. */
  async shutdown(): Promise<void> {
    if (this.proc.reloading || this.cfg.lameduckMs <= 0) return;
    this.log.info(`plugin/health: Going into lameduck mode for ${formatDuration(this.cfg.lameduckMs)}`);
    await new Promise((r) => setTimeout(r, this.cfg.lameduckMs));
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const h = this.http;
    this.http = null;
    if (h) await h.release();
  }
}

function get(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/health', agent: false, timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export const health: PluginDefinition = {
  name: 'health',
  setup(d, ctx): Plugin {
    return new HealthPlugin(parseHealth(d), ctx.log, ctx.process);
  },
};
