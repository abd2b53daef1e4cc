// The answer fast path as a client sees it: reused replies carry the client's ID and EDNS size,
// counted-down TTLs for cached upstream answers, shuffled A records, and every query still shows
// in the metrics; a plugin that must see each query (log) turns reuse off.

import { describe, it, expect, afterEach } from 'vitest';
import path from 'node:path';
import { startServer, query, type RunningServer } from './harness.js';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { repoRoot } from './procs.js';
import { registry } from '../src/metrics/registry.js';
import { exchangeRaw, buildQuery } from './harness.js';
import { PLUGINS } from '../src/plugins/registry.js';
import type { PluginDefinition } from '../src/plugins/types.js';

/** A reusable answer too big for 512 bytes, counting how often the chain is really asked. */
let bigCalls = 0;
const big: PluginDefinition = {
  name: 'testbig',
  setup: () => ({
    name: 'testbig',
    fastAware: true,
    handle: (req) => {
      bigCalls++;
      return {
        rcode: 0,
        aa: true,
        answers: Array.from({ length: 60 }, (_, i) => ({ name: req.question.name, type: 'A', class: 'IN', ttl: 5, data: `10.1.0.${i}` })),
        authorities: [],
        additionals: [],
        fast: { until: Infinity },
      };
    },
  }),
};

const snapshot = path.join(repoRoot, 'examples', 'cluster.yaml');
let srv: RunningServer | null = null;
let up: FakeUpstream | null = null;
afterEach(async () => {
  await srv?.close();
  await up?.close();
  srv = null;
  up = null;
});

function corefile(upstream: string, extra = ''): string {
  return `.:0 {
  prometheus 127.0.0.1:0
  errors
${extra}  kubernetes cluster.local in-addr.arpa ip6.arpa {
    snapshot ${snapshot}
    pods insecure
    ttl 30
  }
  forward . ${upstream}
  cache 30 {
    disable success cluster.local
    disable denial cluster.local
  }
  loadbalance
}
`;
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  let sum = 0;
  for (const v of (m?.values ?? []) as any[]) {
    if (Object.entries(labels).every(([k, val]) => v.labels[k] === val)) sum += v.value;
  }
  return sum;
}

describe('answer fast path', () => {
  it('serves repeated queries with their own ID and EDNS size, and counts every one', async () => {
    up = await startFakeUpstream({ records: [] });
    srv = await startServer(corefile(up.address));
    const server = srv.server.instance!.blocks[0].server;
    const before = await metric('coredns_dns_requests_total', { server, type: 'A' });
    const missesBefore = await metric('coredns_cache_misses_total', { server });
    for (let i = 0; i < 20; i++) {
      const r = await query(srv.port, 'web.shop.svc.cluster.local.', 'A', { id: 1000 + i, udpSize: 1000 + i });
      expect(r.id).toBe(1000 + i);
      expect(r.answers?.map((a: any) => a.data)).toEqual(['10.96.10.20']);
      expect((r.answers?.[0] as any)?.ttl).toBe(30);
      expect((r.additionals?.find((a) => a.type === 'OPT') as any).udpPayloadSize).toBe(1000 + i);
    }
    expect(await metric('coredns_dns_requests_total', { server, type: 'A' })).toBe(before + 20);
    expect(await metric('coredns_cache_misses_total', { server })).toBe(missesBefore + 20);
    expect(srv.server.instance!.groups.values().next().value!.fast.size).toBeGreaterThan(0);
  });

  it('keeps the case of the question as asked, per spelling', async () => {
    up = await startFakeUpstream({ records: [] });
    srv = await startServer(corefile(up.address));
    for (const name of ['web.shop.svc.cluster.local.', 'WEB.Shop.svc.cluster.local.', 'web.shop.svc.cluster.local.', 'WEB.Shop.svc.cluster.local.']) {
      const r = await query(srv.port, name, 'A');
      expect(r.questions?.[0].name).toBe(name.slice(0, -1));
      expect(r.answers?.[0].name).toBe(name.slice(0, -1));
    }
  });

  it('counts cached upstream TTLs down on reused replies', async () => {
    up = await startFakeUpstream({ records: ['ext.example.test. 3600 IN A 192.0.2.7'] });
    srv = await startServer(corefile(up.address));
    const first = await query(srv.port, 'ext.example.test.', 'A');
    expect((first.answers?.[0] as any)?.ttl).toBe(30);
    await query(srv.port, 'ext.example.test.', 'A');
    await new Promise((r) => setTimeout(r, 2100));
    const later = await query(srv.port, 'ext.example.test.', 'A');
    expect((later.answers?.[0] as any)?.ttl).toBeLessThanOrEqual(28);
    expect((later.answers?.[0] as any)?.ttl).toBeGreaterThanOrEqual(27);
    expect(up.queries.udp + up.queries.tcp).toBe(1);
  }, 10000);

  it('shuffles the A records of a reused reply as loadbalance does', async () => {
    up = await startFakeUpstream({ records: [] });
    srv = await startServer(corefile(up.address));
    const orders = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const r = await query(srv.port, 'kube-dns.kube-system.svc.cluster.local.', 'SRV');
      expect(r.answers?.length).toBe(2);
      orders.add((r.additionals ?? []).filter((a) => a.type === 'A').map((a: any) => a.data).join(','));
      const h = await query(srv.port, 'db.shop.svc.cluster.local.', 'A');
      orders.add(h.answers!.map((a: any) => a.data).join(','));
    }
    expect(orders.has('10.244.1.30,10.244.2.30')).toBe(true);
    expect(orders.has('10.244.2.30,10.244.1.30')).toBe(true);
  });

  it('never reuses replies in a block with log: every query is logged', async () => {
    up = await startFakeUpstream({ records: [] });
    srv = await startServer(corefile(up.address, '  log\n'));
    for (let i = 0; i < 5; i++) await query(srv.port, 'web.shop.svc.cluster.local.', 'A');
    expect(srv.logs.filter((l) => l.includes('"A IN web.shop.svc.cluster.local. udp')).length).toBe(5);
    expect(srv.server.instance!.groups.values().next().value!.fast.size).toBe(0);
  });

  it('reuses a truncated reply only for the limit it was cut for', async () => {
    srv = await startServer('.:0 {\n  testbig\n}\n', { definitions: { ...PLUGINS, testbig: big } });
    bigCalls = 0;
    const cut1 = await exchangeRaw(srv.port, buildQuery('big.example.', 'A', { id: 1 }));
    const cut2 = await exchangeRaw(srv.port, buildQuery('big.example.', 'A', { id: 2 }));
    expect(cut1[2] & 0x02).toBe(0x02);
    expect(cut2.length).toBe(cut1.length);
    expect(cut2.readUInt16BE(0)).toBe(2);
    expect(bigCalls).toBe(1);
    // EDNS with room for everything: a different key, the full answer, no TC.
    const full = await query(srv.port, 'big.example.', 'A', { udpSize: 4096 });
    expect(full.answers?.length).toBe(60);
    expect(((full.flags ?? 0) & 0x200) === 0).toBe(true);
    // EDNS with a smaller limit than a stored full reply: not served from it.
    const small = await exchangeRaw(srv.port, buildQuery('big.example.', 'A', { udpSize: 600 }));
    expect(small.length).toBeLessThanOrEqual(600);
    expect(small[2] & 0x02).toBe(0x02);
  });
});
