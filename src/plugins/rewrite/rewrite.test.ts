import { describe, it, expect } from 'vitest';
import { parseCorefile } from '../../corefile/parser.js';
import { makeRequest } from '../../dns/request.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import type { Plugin, SetupContext } from '../types.js';
import { rewrite, Rewrite } from './index.js';

/** Sets up every rewrite line of the block the way the server does (in order, with peers). */
function setup(lines: string): Rewrite {
  const ds = parseCorefile(`. {\n${lines}\n}`, 'Corefile')[0].directives;
  let last: Plugin | undefined;
  let first: Rewrite | undefined;
  for (const d of ds) {
    const ctx = { peer: (n: string) => (n === 'rewrite' ? last : undefined) } as unknown as SetupContext;
    last = rewrite.setup(d, ctx) as Plugin;
    first ??= last as Rewrite;
  }
  return first!;
}

/** A backend that answers every question with an A record (plus records the test adds) and
 *  remembers what it was asked. */
function backend(extra: (req: DnsRequest) => Partial<DnsResponse> = () => ({})) {
  const seen: DnsRequest[] = [];
  const next = (req: DnsRequest): DnsResponse => {
    seen.push(req);
    const q = req.question;
    return {
      rcode: RCODE.NOERROR, aa: true, authorities: [], additionals: [],
      answers: [{ name: q.name, type: 'A', class: 'IN', ttl: 30, data: '10.0.0.1' }],
      ...extra(req),
    };
  };
  return { seen, next };
}

async function run(p: Rewrite, name: string, type: number, next: (r: DnsRequest) => DnsResponse) {
  return await p.handle(makeRequest(name, type), next);
}

describe('rewrite', () => {
  it('rewrites an exact name and maps the answer back to the name asked', async () => {
    const p = setup('rewrite name example.net example.org');
    const b = backend();
    const res = await run(p, 'Example.NET.', TYPE.A, b.next);
    expect(b.seen[0].question.name).toBe('example.org.');
    expect(b.seen[0].question.lname).toBe('example.org.');
    expect(res.answers[0].name).toBe('Example.NET.');
    expect(res.question?.name).toBe('Example.NET.');
  });

  it('leaves non-matching queries untouched', async () => {
    const p = setup('rewrite name example.net example.org');
    const b = backend();
    const req = makeRequest('other.net.', TYPE.A);
    const res = await p.handle(req, b.next);
    expect(b.seen[0]).toBe(req);
    expect(res.question).toBeUndefined();
  });

  it('keeps the original request and reply objects unchanged', async () => {
    const p = setup('rewrite name example.net example.org');
    const shared: RR = { name: 'example.org.', type: 'A', class: 'IN', ttl: 30, data: '10.0.0.1' };
    const cached: DnsResponse = { rcode: 0, answers: [shared], authorities: [], additionals: [] };
    const req = makeRequest('example.net.', TYPE.A);
    await p.handle(req, () => cached);
    expect(req.question.name).toBe('example.net.');
    expect(shared.name).toBe('example.org.');
  });

  it('rewrites regex matches with {n} groups and answer name back', async () => {
    const p = setup([
      'rewrite stop {',
      '  name regex (.*)-(us-west-1)\\.example\\.org {1}.service.{2}.consul',
      '  answer name (.*)\\.service\\.(us-west-1)\\.consul {1}-{2}.example.org',
      '}',
    ].join('\n'));
    const b = backend();
    const res = await run(p, 'ftp-us-west-1.example.org.', TYPE.A, b.next);
    expect(b.seen[0].question.name).toBe('ftp.service.us-west-1.consul.');
    expect(res.answers[0].name).toBe('ftp-us-west-1.example.org.');
  });

  it('maps names and values back with answer auto', async () => {
    const p = setup('rewrite name prefix foo. bar. answer auto');
    const b = backend((req) => ({
      answers: [
        { name: req.question.name, type: 'CNAME', class: 'IN', ttl: 5, data: `x.${req.question.name}` },
        { name: `x.${req.question.name}`, type: 'A', class: 'IN', ttl: 5, data: '10.0.0.9' },
      ],
    }));
    const res = await run(p, 'foo.example.', TYPE.A, b.next);
    expect(b.seen[0].question.name).toBe('bar.example.');
    expect(res.answers.map((r) => [r.name, r.data])).toEqual([
      ['foo.example.', 'x.foo.example.'],
      ['x.foo.example.', '10.0.0.9'],
    ]);
  });

  it('reverses suffix rewrites with answer auto and rewrites SRV targets with answer value', async () => {
    const p = setup('rewrite name suffix .schmoogle.com. .google.com. answer auto');
    const b = backend((req) => ({
      answers: [{ name: req.question.name, type: 'SRV', class: 'IN', ttl: 5, data: { priority: 0, weight: 1, port: 80, target: 'www.google.com.' } }],
    }));
    const res = await run(p, 'www.schmoogle.com.', TYPE.SRV, b.next);
    expect(b.seen[0].question.name).toBe('www.google.com.');
    expect(res.answers[0].name).toBe('www.schmoogle.com.');
    expect(res.answers[0].data.target).toBe('www.schmoogle.com.');
  });

  it('rewrites substrings', async () => {
    const p = setup('rewrite name substring service.us-west-1.example.org service.us-west-1.consul');
    const b = backend();
    await run(p, 'ftp.service.us-west-1.example.org.', TYPE.A, b.next);
    expect(b.seen[0].question.name).toBe('ftp.service.us-west-1.consul.');
  });

  it('rewrites the type and restores the question', async () => {
    const p = setup('rewrite type ANY HINFO');
    const b = backend();
    const res = await run(p, 'example.org.', TYPE.ANY, b.next);
    expect(b.seen[0].question.qtype).toBe(TYPE.HINFO);
    expect(b.seen[0].question.type).toBe('HINFO');
    expect(res.question?.qtype).toBe(TYPE.ANY);
  });

  it('rewrites the class', async () => {
    const p = setup('rewrite class CH IN');
    const b = backend();
    const req = makeRequest('version.bind.', TYPE.TXT);
    req.question = { ...req.question, qclass: 3 };
    const res = await p.handle(req, b.next);
    expect(b.seen[0].question.qclass).toBe(1);
    expect(res.question?.qclass).toBe(3);
  });

  it('clamps TTLs to a range and sets fixed TTLs', async () => {
    const range = setup('rewrite ttl regex (.*)\\.example\\.org 60-120');
    const res = await run(range, 'a.example.org.', TYPE.A, backend().next);
    expect(res.answers[0].ttl).toBe(60);
    const fixed = setup('rewrite ttl a.example.org 15');
    expect((await run(fixed, 'a.example.org.', TYPE.A, backend().next)).answers[0].ttl).toBe(15);
    expect((await run(fixed, 'b.example.org.', TYPE.A, backend().next)).answers[0].ttl).toBe(30);
  });

  it('rewrites the response code', async () => {
    const p = setup('rewrite rcode suffix .example.org NXDOMAIN NOERROR');
    const res = await run(p, 'a.example.org.', TYPE.A, () => ({ rcode: RCODE.NXDOMAIN, answers: [], authorities: [], additionals: [] }));
    expect(res.rcode).toBe(RCODE.NOERROR);
  });

  it('stops at the first matching rule by default across rewrite lines', async () => {
    const p = setup('rewrite name a.test b.test\nrewrite name b.test c.test');
    const b = backend();
    await run(p, 'a.test.', TYPE.A, b.next);
    expect(b.seen[0].question.name).toBe('b.test.');
  });

  it('applies following rules after continue and reverts them in reverse order', async () => {
    const p = setup('rewrite continue name a.test b.test\nrewrite name b.test c.test');
    const b = backend();
    const res = await run(p, 'A.test.', TYPE.A, b.next);
    expect(b.seen).toHaveLength(1);
    expect(b.seen[0].question.name).toBe('c.test.');
    expect(res.answers[0].name).toBe('A.test.');
  });

  it('answers SERVFAIL when the rewritten name is not a domain name', async () => {
    const p = setup('rewrite name regex (.*)\\.test {1}..bad');
    const b = backend();
    const res = await run(p, 'x.test.', TYPE.A, b.next);
    expect(res.rcode).toBe(RCODE.SERVFAIL);
    expect(b.seen).toHaveLength(0);
  });

  it('rejects unsupported and malformed rules at setup', () => {
    expect(() => setup('rewrite edns0 local set 0xffee abcd')).toThrow(/Corefile:2 .*not supported by kdns/);
    expect(() => setup('rewrite name regex (.*) {1}.{2}.x')).toThrow(/more subexpressions/);
    expect(() => setup('rewrite ttl a.test 10-5')).toThrow(/invalid TTL/);
    expect(() => setup('rewrite type A')).toThrow(/exactly two arguments/);
    expect(() => setup('rewrite name wildcard a b')).toThrow(/only exact, prefix/);
    expect(() => setup('rewrite name prefix a b answer name x')).toThrow(/2 arguments required/);
    expect(() => setup('rewrite rcode a.test NOPE NOERROR')).toThrow(/invalid matching RCODE/);
  });
});
