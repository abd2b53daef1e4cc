import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import type { Directive } from '../../corefile/types.js';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { makeRequest } from '../../dns/request.js';
import { RCODE, typeNumber } from '../../dns/constants.js';
import { encodeResponse } from '../../dns/wire.js';
import { m } from '../../metrics/registry.js';
import type { Handler } from '../types.js';
import { Cache } from './cache.js';
import { parseCacheDirective } from './config.js';

function directive(args: string[], block: string[][] | null = null): Directive {
  const at = { file: 'Corefile', line: 3 };
  return {
    name: 'cache',
    args,
    argTokens: args.map((text) => ({ text, ...at })),
    block: block
      ? block.map(([name, ...a], i) => ({ name, args: a, argTokens: a.map((text) => ({ text, file: 'Corefile', line: 4 + i })), block: null, file: 'Corefile', line: 4 + i }))
      : null,
    ...at,
  };
}

function query(name: string, type: string, o: { do?: boolean; cd?: boolean; ad?: boolean; server?: string } = {}): DnsRequest {
  const r = makeRequest(name, typeNumber(type)!, {
    edns: o.do ? { udpSize: 1232, version: 0, do: true, options: [] } : null,
    cd: o.cd,
    server: o.server ?? 'dns://:53',
  });
  if (o.ad) r.ad = true;
  return r;
}

function rr(name: string, type: string, ttl: number, data: unknown): RR {
  return { name, type, class: 'IN', ttl, data };
}

const SOA_DATA = { mname: 'ns.dns.cluster.local.', rname: 'hostmaster.cluster.local.', serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 };

function reply(rcode: number, answers: RR[], authorities: RR[] = [], extra: Partial<DnsResponse> = {}): DnsResponse {
  return { rcode, answers, authorities, additionals: [], plugin: 'backend', ...extra };
}

/** A next plugin that answers from `fn` and counts how often it was asked. */
function fakeNext(fn: (req: DnsRequest, n: number) => DnsResponse | Promise<DnsResponse>): Handler & { calls: number; reqs: DnsRequest[] } {
  const h = ((req: DnsRequest) => {
    h.calls++;
    h.reqs.push(req);
    return fn(req, h.calls);
  }) as Handler & { calls: number; reqs: DnsRequest[] };
  h.calls = 0;
  h.reqs = [];
  return h;
}

const aRecord = (name: string, ttl = 300, ip = '10.0.0.1') => reply(RCODE.NOERROR, [rr(name, 'A', ttl, ip)]);

/** Let background refreshes (prefetch, serve_stale) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

const SOA = (ttl: number) => rr('cluster.local.', 'SOA', ttl, SOA_DATA);
const log = { info() {}, warn() {}, error() {}, debug() {} };

/** A cache with a hand-driven clock (ms). */
function makeCache(args: string[] = [], block: string[][] | null = null, zones = ['.']) {
  const clock = { t: 1_000_000 };
  const c = new Cache(parseCacheDirective(directive(args, block), zones), log, () => clock.t);
  const tick = (s: number) => { clock.t += s * 1000; };
  return { c, clock, tick };
}

let serverN = 0;
/** A server label of its own per test, so metric values do not leak between tests. */
function server(): string {
  return `dns://:${20000 + ++serverN}`;
}

function metric(metricObj: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, labels: Record<string, string>): Promise<number> {
  return metricObj.get().then((g) => {
    const v = g.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
    return v ? v.value : 0;
  });
}

function ttls(res: DnsResponse): number[] {
  return [...res.answers, ...res.authorities, ...res.additionals].map((r) => r.ttl);
}

describe('cache setup', () => {
  it('defaults to 9984 entries, 3600/1800 s max TTL, 5 s min TTL and 5 s servfail', () => {
    const cfg = parseCacheDirective(directive([]), ['cluster.local.']);
    expect(cfg.zones).toEqual(['cluster.local.']);
    expect(cfg.success).toEqual({ capacity: 9984, maxTtl: 3600, minTtl: 5 });
    expect(cfg.denial).toEqual({ capacity: 9984, maxTtl: 1800, minTtl: 5 });
    expect(cfg.servfailTtl).toBe(5);
    expect(cfg.prefetch.amount).toBe(0);
    expect(cfg.staleUpTo).toBe(0);
  });

  it('takes a first numeric argument as the max TTL for both caches and the rest as zones', () => {
    const cfg = parseCacheDirective(directive(['30', 'Example.ORG', '10.0.0.0/8']), ['.']);
    expect(cfg.success.maxTtl).toBe(30);
    expect(cfg.denial.maxTtl).toBe(30);
    expect(cfg.zones).toEqual(['example.org.', '10.in-addr.arpa.']);
  });

  it('parses every block option', () => {
    const cfg = parseCacheDirective(directive(['30'], [
      ['success', '5000', '600', '10'], ['denial', '2560', '60'], ['prefetch', '10', '2m', '20%'],
      ['serve_stale', '10m', 'verify'], ['servfail', '10s'], ['disable', 'success', 'cluster.local'],
      ['disable', 'denial'], ['keepttl'],
    ]), ['.']);
    expect(cfg.success).toEqual({ capacity: 4864, maxTtl: 600, minTtl: 10 });
    expect(cfg.denial).toEqual({ capacity: 2560, maxTtl: 60, minTtl: 5 });
    expect(cfg.prefetch).toEqual({ amount: 10, windowMs: 120_000, percentage: 20 });
    expect(cfg.staleUpTo).toBe(600);
    expect(cfg.verifyStale).toBe(true);
    expect(cfg.servfailTtl).toBe(10);
    expect(cfg.successExcept).toEqual(['cluster.local.']);
    expect(cfg.denialExcept).toEqual(['.']);
    expect(cfg.keepTtl).toBe(true);
  });

  it('rounds small capacities up to 256 shards of 4 entries, as CoreDNS', () => {
    expect(parseCacheDirective(directive([], [['success', '10']]), ['.']).success.capacity).toBe(1024);
  });

  it.each([
    [['0'], null, 'cache TTL can not be zero or negative: 0'],
    [[], [['success']], 'Wrong argument count'],
    [[], [['success', 'x']], 'invalid syntax'],
    [[], [['denial', '10', '0']], 'cache TTL can not be zero or negative'],
    [[], [['success', '10', '10', '-1']], 'cache min TTL can not be negative'],
    [[], [['prefetch', '1', '1m', '5%']], 'percentage should fall in range [10, 90]: 5'],
    [[], [['prefetch', '1', 'soon']], 'invalid duration'],
    [[], [['servfail', '6m']], 'caching SERVFAIL responses over 5 minutes is not permitted'],
    [[], [['serve_stale', '1h', 'later']], 'invalid value for serve_stale refresh mode: later'],
    [[], [['disable', 'everything']], 'must be "success" or "denial"'],
    [[], [['bogus']], "unknown property 'bogus'"],
  ] as [string[], string[][] | null, string][])('rejects %j %j with file:line', (args, block, msg) => {
    expect(() => parseCacheDirective(directive(args, block), ['.'])).toThrow(msg);
    expect(() => parseCacheDirective(directive(args, block), ['.'])).toThrow(/^Corefile:\d+ - Error during parsing: plugin\/cache: /);
  });
});

describe('cache handler', () => {
  it('sets every TTL of a passing reply to one clamped duration (cache 30: 28800 s TXT -> 30)', () => {
    const { c } = makeCache(['30']);
    const next = fakeNext(() => reply(RCODE.NOERROR, [rr('dns-version.cluster.local.', 'TXT', 28800, '1.1.0')]));
    const res = c.handle(query('dns-version.cluster.local.', 'TXT'), next) as DnsResponse;
    expect(ttls(res)).toEqual([30]);
  });

  it('uses the lowest TTL in the message, SOA included, and raises 0 to MINTTL', () => {
    const { c } = makeCache();
    const next = fakeNext((req) => req.question.name.startsWith('zero')
      ? aRecord(req.question.name, 0)
      : reply(RCODE.NOERROR, [rr(req.question.name, 'A', 300, '10.0.0.1')], [rr('svc.', 'NS', 100, 'ns.svc.')], { additionals: [rr('ns.svc.', 'A', 60, '10.0.0.9')] }));
    expect(ttls(c.handle(query('zero.svc.', 'A'), next) as DnsResponse)).toEqual([5]);
    expect(ttls(c.handle(query('many.svc.', 'A'), next) as DnsResponse)).toEqual([60, 60, 60]);
  });

  it('does not modify the records the next plugin returned', () => {
    const { c } = makeCache(['30']);
    const shared = rr('a.svc.', 'A', 300, '10.0.0.1');
    c.handle(query('a.svc.', 'A'), fakeNext(() => reply(RCODE.NOERROR, [shared])));
    expect(shared.ttl).toBe(300);
  });

  it('answers a repeated query from the cache with AA set and the TTL counted down', () => {
    const { c, tick } = makeCache(['30']);
    const next = fakeNext((req) => aRecord(req.question.name, 300));
    c.handle(query('a.svc.', 'A'), next);
    tick(12);
    const hit = c.handle(query('a.svc.', 'A'), next) as DnsResponse;
    expect(next.calls).toBe(1);
    expect(hit.aa).toBe(true);
    expect(hit.plugin).toBe('cache');
    expect(ttls(hit)).toEqual([18]);
    expect(hit.answers[0].data).toBe('10.0.0.1');
  });

  it('answers a CH query for a cached name from the IN entry, as CoreDNS (class not in the key)', () => {
    const { c } = makeCache(['30']);
    const next = fakeNext((req) => aRecord(req.question.name, 300));
    c.handle(query('a.svc.', 'A'), next);
    const ch = query('a.svc.', 'A');
    ch.question = { ...ch.question, qclass: 3 };
    const hit = c.handle(ch, next) as DnsResponse;
    expect(next.calls).toBe(1);
    expect(hit.answers[0].data).toBe('10.0.0.1');
  });

  it('keeps the stored TTL on hits with keepttl', () => {
    const { c, tick } = makeCache(['30'], [['keepttl']]);
    const next = fakeNext((req) => aRecord(req.question.name, 300));
    c.handle(query('a.svc.', 'A'), next);
    tick(12);
    expect(ttls(c.handle(query('a.svc.', 'A'), next) as DnsResponse)).toEqual([30]);
  });

  it('asks again once the entry expired', () => {
    const { c, tick } = makeCache(['30']);
    const next = fakeNext((req) => aRecord(req.question.name, 300));
    c.handle(query('a.svc.', 'A'), next);
    tick(30);
    c.handle(query('a.svc.', 'A'), next);
    expect(next.calls).toBe(2);
  });

  it('matches the name case-insensitively and replies with the current query question', () => {
    const { c } = makeCache();
    const next = fakeNext((req) => aRecord(req.question.name, 300));
    c.handle(query('web.default.svc.cluster.local.', 'A'), next);
    const req = query('WeB.Default.SVC.cluster.local.', 'A');
    const hit = c.handle(req, next) as DnsResponse;
    expect(next.calls).toBe(1);
    expect(hit.question).toBeUndefined();
    const wire = encodeResponse({ id: 7, opcode: 0, rd: true, cd: false, question: req.question, edns: null }, hit, 512);
    const decoded = dnsPacket.decode(wire);
    expect(decoded.questions![0].name).toBe('WeB.Default.SVC.cluster.local');
    expect(decoded.flags! & dnsPacket.AUTHORITATIVE_ANSWER).toBeTruthy();
  });

  it('keys on the DO and CD bits', () => {
    const { c } = makeCache();
    const next = fakeNext((req) => aRecord(req.question.name));
    for (const o of [{}, { do: true }, { cd: true }, { do: true, cd: true }, {}, { do: true }, { cd: true }, { do: true, cd: true }]) {
      c.handle(query('a.svc.', 'A', o), next);
    }
    expect(next.calls).toBe(4);
  });

  it('caches NXDOMAIN and NODATA with an SOA in the denial cache for the SOA-clamped TTL', async () => {
    const { c, tick } = makeCache();
    const s = server();
    const next = fakeNext((req) => req.question.type === 'AAAA'
      ? reply(RCODE.NOERROR, [], [SOA(30)])
      : reply(RCODE.NXDOMAIN, [], [SOA(30)]));
    const first = c.handle(query('nope.svc.', 'A', { server: s }), next) as DnsResponse;
    expect(ttls(first)).toEqual([30]);
    const hit = c.handle(query('nope.svc.', 'A', { server: s }), next) as DnsResponse;
    expect(hit.rcode).toBe(RCODE.NXDOMAIN);
    c.handle(query('a.svc.', 'AAAA', { server: s }), next);
    tick(10);
    const nodata = c.handle(query('a.svc.', 'AAAA', { server: s }), next) as DnsResponse;
    expect(nodata.rcode).toBe(RCODE.NOERROR);
    expect(ttls(nodata)).toEqual([20]);
    expect(next.calls).toBe(2);
    expect(await metric(m.cacheHits, { server: s, type: 'denial' })).toBe(2);
    expect(await metric(m.cacheEntries, { server: s, type: 'denial' })).toBe(2);
  });

  it('does not store NXDOMAIN without an SOA, REFUSED, truncated replies or zone transfers', () => {
    const { c } = makeCache();
    const cases: [string, string, DnsResponse][] = [
      ['nxd.svc.', 'A', reply(RCODE.NXDOMAIN, [])],
      ['refused.svc.', 'A', reply(RCODE.REFUSED, [])],
      ['formerr.svc.', 'A', reply(RCODE.FORMERR, [])],
      ['tc.svc.', 'A', { ...aRecord('tc.svc.'), tc: true }],
      ['zone.svc.', 'AXFR', reply(RCODE.NOERROR, [SOA(30)])],
    ];
    for (const [name, type, res] of cases) {
      const next = fakeNext(() => res);
      c.handle(query(name, type), next);
      c.handle(query(name, type), next);
      expect(next.calls, `${name} ${type}`).toBe(2);
    }
  });

  it('caches SERVFAIL for the servfail duration only, and not at all with servfail 0', () => {
    const { c, tick } = makeCache();
    const next = fakeNext(() => reply(RCODE.SERVFAIL, []));
    c.handle(query('broken.svc.', 'A'), next);
    tick(4);
    const hit = c.handle(query('broken.svc.', 'A'), next) as DnsResponse;
    expect(hit.rcode).toBe(RCODE.SERVFAIL);
    expect(next.calls).toBe(1);
    tick(1);
    c.handle(query('broken.svc.', 'A'), next);
    expect(next.calls).toBe(2);

    const off = makeCache([], [['servfail', '0']]).c;
    const next2 = fakeNext(() => reply(RCODE.SERVFAIL, []));
    off.handle(query('broken.svc.', 'A'), next2);
    off.handle(query('broken.svc.', 'A'), next2);
    expect(next2.calls).toBe(2);
  });

  it('disable success/denial ZONES stops storing there but still rewrites TTLs', () => {
    const { c } = makeCache(['30'], [['disable', 'success', 'cluster.local'], ['disable', 'denial', 'cluster.local']]);
    const next = fakeNext((req) => req.question.name.startsWith('nx')
      ? reply(RCODE.NXDOMAIN, [], [SOA(60)])
      : aRecord(req.question.name, 300));
    for (const name of ['a.default.svc.cluster.local.', 'nx.default.svc.cluster.local.', 'example.com.', 'nx.example.com.']) {
      const res = c.handle(query(name, 'A'), next) as DnsResponse;
      expect(ttls(res).every((t) => t === 30), name).toBe(true);
      c.handle(query(name, 'A'), next);
    }
    // The two cluster.local names went to the next plugin twice, the others once.
    expect(next.calls).toBe(6);
  });

  it('passes queries outside its zones through untouched', () => {
    const { c } = makeCache(['30', 'example.org']);
    const next = fakeNext((req) => aRecord(req.question.name, 300));
    const res = c.handle(query('a.svc.cluster.local.', 'A'), next) as DnsResponse;
    c.handle(query('a.svc.cluster.local.', 'A'), next);
    expect(ttls(res)).toEqual([300]);
    expect(next.calls).toBe(2);
    c.handle(query('www.Example.org.', 'A'), next);
    c.handle(query('www.example.org.', 'A'), next);
    expect(next.calls).toBe(3);
  });

  it('waits for a next plugin that answers asynchronously', async () => {
    const { c } = makeCache(['30']);
    const next = fakeNext(async (req) => aRecord(req.question.name, 300));
    const res = await c.handle(query('a.svc.', 'A'), next);
    expect(ttls(res)).toEqual([30]);
    const hit = c.handle(query('a.svc.', 'A'), next) as DnsResponse;
    expect(hit.aa).toBe(true);
    expect(next.calls).toBe(1);
  });

  it('clears AD for clients that neither set DO nor AD', () => {
    const { c } = makeCache();
    const next = fakeNext((req) => ({ ...aRecord(req.question.name), ad: true }));
    expect((c.handle(query('a.svc.', 'A'), next) as DnsResponse).ad).toBe(false);
    expect((c.handle(query('a.svc.', 'A'), next) as DnsResponse).ad).toBe(false);
    expect((c.handle(query('a.svc.', 'A', { ad: true }), next) as DnsResponse).ad).toBe(true);
    expect((c.handle(query('b.svc.', 'A', { do: true }), next) as DnsResponse).ad).toBe(true);
  });

  it('prefetches a popular entry in the background when its TTL falls below the percentage', async () => {
    const { c, tick } = makeCache([], [['prefetch', '2', '1m', '50%']]);
    const s = server();
    const next = fakeNext((req, n) => aRecord(req.question.name, 100, `10.0.0.${n}`));
    c.handle(query('pop.svc.', 'A', { server: s }), next);
    tick(40); // ttl 60, above the 50 % threshold
    c.handle(query('pop.svc.', 'A', { server: s }), next);
    c.handle(query('pop.svc.', 'A', { server: s }), next);
    await settle();
    expect(next.calls).toBe(1);
    tick(20); // ttl 40: second hit within the window -> prefetch
    const served = c.handle(query('pop.svc.', 'A', { server: s }), next) as DnsResponse;
    expect(served.answers[0].data).toBe('10.0.0.1');
    expect(ttls(served)).toEqual([40]);
    await settle();
    expect(next.calls).toBe(2);
    expect(next.reqs[1].proto).toBe('tcp');
    const fresh = c.handle(query('pop.svc.', 'A', { server: s }), next) as DnsResponse;
    expect(fresh.answers[0].data).toBe('10.0.0.2');
    expect(ttls(fresh)).toEqual([100]);
    expect(await metric(m.cachePrefetch, { server: s })).toBe(1);
  });

  it('serves an expired entry with TTL 0 under serve_stale and refreshes it behind the reply', async () => {
    const { c, tick } = makeCache(['30'], [['serve_stale', '1h']]);
    const s = server();
    const next = fakeNext((req, n) => aRecord(req.question.name, 300, `10.0.0.${n}`));
    c.handle(query('old.svc.', 'A', { server: s }), next);
    tick(100);
    const stale = c.handle(query('old.svc.', 'A', { server: s }), next) as DnsResponse;
    expect(stale.answers[0].data).toBe('10.0.0.1');
    expect(ttls(stale)).toEqual([0]);
    await settle();
    expect(next.calls).toBe(2);
    const fresh = c.handle(query('old.svc.', 'A', { server: s }), next) as DnsResponse;
    expect(fresh.answers[0].data).toBe('10.0.0.2');
    expect(ttls(fresh)).toEqual([30]);
    expect(await metric(m.cacheServedStale, { server: s })).toBe(1);
    tick(3700);
    c.handle(query('old.svc.', 'A', { server: s }), next);
    expect(next.calls).toBe(3); // beyond the stale window: a plain miss
  });

  it('serve_stale verify asks the next plugin first and serves stale only when that fails', async () => {
    const { c, tick } = makeCache(['30'], [['serve_stale', '1h', 'verify']]);
    let upstream: 'ok' | 'down' = 'ok';
    const next = fakeNext(async (req, n) => upstream === 'ok' ? aRecord(req.question.name, 300, `10.0.0.${n}`) : reply(RCODE.SERVFAIL, []));
    await c.handle(query('v.svc.', 'A'), next);
    tick(100);
    upstream = 'down';
    const stale = await c.handle(query('v.svc.', 'A'), next);
    expect(stale.rcode).toBe(RCODE.NOERROR);
    expect(ttls(stale)).toEqual([0]);
    upstream = 'ok';
    const fresh = await c.handle(query('v.svc.', 'A'), next);
    expect(fresh.answers[0].data).toBe('10.0.0.3');
    expect(ttls(fresh)).toEqual([30]);
  });

  it('evicts when full and counts the evictions', async () => {
    const { c } = makeCache([], [['success', '1024']]);
    const s = server();
    const next = fakeNext((req) => aRecord(req.question.name));
    for (let i = 0; i <= 1024; i++) c.handle(query(`n${i}.svc.`, 'A', { server: s }), next);
    expect(c.success.size).toBe(1024);
    expect(await metric(m.cacheEvictions, { server: s, type: 'success' })).toBe(1);
    expect(await metric(m.cacheEntries, { server: s, type: 'success' })).toBe(1024);
    c.handle(query('n0.svc.', 'A', { server: s }), next); // the oldest went first
    expect(next.calls).toBe(1026);
  });

  it('counts requests, hits and misses with server, zones and view labels', async () => {
    const { c } = makeCache(['30', 'svc', 'example.org']);
    const s = server();
    const next = fakeNext((req) => aRecord(req.question.name));
    c.handle(query('a.svc.', 'A', { server: s }), next);
    c.handle(query('a.svc.', 'A', { server: s }), next);
    const base = { server: s, zones: 'svc.,example.org.', view: '' };
    expect(await metric(m.cacheRequests, base)).toBe(2);
    expect(await metric(m.cacheMisses, base)).toBe(1);
    expect(await metric(m.cacheHits, { ...base, type: 'success' })).toBe(1);
  });
});
