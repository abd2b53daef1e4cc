import { describe, expect, it } from 'vitest';
import type { DnsResponse, RR } from './message.js';
import { OPCODE, RCODE, TYPE } from './constants.js';
import { makeRequest } from './request.js';
import { classify, MAXIMUM_DEFAULT_TTL, MINIMAL_DEFAULT_TTL, minimalTtl, responseClass, typify } from './classify.js';

const a: RR = { name: 'a.example.', type: 'A', class: 'IN', ttl: 30, data: '10.0.0.1' };
const cname: RR = { name: 'c.example.', type: 'CNAME', class: 'IN', ttl: 60, data: 'a.example.' };
const soa: RR = {
  name: 'example.', type: 'SOA', class: 'IN', ttl: 20,
  data: { mname: 'ns.example.', rname: 'h.example.', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 20 },
};
const ns: RR = { name: 'sub.example.', type: 'NS', class: 'IN', ttl: 40, data: 'ns.sub.example.' };

function reply(rcode: number, answers: RR[] = [], authorities: RR[] = [], additionals: RR[] = []): DnsResponse {
  return { rcode, answers, authorities, additionals };
}

describe('typify (CoreDNS response.Typify)', () => {
  it.each([
    ['an answer', reply(RCODE.NOERROR, [a]), 'noerror'],
    ['a CNAME-only answer (the cache adds its own NODATA rule)', reply(RCODE.NOERROR, [cname]), 'noerror'],
    ['an empty NOERROR', reply(RCODE.NOERROR), 'noerror'],
    ['NOERROR with SOA', reply(RCODE.NOERROR, [], [soa]), 'nodata'],
    ['NXDOMAIN with SOA', reply(RCODE.NXDOMAIN, [], [soa]), 'nxdomain'],
    ['NXDOMAIN without SOA', reply(RCODE.NXDOMAIN), 'other'],
    ['SERVFAIL', reply(RCODE.SERVFAIL), 'servfail'],
    ['NOTIMP', reply(RCODE.NOTIMP), 'servfail'],
    ['REFUSED', reply(RCODE.REFUSED), 'other'],
    ['NOERROR with NS only', reply(RCODE.NOERROR, [], [ns]), 'delegation'],
    ['NOERROR with SOA and NS', reply(RCODE.NOERROR, [], [ns, soa]), 'nodata'],
  ] as const)('%s -> %s', (_what, res, want) => expect(typify(res, TYPE.A)).toBe(want));

  it('types transfers, NOTIFY and UPDATE before looking at the reply', () => {
    expect(typify(reply(RCODE.NOERROR, [a]), TYPE.AXFR)).toBe('meta');
    expect(typify(reply(RCODE.NOERROR, [a]), TYPE.IXFR)).toBe('meta');
    expect(typify(reply(RCODE.NOERROR, [a]), TYPE.A, OPCODE.NOTIFY)).toBe('meta');
    expect(typify(reply(RCODE.NOERROR, [a]), TYPE.A, OPCODE.UPDATE)).toBe('update');
  });
});

describe('classify (CoreDNS response.Classify)', () => {
  it('maps types to classes', () => {
    expect(['noerror', 'delegation', 'nxdomain', 'nodata', 'servfail', 'meta', 'update', 'other'].map((t) => responseClass(t as never)))
      .toEqual(['success', 'success', 'denial', 'denial', 'error', 'error', 'error', 'error']);
  });

  it('classifies a reply to a request', () => {
    expect(classify(makeRequest('a.example.', TYPE.A), reply(RCODE.NOERROR, [a]))).toBe('success');
    expect(classify(makeRequest('x.example.', TYPE.A), reply(RCODE.NXDOMAIN, [], [soa]))).toBe('denial');
    expect(classify(makeRequest('x.example.', TYPE.A), reply(RCODE.SERVFAIL))).toBe('error');
    expect(classify({ ...makeRequest('a.example.', TYPE.A), opcode: OPCODE.UPDATE }, reply(RCODE.NOERROR, [a]))).toBe('error');
    expect(classify(makeRequest('example.', TYPE.AXFR), reply(RCODE.NOERROR, [soa]))).toBe('error');
  });
});

describe('minimalTtl (dnsutil.MinimalTTL)', () => {
  it('takes the lowest TTL of all sections, OPT excluded', () => {
    const opt: RR = { name: '.', type: 'OPT', ttl: 0, data: null };
    expect(minimalTtl(reply(RCODE.NOERROR, [cname, a], [], [opt]), 'noerror')).toBe(30);
    expect(minimalTtl(reply(RCODE.NXDOMAIN, [], [soa]), 'nxdomain')).toBe(20);
    expect(minimalTtl(reply(RCODE.NOERROR, [{ ...a, ttl: 86400 }]), 'noerror')).toBe(MAXIMUM_DEFAULT_TTL);
  });

  it('falls back to the minimal default for empty replies and other types', () => {
    expect(minimalTtl(reply(RCODE.NOERROR), 'noerror')).toBe(MINIMAL_DEFAULT_TTL);
    expect(minimalTtl(reply(RCODE.SERVFAIL, [], [soa]), 'servfail')).toBe(MINIMAL_DEFAULT_TTL);
    expect(minimalTtl(reply(RCODE.NOERROR, [], [ns]), 'delegation')).toBe(MINIMAL_DEFAULT_TTL);
  });
});
