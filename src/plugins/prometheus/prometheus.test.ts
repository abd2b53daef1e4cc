import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import dnsPacket from 'dns-packet';
import type { Directive } from '../../corefile/types.js';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { makeRequest } from '../../dns/request.js';
import { parseQuery } from '../../dns/query.js';
import { RCODE, typeNumber } from '../../dns/constants.js';
import { encodeResponse } from '../../dns/wire.js';
import { bindCounter, bindHistogram, m, registry } from '../../metrics/registry.js';
import type { SetupContext } from '../types.js';
import { markPluginsEnabled, metricsObserver, prometheus, replySize, resetPluginsEnabled, typeLabel, type PrometheusPlugin } from './index.js';

function directive(args: string[], block: Directive[] | null = null): Directive {
  return { name: 'prometheus', args, argTokens: args.map((text) => ({ text, file: 'Corefile', line: 2 })), block, file: 'Corefile', line: 2 };
}

const ctx = { block: { zones: ['.'], port: 53, server: 'dns://:53', bind: [], corefile: 'Corefile' } } as unknown as SetupContext;

/** A request as the server builds it from wire bytes. */
function wireRequest(name: string, type: string, o: { tcp?: boolean; family?: 1 | 2; do?: boolean; server?: string; zone?: string } = {}): DnsRequest {
  const raw = dnsPacket.encode({
    type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as any, class: 'IN' }],
    additionals: o.do ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as any] : [],
  });
  const p = parseQuery(raw);
  const r = makeRequest(name, typeNumber(type) ?? 65280, {
    proto: o.tcp ? 'tcp' : 'udp', family: o.family ?? 1, server: o.server ?? 'dns://:53', zone: o.zone ?? '.', edns: p.edns,
  });
  r.question = p.question!;
  r.raw = raw;
  return r;
}

function rr(name: string, type: string, ttl: number, data: unknown): RR {
  return { name, type, class: 'IN', ttl, data };
}

function get(port: number, path: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    }).on('error', reject);
  });
}

async function value(metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number; metricName?: string }[] }> }, labels: Record<string, string>, suffix?: string): Promise<number | undefined> {
  const g = await metric.get();
  const v = g.values.find((x) => (!suffix || x.metricName?.endsWith(suffix)) && Object.entries(labels).every(([k, val]) => String(x.labels[k]) === val));
  return v?.value;
}

describe('prometheus setup', () => {
  it('accepts no address, host:port and :port', () => {
    expect(prometheus.setup(directive([]), ctx)).toBeTruthy();
    expect(prometheus.setup(directive([':9153']), ctx)).toBeTruthy();
    expect(prometheus.setup(directive(['[::1]:9153']), ctx)).toBeTruthy();
  });

  it.each([
    [['localhost'], 'missing port in address'],
    [['a', 'b'], 'Wrong argument count'],
    [[':99999'], 'invalid port'],
  ])('rejects %j with file:line', (args, msg) => {
    expect(() => prometheus.setup(directive(args), ctx)).toThrow(msg);
    expect(() => prometheus.setup(directive(args), ctx)).toThrow(/^Corefile:2 - Error during parsing: plugin\/prometheus: /);
  });
});

describe('reply size without a second encoding', () => {
  const soa = { mname: 'ns.dns.cluster.local.', rname: 'hostmaster.cluster.local.', serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 };
  const cases: [string, DnsRequest, DnsResponse][] = [
    ['A', wireRequest('svc1.testns.svc.cluster.local.', 'A'), { rcode: 0, answers: [rr('svc1.testns.svc.cluster.local.', 'A', 5, '10.96.0.10')], authorities: [], additionals: [] }],
    ['AAAA with EDNS', wireRequest('x.', 'AAAA', { do: true }), { rcode: 0, answers: [rr('x.', 'AAAA', 5, 'fd00::1')], authorities: [], additionals: [] }],
    ['SRV + additionals', wireRequest('_http._tcp.s.ns.svc.cluster.local.', 'SRV'), {
      rcode: 0,
      answers: [rr('_http._tcp.s.ns.svc.cluster.local.', 'SRV', 5, { priority: 0, weight: 100, port: 80, target: 's.ns.svc.cluster.local.' })],
      authorities: [], additionals: [rr('s.ns.svc.cluster.local.', 'A', 5, '10.0.0.1')],
    }],
    ['NXDOMAIN + SOA', wireRequest('nope.cluster.local.', 'A'), { rcode: 3, answers: [], authorities: [rr('cluster.local.', 'SOA', 5, soa)], additionals: [] }],
    ['TXT, CNAME, MX, PTR', wireRequest('t.example.', 'TXT'), {
      rcode: 0,
      answers: [rr('t.example.', 'TXT', 5, ['a'.repeat(300), '', 'bc']), rr('c.example.', 'CNAME', 5, 't.example.'), rr('t.example.', 'MX', 5, { preference: 1, exchange: 'mx.example.' }), rr('1.0.0.10.in-addr.arpa.', 'PTR', 5, 'x.example.')],
      authorities: [], additionals: [],
    }],
    ['root and escaped names', wireRequest('.', 'NS'), { rcode: 0, answers: [rr('.', 'NS', 5, 'a\\.b.example.')], authorities: [], additionals: [] }],
    ['TCP, raw RDATA', wireRequest('r.example.', 'TYPE65280', { tcp: true }), { rcode: 0, answers: [rr('r.example.', 'TYPE65280', 5, Buffer.from([1, 2, 3]))], authorities: [], additionals: [] }],
    ['UDP overflow (compressed and truncated)', wireRequest('big.example.', 'A'), {
      rcode: 0, answers: Array.from({ length: 60 }, (_, i) => rr('big.example.', 'A', 5, `10.0.0.${i}`)), authorities: [], additionals: [],
    }],
  ];
  it.each(cases)('matches the encoded length: %s', (_n, req, res) => {
    const limit = req.proto === 'tcp' ? 65535 : req.edns ? Math.max(512, req.edns.udpSize) : 512;
    const wire = encodeResponse({ id: req.id, opcode: 0, rd: req.rd, cd: req.cd, question: req.question, edns: req.edns }, res, limit);
    expect(replySize(req, res)).toBe(wire.length);
  });
});

describe('bound metric children', () => {
  it('fold into the exposition exactly as labels().observe()/inc() would, also after a reset', async () => {
    const a = { server: 'dns://:31100', zone: '.', view: '', proto: 'udp' };
    const b = { ...a, server: 'dns://:31101' };
    const bound = bindHistogram(m.requestSize, a);
    for (const v of [0, 50, 511, 512, 70000]) { bound.observe(v); m.requestSize.labels(b).observe(v); }
    const text = await registry.getSingleMetricAsString('coredns_dns_request_size_bytes');
    const pick = (server: string) => text.split('\n').filter((l) => l.includes(`server="${server}"`)).map((l) => l.replace(server, 'S'));
    expect(pick(a.server)).toEqual(pick(b.server));
    expect(pick(a.server)).toContain('coredns_dns_request_size_bytes_count{server="S",zone=".",view="",proto="udp"} 5');
    const c = bindCounter(m.doRequests, { server: 'dns://:31102', zone: '.', view: '' });
    c.inc(); c.inc();
    expect(await value(m.doRequests, { server: 'dns://:31102' })).toBe(2);
    m.doRequests.reset();
    c.inc();
    expect(await value(m.doRequests, { server: 'dns://:31102' })).toBe(1);
  });
});

describe('prometheus handler and /metrics', () => {
  let plugin: PrometheusPlugin | null = null;
  afterEach(async () => {
    await plugin?.close?.();
    plugin = null;
  });

  it('labels query types from the fixed list, else "other"', () => {
    expect(typeLabel('A')).toBe('A');
    expect(typeLabel('SVCB')).toBe('SVCB');
    expect(typeLabel('HINFO')).toBe('other');
  });

  it('records requests, duration, sizes, DO and responses with CoreDNS labels', async () => {
    plugin = prometheus.setup(directive(['127.0.0.1:0']), ctx) as PrometheusPlugin;
    const server = 'dns://:31001';
    const req = wireRequest('svc1.testns.svc.cluster.local.', 'A', { server, do: true });
    const res: DnsResponse = { rcode: RCODE.NOERROR, answers: [rr(req.question.name, 'A', 30, '10.96.0.10')], authorities: [], additionals: [], plugin: 'kubernetes' };
    const out = plugin.handle!(req, () => res);
    expect(out).toBe(res);
    await plugin.handle!(wireRequest('x.cluster.local.', 'HINFO', { server, tcp: true, family: 2 }), async () => ({ rcode: RCODE.NXDOMAIN, answers: [], authorities: [], additionals: [] }));

    const base = { server, zone: '.', view: '' };
    expect(await value(m.requests, { ...base, proto: 'udp', family: '1', type: 'A' })).toBe(1);
    expect(await value(m.requests, { ...base, proto: 'tcp', family: '2', type: 'other' })).toBe(1);
    expect(await value(m.doRequests, base)).toBe(1);
    expect(await value(m.responses, { ...base, rcode: 'NOERROR', plugin: 'kubernetes' })).toBe(1);
    expect(await value(m.responses, { ...base, rcode: 'NXDOMAIN', plugin: '' })).toBe(1);
    expect(await value(m.requestDuration, base, '_count')).toBe(2);
    expect(await value(m.requestSize, { ...base, proto: 'udp' }, '_sum')).toBe(req.raw.length);
    expect(await value(m.responseSize, { ...base, proto: 'udp' }, '_sum')).toBe(replySize(req, res));
  });

  it('serves the registry on /metrics from its own listener and releases it on close', async () => {
    plugin = prometheus.setup(directive(['127.0.0.1:0']), ctx) as PrometheusPlugin;
    await plugin.start!();
    const port = plugin.port()!;
    expect(port).toBeGreaterThan(0);
    const r = await get(port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain');
    expect(r.body).toMatch(/^coredns_build_info\{goversion="[^"]+",revision="[^"]*",version="[^"]+"\} 1$/m);
    expect(r.body).toMatch(/^coredns_panics_total \d+$/m);
    expect(r.body).toMatch(/^process_cpu_seconds_total /m);
    expect(r.body).toMatch(/^go_goroutines \d+$/m);
    expect((await get(port, '/other')).status).toBe(404);
    await plugin.close!();
    plugin = null;
    await expect(get(port, '/metrics')).rejects.toThrow();
  });

  it('marks plugins enabled per server, zone and name', async () => {
    resetPluginsEnabled();
    markPluginsEnabled('dns://:53', ['.'], ['errors', 'prometheus', 'kubernetes', 'cache']);
    const text = await registry.getSingleMetricAsString('coredns_plugin_enabled');
    expect(text).toContain('coredns_plugin_enabled{server="dns://:53",zone=".",view="",name="kubernetes"} 1');
    expect(text).toContain('coredns_plugin_enabled{server="dns://:53",zone=".",view="",name="cache"} 1');
    resetPluginsEnabled();
    expect(await registry.getSingleMetricAsString('coredns_plugin_enabled')).not.toContain('name="cache"');
  });

  it('observer counts unrouted queries in zone "dropped" and panics', async () => {
    const server = 'dns://:31002';
    const req = wireRequest('elsewhere.', 'A', { server, zone: 'dropped' });
    const res: DnsResponse = { rcode: RCODE.REFUSED, answers: [], authorities: [], additionals: [] };
    metricsObserver.unrouted!(req, res, 29);
    expect(await value(m.requests, { server, zone: 'dropped', view: '', proto: 'udp', family: '1', type: 'A' })).toBe(1);
    expect(await value(m.responses, { server, zone: 'dropped', view: '', rcode: 'REFUSED', plugin: '' })).toBe(1);
    expect(await value(m.responseSize, { server, zone: 'dropped', proto: 'udp' }, '_sum')).toBe(29);
    const before = (await m.panics.get()).values[0].value;
    metricsObserver.panic!(new Error('boom'));
    expect((await m.panics.get()).values[0].value).toBe(before + 1);
  });
});
