// The metrics-families conformance check (shared/conformance/cases.json http_checks) through a real
// server: one UDP/IPv4 A query, then GET /metrics from the prometheus plugin's own listener.

import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import { startServer, query, type RunningServer } from './harness.js';
import type { PrometheusPlugin } from '../src/plugins/prometheus/index.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Value of the first series of `name` whose labels include all of `labels`. */
function series(body: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of body.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('metrics over HTTP', () => {
  let srv: RunningServer | null = null;
  afterEach(async () => {
    await srv?.close();
    srv = null;
  });

  it('exports the CoreDNS families with their labels after one UDP/IPv4 A query', async () => {
    srv = await startServer('.:0 {\n  prometheus 127.0.0.1:0\n  cache 30\n  whoami\n}\n');
    const prom = srv.server.instance!.blocks[0].plugins.find((p) => p.name === 'prometheus') as PrometheusPlugin;
    const reply = await query(srv.port, 'svc1.testns.svc.cluster.local.', 'A');
    expect(reply.rcode).toBe('NOERROR');

    const r = await get(prom.port()!, '/metrics');
    expect(r.status).toBe(200);
    const body = r.body;
    const server = srv.server.instance!.blocks[0].server;
    const base = { server, zone: '.', view: '' };

    expect(body).toMatch(/^coredns_build_info\{goversion="[^"]+",revision="[^"]*",version="[^"]+"\} 1$/m);
    expect(series(body, 'coredns_dns_requests_total', { ...base, proto: 'udp', family: '1', type: 'A' })).toBeGreaterThanOrEqual(1);
    expect(series(body, 'coredns_dns_responses_total', { ...base, rcode: 'NOERROR' })).toBeGreaterThanOrEqual(1);
    expect(series(body, 'coredns_dns_request_duration_seconds_bucket', { ...base, le: '+Inf' })).toBeGreaterThanOrEqual(1);
    expect(series(body, 'coredns_dns_request_size_bytes_bucket', { ...base, proto: 'udp', le: '+Inf' })).toBeGreaterThanOrEqual(1);
    expect(series(body, 'coredns_dns_response_size_bytes_bucket', { ...base, proto: 'udp', le: '+Inf' })).toBeGreaterThanOrEqual(1);
    expect(series(body, 'coredns_cache_requests_total', { server, zones: '.', view: '' })).toBeGreaterThanOrEqual(1);
    expect(series(body, 'coredns_cache_misses_total', { server, zones: '.', view: '' })).toBeGreaterThanOrEqual(1);
    expect(body).toMatch(/^coredns_panics_total 0$/m);
    expect(body).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(body).toMatch(/^go_goroutines \d+$/m);
  });

  it('closes the /metrics listener when the server stops', async () => {
    srv = await startServer('.:0 {\n  prometheus 127.0.0.1:0\n  whoami\n}\n');
    const prom = srv.server.instance!.blocks[0].plugins.find((p) => p.name === 'prometheus') as PrometheusPlugin;
    const port = prom.port()!;
    await srv.close();
    srv = null;
    await expect(get(port, '/metrics')).rejects.toThrow();
  });
});
