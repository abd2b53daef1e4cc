import { describe, it, expect } from 'vitest';
import dnsPacket from 'dns-packet';
import { encodeResponse } from './wire.js';
import { parseQuery } from './query.js';
import { decodeMessage, MalformedMessage } from './decode.js';
import { replyBytes as reply } from './testing.test-helper.js';

describe('decoding a reply', () => {
  it('keeps flags, sections and TTLs and drops the OPT record', () => {
    const r = decodeMessage(reply({
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHENTIC_DATA | 3,
      answers: [{ name: 'www.example.org', type: 'CNAME', ttl: 30, data: 'web.example.org' }],
      authorities: [{ name: 'example.org', type: 'SOA', ttl: 60, data: { mname: 'ns.example.org', rname: 'h.example.org', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 } }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as any],
    }));
    expect(r).toMatchObject({ rcode: 3, aa: true, ra: true, ad: true, tc: false });
    expect(r.plugin).toBeUndefined();
    expect(r.answers).toEqual([{ name: 'www.example.org.', type: 'CNAME', class: 'IN', ttl: 30, data: 'web.example.org.' }]);
    expect(r.authorities[0].data).toEqual({ mname: 'ns.example.org.', rname: 'h.example.org.', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 });
    expect(r.additionals).toEqual([]);
  });

  it('combines the extended rcode from the OPT record', () => {
    const r = decodeMessage(reply({ additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 1 } as any] }));
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
    const r = decodeMessage(upstream);
    expect(r.answers.map((a) => a.type)).toEqual(['TYPE39', 'TYPE52', 'A', 'AAAA', 'TXT', 'MX', 'SRV']);
    const p = parseQuery(dnsPacket.encode({ type: 'query', id: 4242, questions: [{ name: 'WWW.Example.org', type: 'A' }] }));
    const relayed = encodeResponse({ id: 4242, opcode: 0, rd: false, cd: false, question: p.question, edns: null }, r, 65535);
    expect(dnsPacket.decode(relayed).answers).toEqual(dnsPacket.decode(upstream).answers);
  });

  it('refuses a message whose records run past its end', () => {
    const buf = reply({ answers: [{ name: 'www.example.org', type: 'A', ttl: 5, data: '192.0.2.1' }] });
    expect(() => decodeMessage(buf.subarray(0, buf.length - 2))).toThrow(MalformedMessage);
  });
});
