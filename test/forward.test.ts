// forward end to end: kdns in-process, fake upstreams on 127.0.0.1, queries over the wire.

import { describe, it, expect, afterEach } from 'vitest';
import { startServer, query, type RunningServer } from './harness.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from './fake-upstream.js';
import { registry } from '../src/metrics/registry.js';
import type { Forward } from '../src/plugins/forward/forward.js';
import { makeRequest } from '../src/dns/request.js';

const servers: RunningServer[] = [];
const upstreams: FakeUpstream[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

async function upstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const u = await startFakeUpstream({ records: ['ext.test. 3600 IN A 1.2.3.4'], ...opts });
  upstreams.push(u);
  return u;
}

async function kdns(body: string): Promise<RunningServer> {
  const s = await startServer(`.:0 {\n${body}\n}\n`);
  servers.push(s);
  return s;
}

function forwardOf(s: RunningServer, index = 0): Forward {
  return s.server.instance!.allPlugins().filter((p) => p.name === 'forward')[index] as Forward;
}

const answerOf = (r: Awaited<ReturnType<typeof query>>) => r.answers?.map((a: any) => a.data);

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('forward', () => {
  it('relays the upstream answer with its flags and TTLs, sending the question as the client wrote it', async () => {
    const up = await upstream();
    const s = await kdns(`forward . ${up.address}`);
    const r = await query(s.port, 'EXT.Test', 'A', { udpSize: 1232, do: true });
    expect(r.rcode).toBe('NOERROR');
    expect(r.flag_aa).toBe(true);
    expect(r.answers).toMatchObject([{ name: 'ext.test', type: 'A', ttl: 3600, data: '1.2.3.4' }]);
    expect(up.queries.log[0]).toMatchObject({ name: 'EXT.Test', type: 'A', proto: 'udp', rd: true, edns: { udpSize: 1232, do: true } });

    const nx = await query(s.port, 'missing.test', 'A');
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(up.queries.log[1].edns).toBeUndefined();
  });

  it('forwards other classes too (CH TXT)', async () => {
    const up = await upstream({ records: ['version.bind. 0 CH TXT "fake-1.0"'] });
    const s = await kdns(`forward . ${up.address}`);
    const r = await query(s.port, 'version.bind', 'TXT', { qclass: 'CH' });
    expect(r.rcode).toBe('NOERROR');
    expect(r.answers?.map((a: any) => String((a.data as Buffer[])[0]))).toEqual(['fake-1.0']);
  });

  it('uses a new random ID and a new source port for every upstream query', async () => {
    const up = await upstream();
    const s = await kdns(`forward . ${up.address}`);
    for (let i = 0; i < 12; i++) await query(s.port, 'ext.test', 'A', { id: 1000 });
    const ports = up.sourcePorts();
    expect(ports).toHaveLength(12);
    expect(new Set(ports).size).toBeGreaterThanOrEqual(11);
    const ids = up.queries.log.map((q) => q.id);
    expect(ids).not.toContain(1000);
    expect(new Set(ids).size).toBeGreaterThanOrEqual(11);
  });

  it('answers from the second upstream when the first is silent, within the 5 s deadline', async () => {
    const dead = await upstream({ mode: 'silent' });
    const good = await upstream();
    const s = await kdns(`forward . ${dead.address} ${good.address} {\n policy sequential\n}`);
    const t0 = Date.now();
    const r = await query(s.port, 'ext.test', 'A', { timeoutMs: 6000 });
    const took = Date.now() - t0;
    expect(answerOf(r)).toEqual(['1.2.3.4']);
    expect(took).toBeGreaterThanOrEqual(1900); // the silent one had its 2 s read timeout
    expect(took).toBeLessThan(5000);
    expect(dead.queries.udp).toBeGreaterThanOrEqual(1);
  });

  it('answers SERVFAIL with the I/O error once the deadline passes without any reply', async () => {
    const dead = await upstream({ mode: 'silent' });
    const s = await kdns(`forward . ${dead.address} {\n max_fails 0\n}`);
    const t0 = Date.now();
    // On the wire, and through the plugin directly for the error the errors plugin logs.
    const [r, res] = await Promise.all([
      query(s.port, 'ext.test', 'A', { timeoutMs: 8000 }),
      forwardOf(s).handle(makeRequest('ext.test', 1), () => { throw new Error('no next'); }),
    ]);
    expect(r.rcode).toBe('SERVFAIL');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4900);
    expect(Date.now() - t0).toBeLessThan(6500);
    expect(res.rcode).toBe(2);
    expect(res.error?.message).toMatch(/^read udp 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: i\/o timeout$/);
  }, 20_000);

  it('drops replies with a wrong ID and waits for the real one', async () => {
    const up = await upstream({ mode: 'wrongId' });
    const s = await kdns(`forward . ${up.address}`);
    const r = await query(s.port, 'ext.test', 'A');
    expect(r.rcode).toBe('NOERROR');
    expect(answerOf(r)).toEqual(['1.2.3.4']);
    expect(forwardOf(s).upstreams[0].dropped).toBe(1);
  });

  it('drops replies for another question and waits for the real one, over TCP too', async () => {
    const up = await upstream({ mode: 'wrongQuestion' });
    const s = await kdns(`forward . ${up.address}`);
    expect(answerOf(await query(s.port, 'ext.test', 'A'))).toEqual(['1.2.3.4']);
    expect(answerOf(await query(s.port, 'ext.test', 'A', { tcp: true }))).toEqual(['1.2.3.4']);
    expect(forwardOf(s).upstreams[0].dropped).toBe(2);
  });

  it('relays a truncated UDP reply to a UDP client, which then gets the full answer over TCP', async () => {
    const up = await upstream({ mode: 'truncate' });
    const s = await kdns(`forward . ${up.address}`);
    const udp = await query(s.port, 'ext.test', 'A');
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);
    const tcp = await query(s.port, 'ext.test', 'A', { tcp: true });
    expect(answerOf(tcp)).toEqual(['1.2.3.4']);
    expect(up.queries).toMatchObject({ udp: 1, tcp: 1 });
  });

  it('with prefer_udp, retries a truncated UDP reply over TCP', async () => {
    const up = await upstream({ mode: 'truncate' });
    const s = await kdns(`forward . ${up.address} {\n prefer_udp\n}`);
    const r = await query(s.port, 'ext.test', 'A', { tcp: true });
    expect(r.flag_tc).toBe(false);
    expect(answerOf(r)).toEqual(['1.2.3.4']);
    expect(up.queries.log.map((q) => q.proto)).toEqual(['udp', 'tcp']);
  });

  it('with force_tcp, uses TCP for UDP clients and reuses the connection', async () => {
    const up = await upstream();
    const s = await kdns(`forward . ${up.address} {\n force_tcp\n}`);
    for (let i = 0; i < 3; i++) expect(answerOf(await query(s.port, 'ext.test', 'A'))).toEqual(['1.2.3.4']);
    expect(up.queries).toMatchObject({ udp: 0, tcp: 3 });
    expect(up.connections()).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain(`coredns_proxy_conn_cache_misses_total{proxy_name="forward",to="${up.address}",proto="tcp"} 1`);
    expect(text).toContain(`coredns_proxy_conn_cache_hits_total{proxy_name="forward",to="${up.address}",proto="tcp"} 2`);
  });

  it('closes pooled connections once they have been idle for expire', async () => {
    const up = await upstream();
    const s = await kdns(`forward . ${up.address} {\n force_tcp\n expire 200ms\n}`);
    await query(s.port, 'ext.test', 'A');
    expect(forwardOf(s).upstreams[0].idleConns).toBe(1);
    await until(() => forwardOf(s).upstreams[0].idleConns === 0, 2000);
    await query(s.port, 'ext.test', 'A');
    expect(up.connections()).toBe(2);
  });

  it('answers REFUSED above max_concurrent queries in flight', async () => {
    const up = await upstream({ delayMs: 300 });
    const s = await kdns(`forward . ${up.address} {\n max_concurrent 2\n}`);
    const before = (await registry.getSingleMetric('coredns_forward_max_concurrent_rejects_total')!.get()).values[0]?.value ?? 0;
    const rs = await Promise.all(Array.from({ length: 5 }, () => query(s.port, 'ext.test', 'A')));
    const codes = rs.map((r) => r.rcode).sort();
    expect(codes).toEqual(['NOERROR', 'NOERROR', 'REFUSED', 'REFUSED', 'REFUSED']);
    const after = (await registry.getSingleMetric('coredns_forward_max_concurrent_rejects_total')!.get()).values[0].value;
    expect(after - before).toBe(3);
  });

  it('passes names under except (and outside FROM) to the next plugin', async () => {
    const up = await upstream();
    const s = await kdns(`forward test. ${up.address} {\n except skip.test\n}\nwhoami`);
    const skipped = await query(s.port, 'a.skip.test', 'A');
    expect(skipped.additionals?.[0]).toMatchObject({ type: 'A', data: '127.0.0.1' }); // whoami
    const outside = await query(s.port, 'example.org', 'A');
    expect(outside.additionals?.[0]).toMatchObject({ type: 'A' });
    expect(answerOf(await query(s.port, 'ext.test', 'A'))).toEqual(['1.2.3.4']);
    expect(up.queries.log.map((q) => q.name)).toEqual(['ext.test']);
  });

  it('asks upstreams in configured order with policy sequential, in turn with round_robin', async () => {
    const a = await upstream();
    const b = await upstream();
    const s = await kdns(`forward . ${a.address} ${b.address} {\n policy sequential\n}`);
    for (let i = 0; i < 6; i++) await query(s.port, 'ext.test', 'A');
    expect([a.queries.udp, b.queries.udp]).toEqual([6, 0]);

    const c = await upstream();
    const d = await upstream();
    const rr = await kdns(`forward . ${c.address} ${d.address} {\n policy round_robin\n}`);
    for (let i = 0; i < 6; i++) await query(rr.port, 'ext.test', 'A');
    expect([c.queries.udp, d.queries.udp]).toEqual([3, 3]);
  });

  it('tries the next upstream on a failover rcode', async () => {
    const broken = await upstream({ handler: () => ({ rcode: 'SERVFAIL' }) });
    const good = await upstream();
    const s = await kdns(`forward . ${broken.address} ${good.address} {\n policy sequential\n failover SERVFAIL\n}`);
    expect(answerOf(await query(s.port, 'ext.test', 'A'))).toEqual(['1.2.3.4']);
    expect(broken.queries.udp).toBe(1);
  });

  it('relays the failover rcode once every upstream has answered with one', async () => {
    const a = await upstream({ handler: () => ({ rcode: 'SERVFAIL' }) });
    const b = await upstream({ handler: () => ({ rcode: 'SERVFAIL' }) });
    const s = await kdns(`forward . ${a.address} ${b.address} {\n failover SERVFAIL\n}`);
    const t0 = Date.now();
    expect((await query(s.port, 'ext.test', 'A')).rcode).toBe('SERVFAIL');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect([a.queries.udp, b.queries.udp]).toEqual([1, 1]);
  });

  it('hands the query to the next forward on a `next` rcode', async () => {
    const first = await upstream({ records: [] });
    const second = await upstream();
    const s = await kdns(`forward . ${first.address} {\n next NXDOMAIN\n}\nforward . ${second.address}`);
    expect(answerOf(await query(s.port, 'ext.test', 'A'))).toEqual(['1.2.3.4']);
    expect([first.queries.udp, second.queries.udp]).toEqual([1, 1]);
  });

  it('marks an upstream down after max_fails failed health checks and up again when it answers', async () => {
    const flaky = await upstream({ mode: 'silent' });
    const good = await upstream();
    const s = await kdns(`forward . ${flaky.address} ${good.address} {\n policy sequential\n health_check 100ms\n max_fails 2\n}`);
    const up0 = forwardOf(s).upstreams[0];

    // The first query times out on the silent upstream, which starts its health checks.
    expect(answerOf(await query(s.port, 'ext.test', 'A', { timeoutMs: 6000 }))).toEqual(['1.2.3.4']);
    await until(() => up0.down(2), 4000);

    // Down: skipped at once, no 2 s wait.
    const before = flaky.queries.log.filter((q) => q.name === 'ext.test').length;
    const t0 = Date.now();
    expect(answerOf(await query(s.port, 'ext.test', 'A'))).toEqual(['1.2.3.4']);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(flaky.queries.log.filter((q) => q.name === 'ext.test').length).toBe(before);
    // The probes are `. IN NS` with RD.
    expect(flaky.queries.log.find((q) => q.type === 'NS')).toMatchObject({ name: '.', rd: true });

    // It answers again: the next probe brings it back and queries go to it first.
    flaky.setMode('normal');
    await until(() => !up0.down(2), 3000);
    await query(s.port, 'ext.test', 'A');
    expect(flaky.queries.log.filter((q) => q.name === 'ext.test').length).toBe(before + 1);

    const text = await registry.metrics();
    expect(text).toMatch(new RegExp(`coredns_proxy_healthcheck_failures_total\\{proxy_name="forward",to="${flaky.address}"\\} [2-9]`));
    expect(text).toMatch(new RegExp(`coredns_forward_healthcheck_failures_total\\{to="${flaky.address}"\\} [2-9]`));
  }, 20_000);

  it('exports the proxy and the legacy forward metrics per upstream and rcode', async () => {
    const up = await upstream();
    const s = await kdns(`forward . ${up.address}`);
    await query(s.port, 'ext.test', 'A');
    await query(s.port, 'nope.test', 'A');
    const text = await registry.metrics();
    const to = up.address;
    expect(text).toContain(`coredns_proxy_request_duration_seconds_count{proxy_name="forward",to="${to}",rcode="NOERROR"} 1`);
    expect(text).toContain(`coredns_proxy_request_duration_seconds_count{proxy_name="forward",to="${to}",rcode="NXDOMAIN"} 1`);
    expect(text).toContain(`coredns_forward_requests_total{to="${to}"} 2`);
    expect(text).toContain(`coredns_forward_responses_total{to="${to}",rcode="NXDOMAIN"} 1`);
    expect(text).toContain(`coredns_forward_request_duration_seconds_count{to="${to}",rcode="NOERROR"} 1`);
  });
});
