import { describe, it, expect } from 'vitest';
import dnsPacket from 'dns-packet';
import { makeRequest } from '../../dns/request.js';
import { buildUpstreamQuery, decodeReply, replyMatches, withId, MalformedReply } from './wire.js';
import { replyBytes as reply } from '../../dns/testing.test-helper.js';

const q = { lname: 'www.example.org.', qtype: 1, qclass: 1 };

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
  it('decodes with the shared decoder and marks the reply as produced by forward', () => {
    const r = decodeReply(reply({ answers: [{ name: 'www.example.org', type: 'A', ttl: 5, data: '192.0.2.1' }] }));
    expect(r).toMatchObject({ rcode: 0, plugin: 'forward' });
    expect(r.answers).toEqual([{ name: 'www.example.org.', type: 'A', class: 'IN', ttl: 5, data: '192.0.2.1' }]);
  });

  it('refuses a reply that cannot be read with MalformedReply', () => {
    const buf = reply({ answers: [{ name: 'www.example.org', type: 'A', ttl: 5, data: '192.0.2.1' }] });
    expect(() => decodeReply(buf.subarray(0, buf.length - 2))).toThrow(MalformedReply);
    const badPointer = Buffer.concat([reply().subarray(0, 6), Buffer.from([0, 1]), reply().subarray(8), Buffer.from([0xc0, 0xff])]);
    expect(() => decodeReply(badPointer)).toThrow(/^dns: bad reply from upstream: /);
    expect(() => decodeReply(badPointer)).toThrow(MalformedReply);
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
