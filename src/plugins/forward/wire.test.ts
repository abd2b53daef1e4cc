import { describe, it, expect } from 'vitest';
import dnsPacket from 'dns-packet';
import { makeRequest } from '../../dns/request.js';
import { encodeResponse } from '../../dns/wire.js';
import { parseQuery } from '../../dns/query.js';
import { buildUpstreamQuery, decodeReply, replyMatches, withId, MalformedReply } from './wire.js';

const q = { lname: 'www.example.org.', qtype: 1, qclass: 1 };

function reply(o: Partial<dnsPacket.Packet> & { qname?: string; qtype?: string; qclass?: string } = {}): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: o.id ?? 4242,
    flags: o.flags ?? 0,
    questions: [{ name: o.qname ?? 'WWW.Example.org', type: (o.qtype ?? 'A') as any, class: (o.qclass ?? 'IN') as any }],
    answers: o.answers ?? [],
    authorities: o.authorities ?? [],
    additionals: o.additionals ?? [],
  });
}

describe('matching replies to our query', () => {
  it('accepts our ID and question, comparing the name case-insensitively', () => {
    expect(replyMatches(reply(), 4242, q)).toBe(true);
  });

  it.each([
    ['another ID', reply({ id: 4243 })],
    ['another name', reply({ qname: 'evil.example.org' })],
    ['another type', reply({ qtype: 'AAAA' })],
    ['another class', reply({ qclass: 'CH' })],
    ['a query instead of a response', dnsPacket.encode({ type: 'query', id: 4242, questions: [{ name: 'www.example.org', type: 'A' }] })],
    ['no question', dnsPacket.encode({ type: 'response', id: 4242, questions: [] })],
    ['a short message', Buffer.from([0x10, 0x92, 0x80])],
  ])('drops a reply with %s', (_what, buf) => {
    expect(replyMatches(buf, 4242, q)).toBe(false);
  });
});

describe('decoding upstream replies', () => {
  it('keeps flags, sections and TTLs and drops the OPT record', () => {
    const r = decodeReply(reply({
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHENTIC_DATA | 3,
      answers: [{ name: 'www.example.org', type: 'CNAME', ttl: 30, data: 'web.example.org' }],
      authorities: [{ name: 'example.org', type: 'SOA', ttl: 60, data: { mname: 'ns.example.org', rname: 'h.example.org', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 } }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as any],
    }));
    expect(r).toMatchObject({ rcode: 3, aa: true, ra: true, ad: true, tc: false, plugin: 'forward' });
    expect(r.answers).toEqual([{ name: 'www.example.org.', type: 'CNAME', class: 'IN', ttl: 30, data: 'web.example.org.' }]);
    expect(r.authorities[0].data).toEqual({ mname: 'ns.example.org.', rname: 'h.example.org.', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 });
    expect(r.additionals).toEqual([]);
  });

  it('combines the extended rcode from the OPT record', () => {
    const r = decodeReply(reply({ additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 1 } as any] }));
    expect(r.rcode).toBe(16);
  });

  it('relays record types kdns has no shape for byte for byte', () => {
    const answers: dnsPacket.Answer[] = [
      { name: 'a.example.org', type: 'DNAME', ttl: 5, data: 'b.example.net' } as any,
      { name: 'www.example.org', type: 'TLSA', ttl: 5, data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, 7) } } as any,
      { name: 'www.example.org', type: 'A', ttl: 5, data: '192.0.2.1' },
      { name: 'www.example.org', type: 'AAAA', ttl: 5, data: '2001:db8::1' },
      { name: 'www.example.org', type: 'TXT', ttl: 5, data: ['v=spf1', ''] },
      { name: 'www.example.org', type: 'MX', ttl: 5, data: { preference: 10, exchange: 'mx.example.org' } },
      { name: '_x._tcp.example.org', type: 'SRV', ttl: 5, data: { priority: 1, weight: 2, port: 3, target: 'www.example.org' } },
    ];
    const upstream = reply({ answers });
    const r = decodeReply(upstream);
    expect(r.answers.map((a) => a.type)).toEqual(['TYPE39', 'TYPE52', 'A', 'AAAA', 'TXT', 'MX', 'SRV']);
    const p = parseQuery(dnsPacket.encode({ type: 'query', id: 4242, questions: [{ name: 'WWW.Example.org', type: 'A' }] }));
    const relayed = encodeResponse({ id: 4242, opcode: 0, rd: false, cd: false, question: p.question, edns: null }, r, 65535);
    expect(dnsPacket.decode(relayed).answers).toEqual(dnsPacket.decode(upstream).answers);
  });

  it('refuses a reply whose records run past the message', () => {
    const buf = reply({ answers: [{ name: 'www.example.org', type: 'A', ttl: 5, data: '192.0.2.1' }] });
    expect(() => decodeReply(buf.subarray(0, buf.length - 2))).toThrow(MalformedReply);
  });
});

describe('building the upstream query', () => {
  it('sends the question as the client spelled it, with its flags and EDNS options, under a new ID', () => {
    const req = makeRequest('WwW.ExAmple.org', 28, {
      cd: true,
      edns: { udpSize: 1232, version: 0, do: true, options: [{ code: 10, data: Buffer.from('0102030405060708', 'hex') }] },
    });
    req.ad = true;
    const pkt = dnsPacket.decode(withId(buildUpstreamQuery(req), 777));
    expect(pkt.id).toBe(777);
    expect(pkt.questions).toEqual([{ name: 'WwW.ExAmple.org', type: 'AAAA', class: 'IN' }]);
    expect(pkt.flag_rd && pkt.flag_cd && pkt.flag_ad).toBe(true);
    const opt = pkt.additionals![0] as any;
    expect(opt).toMatchObject({ type: 'OPT', udpPayloadSize: 1232, flag_do: true });
    expect(opt.options).toEqual([{ code: 10, type: 'COOKIE', data: Buffer.from('0102030405060708', 'hex') }]);
  });

  it('sends no OPT record when the client sent none', () => {
    const pkt = dnsPacket.decode(buildUpstreamQuery(makeRequest('example.org', 1)));
    expect(pkt.additionals).toEqual([]);
  });
});
