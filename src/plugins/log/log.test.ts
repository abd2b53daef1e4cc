import { describe, expect, it } from 'vitest';
import { emptyResponse, type DnsRequest, type DnsResponse } from '../../dns/message.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { makeRequest } from '../../dns/request.js';
import { encodeQuery, encodeResponse } from '../../dns/wire.js';
import { createLogger } from '../../log/logger.js';
import type { Plugin, SetupContext } from '../types.js';
import { log } from './index.js';
import { seconds } from './format.js';
import { directivesOf as directives } from '../testing.test-helper.js';

/** Set up every `log` line of `body` the way the server does (in order, peers visible). */
function setup(body: string) {
  const lines: string[] = [];
  let first: Plugin | undefined;
  for (const d of directives(body)) {
    const ctx = {
      log: createLogger({ write: (l) => lines.push(l) }),
      peer: (n: string) => (n === 'log' ? first : undefined),
    } as unknown as SetupContext;
    const p = log.setup(d, ctx) as Plugin;
    first ??= p;
  }
  return { p: first!, lines };
}

function query(name: string, qtype: number = TYPE.A, over: Partial<DnsRequest> = {}): DnsRequest {
  const req = makeRequest(name, qtype, { id: 26946, remoteAddress: '10.244.0.92', remotePort: 48081, ...over });
  req.raw = encodeQuery(req.id, { name: req.question.name, qtype });
  return req;
}

const nxdomain = (): DnsResponse => ({
  ...emptyResponse(RCODE.NXDOMAIN),
  aa: true,
  authorities: [{ name: 'cluster.local.', type: 'SOA', class: 'IN', ttl: 30, data: { mname: 'ns.dns.cluster.local.', rname: 'hostmaster.cluster.local.', serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 } }],
});
const answer = (): DnsResponse => ({
  ...emptyResponse(RCODE.NOERROR),
  aa: true,
  answers: [{ name: 'a.example.org.', type: 'A', class: 'IN', ttl: 5, data: '10.0.0.1' }],
});
const nodata = (): DnsResponse => ({ ...nxdomain(), rcode: RCODE.NOERROR });

describe('log', () => {
  it('writes the Common Log Format line with the encoded reply size and flags', () => {
    const { p, lines } = setup('log');
    const req = query('x.svc.Cluster.local.');
    const res = nxdomain();
    expect(p.handle!(req, () => res)).toBe(res);
    const size = encodeResponse({ id: req.id, opcode: 0, rd: true, cd: false, question: req.question, edns: null }, res, 512).length;
    expect(lines).toHaveLength(1);
    const m = /^\[INFO\] (.*) (\d+(?:\.\d+)?(?:e-\d+)?s)$/.exec(lines[0]);
    expect(m?.[1]).toBe(`10.244.0.92:48081 - 26946 "A IN x.svc.cluster.local. udp ${req.raw.length} false 512" NXDOMAIN qr,aa,rd ${size}`);
  });

  it('reports the EDNS buffer size and DO bit, and 65535 over TCP', () => {
    const { p, lines } = setup('log . "{proto} {>bufsize} {>do}"');
    const edns = { udpSize: 1232, version: 0, do: true, options: [] };
    p.handle!(query('a.example.org.', TYPE.A, { edns }), answer);
    p.handle!(query('a.example.org.', TYPE.A, { proto: 'tcp' }), answer);
    expect(lines).toEqual(['[INFO] udp 1232 true', '[INFO] tcp 65535 false']);
  });

  it('logs only names under the configured NAMES', () => {
    const { p, lines } = setup('log example.org {common}');
    let passed = 0;
    const next = () => {
      passed++;
      return answer();
    };
    p.handle!(query('a.example.org.'), next);
    p.handle!(query('example.org.'), next);
    p.handle!(query('notexample.org.'), next);
    p.handle!(query('a.other.net.'), next);
    expect(passed).toBe(4);
    expect(lines.map((l) => / "A IN (\S+)/.exec(l)?.[1])).toEqual(['a.example.org.', 'example.org.']);
  });

  it('logs only the selected response classes', () => {
    const { p, lines } = setup('log . "{rcode} {name}" {\n class denial\n}');
    p.handle!(query('ok.example.org.'), answer);
    p.handle!(query('nx.example.org.'), nxdomain);
    p.handle!(query('nodata.example.org.'), nodata);
    p.handle!(query('fail.example.org.'), () => emptyResponse(RCODE.SERVFAIL));
    expect(lines).toEqual(['[INFO] NXDOMAIN nx.example.org.', '[INFO] NOERROR nodata.example.org.']);
  });

  it('treats class all as everything, even combined with others', () => {
    const { p, lines } = setup('log . "{rcode}" {\n class error\n class all\n}');
    p.handle!(query('a.example.org.'), answer);
    p.handle!(query('a.example.org.'), () => emptyResponse(RCODE.REFUSED));
    expect(lines).toEqual(['[INFO] NOERROR', '[INFO] REFUSED']);
  });

  it('supports {combined}, {local}, bracketed IPv6 and metadata placeholders', () => {
    const { p, lines } = setup('log . "{remote} {local} {/kubernetes/client-namespace} {/missing} {>opcode} {unknown}"');
    const req = query('a.example.org.', TYPE.A, { remoteAddress: '::1', localAddress: 'fd00::53', family: 2 });
    req.meta = { 'kubernetes/client-namespace': 'default' };
    p.handle!(req, answer);
    expect(lines).toEqual(['[INFO] [::1] [fd00::53] default - 0 {unknown}']);
    const c = setup('log . {combined}');
    c.p.handle!(query('a.example.org.'), answer);
    expect(c.lines[0]).toMatch(/ NOERROR qr,aa,rd \d+ \S+s "0"$/);
  });

  it('gathers several log lines of a block into the first plugin, first matching rule wins', () => {
    const { p, lines } = setup('log example.org "first {name}"\nlog . "second {name}"');
    p.handle!(query('a.example.org.'), answer);
    p.handle!(query('a.example.net.'), answer);
    expect(lines).toEqual(['[INFO] first a.example.org.', '[INFO] second a.example.net.']);
  });

  it('logs asynchronous replies once they arrive', async () => {
    const { p, lines } = setup('log . "{rcode} {rsize}"');
    const res = await p.handle!(query('a.example.org.'), () => Promise.resolve(emptyResponse(RCODE.SERVFAIL)));
    expect(res.rcode).toBe(RCODE.SERVFAIL);
    expect(lines).toEqual([`[INFO] SERVFAIL ${12 + 15 + 4}`]);
  });

  it('logs SERVFAIL for an exception and lets it continue to errors', () => {
    const { p, lines } = setup('log . "{rcode}"');
    expect(() =>
      p.handle!(query('a.example.org.'), () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(lines).toEqual(['[INFO] SERVFAIL']);
  });

  it('prints durations in seconds like Go', () => {
    expect(seconds(76_000n)).toBe('0.000076s');
    expect(seconds(1_500_000_000n)).toBe('1.5s');
    expect(seconds(500n)).toBe('0.0000005s');
  });

  it('rejects unknown classes and properties with the line', () => {
    expect(() => setup('log {\n class sometimes\n}')).toThrow(/Corefile:3 - Error during parsing: plugin\/log: invalid Class: sometimes/);
    expect(() => setup('log {\n colour red\n}')).toThrow(/unknown property 'colour'/);
    expect(() => setup('log {\n class\n}')).toThrow(/Wrong argument count/);
  });
});
