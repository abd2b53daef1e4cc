// The kubeadm Corefile, unchanged but for ports and upstreams, through the real CLI: what an
// operator trialling kdns in place of CoreDNS checks first.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { freePort, repoRoot, sharedDir, startKdnsProcess, waitForDns, type KdnsProcess } from './procs.js';
import { query } from './harness.js';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.js';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';

const kubeadm = sharedDir
  ? readFileSync(path.join(sharedDir, 'reference', 'Corefile.kubeadm'), 'utf8')
  : readFileSync(path.join(repoRoot, 'deploy', 'configmap.yaml'), 'utf8').split('Corefile: |')[1]?.replace(/^ {4}/gm, '') ?? '';

describe('kubeadm Corefile through the kdns CLI', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-kubeadm-'));
  const file = path.join(dir, 'Corefile');
  let api: FakeApiServer;
  let good: FakeUpstream;
  let silent: FakeUpstream;
  let p: KdnsProcess;
  let port: number;
  const http = { health: 0, ready: 0, metrics: 0 };
  let text = '';

  beforeAll(async () => {
    const objects = (yaml.load(readFileSync(path.join(repoRoot, 'examples', 'cluster.yaml'), 'utf8')) as any).items;
    // The endpoints controller stamps its slices with the time of the change that caused them:
    // kdns turns that into coredns_kubernetes_dns_programming_duration_seconds for headless db.
    const dbSlice = objects.find((o: any) => o.kind === 'EndpointSlice' && o.metadata.name === 'db-q8w7e');
    dbSlice.metadata.annotations = { ...dbSlice.metadata.annotations, 'endpoints.kubernetes.io/last-change-trigger-time': new Date(Date.now() - 1500).toISOString() };
    api = await startFakeApiServer({ objects });
    good = await startFakeUpstream({ records: ['www.example.com. 3600 IN A 192.0.2.53', 'example.net. 3600 IN A 13.14.15.16'] });
    silent = await startFakeUpstream({ records: [] });
    silent.setMode('silent');
    port = await freePort();
    http.health = await freePort();
    http.ready = await freePort();
    http.metrics = await freePort();
    text = kubeadm
      .replace(/^#.*\n/gm, '')
      .replace('.:53', `.:${port}`)
      .replace(/health \{/, `health 127.0.0.1:${http.health} {`)
      .replace(/^(\s*)ready$/m, `$1ready 127.0.0.1:${http.ready}`)
      .replace('prometheus :9153', `prometheus 127.0.0.1:${http.metrics}`)
      .replace('forward . /etc/resolv.conf', `forward . ${silent.address} ${good.address}`)
      .replace(/(kubernetes cluster\.local in-addr\.arpa ip6\.arpa \{)/, `$1\n       endpoint ${api.url}`)
      .replace(/^(\s*)reload$/m, '$1reload 2s 1s');
    writeFileSync(file, text);
    p = startKdnsProcess(['-conf', file]);
    await waitForDns(port, p);
  }, 60000);

  afterAll(async () => {
    await p?.stop();
    await good?.close();
    await silent?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers cluster names with TTL 30 and forwards the rest, surviving a silent upstream', async () => {
    const r = await query(port, 'web.shop.svc.cluster.local.', 'A');
    expect(r.answers?.map((a: any) => [a.data, a.ttl])).toEqual([['10.96.10.20', 30]]);
    for (let i = 0; i < 6; i++) {
      const f = await query(port, i % 2 ? 'www.example.com.' : 'example.net.', 'A', { timeoutMs: 6000 });
      expect((f as any).rcode).toBe('NOERROR');
      expect(f.answers?.length).toBe(1);
    }
  });

  it('serves /health and /ready with 200 OK', async () => {
    for (const port of [http.health, http.ready]) {
      const res = await fetch(`http://127.0.0.1:${port}/${port === http.health ? 'health' : 'ready'}`);
      expect(res.status).toBe(200);
      expect((await res.text()).trim()).toBe('OK');
    }
  });

  it('exports the CoreDNS metric families dashboards query', async () => {
    await query(port, 'web.shop.svc.cluster.local.', 'A');
    await query(port, 'www.example.com.', 'A');
    const body = await (await fetch(`http://127.0.0.1:${http.metrics}/metrics`)).text();
    const server = `dns://:${port}`;
    for (const re of [
      /^coredns_build_info\{goversion="[^"]+",revision="[^"]*",version="[^"]+"\} 1$/m,
      new RegExp(`^coredns_dns_requests_total\\{family="1",proto="udp",server="${server}",type="A",view="",zone="\\."\\} \\d+`, 'm'),
      new RegExp(`^coredns_dns_responses_total\\{plugin="[a-z]*",rcode="NOERROR",server="${server}",view="",zone="\\."\\} \\d+`, 'm'),
      new RegExp(`^coredns_dns_request_duration_seconds_bucket\\{server="${server}",view="",zone="\\.",le="[^"]+"\\} \\d+`, 'm'),
      new RegExp(`^coredns_dns_request_size_bytes_bucket\\{proto="udp",server="${server}",view="",zone="\\.",le="[^"]+"\\} \\d+`, 'm'),
      new RegExp(`^coredns_dns_response_size_bytes_bucket\\{proto="udp",server="${server}",view="",zone="\\.",le="[^"]+"\\} \\d+`, 'm'),
      new RegExp(`^coredns_cache_requests_total\\{server="${server}",view="",zones="\\."\\} \\d+`, 'm'),
      /^coredns_cache_misses_total\{/m,
      new RegExp(`^coredns_forward_requests_total\\{to="${good.address.replace(/\./g, '\\.')}"\\} \\d+`, 'm'),
      new RegExp(`^coredns_proxy_request_duration_seconds_bucket\\{.*to="${good.address.replace(/\./g, '\\.')}"`, 'm'),
      /^coredns_panics_total 0$/m,
      new RegExp(`^coredns_kubernetes_rest_client_requests_total\\{code="200",host="${new URL(api.url).host}",method="GET"\\} [1-9]`, 'm'),
      new RegExp(`^coredns_kubernetes_rest_client_request_duration_seconds_count\\{host="${new URL(api.url).host}",verb="GET"\\} [1-9]`, 'm'),
      /^coredns_kubernetes_dns_programming_duration_seconds_bucket\{service_kind="headless_with_selector",le="16.384"\} 1$/m,
      /^coredns_kubernetes_dns_programming_duration_seconds_bucket\{service_kind="headless_with_selector",le="1.024"\} 0$/m,
      /^process_resident_memory_bytes \d/m,
      ...['kubernetes', 'cache', 'forward', 'loop', 'loadbalance', 'errors', 'prometheus'].map(
        (n) => new RegExp(`^coredns_plugin_enabled\\{name="${n}",server="${server}",view="",zone="\\."\\} 1$`, 'm'),
      ),
    ]) {
      expect(body, String(re)).toMatch(re);
    }
  });

  it('applies a changed Corefile without a restart (reload)', async () => {
    // extra.test is forwarded: one of the two upstreams is silent, so allow for its 2 s read timeout.
    const slow = { timeoutMs: 6000 };
    expect((await query(port, 'extra.test.', 'A', slow) as any).rcode).toBe('NXDOMAIN');
    writeFileSync(file, text.replace('    errors\n', '    errors\n    hosts {\n      192.0.2.99 extra.test\n      fallthrough\n    }\n'));
    // Poll by hand so that a failure shows every attempt and what kdns logged meanwhile.
    const t0 = Date.now();
    const attempts: string[] = [];
    let answer: string[] | undefined;
    while (Date.now() - t0 < 12000) {
      const t = Date.now();
      try {
        answer = (await query(port, 'extra.test.', 'A', slow)).answers?.map((a: any) => a.data);
        attempts.push(`t+${t - t0}ms ${Date.now() - t}ms ${JSON.stringify(answer)}`);
      } catch (e) {
        attempts.push(`t+${t - t0}ms ${Date.now() - t}ms ${(e as Error).message}`);
      }
      if (answer?.[0] === '192.0.2.99') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(answer, `attempts:\n${attempts.join('\n')}\nkdns output:\n${p.output()}`).toEqual(['192.0.2.99']);
    expect(p.output()).toMatch(/Reloading complete/);
  }, 30000);
});
