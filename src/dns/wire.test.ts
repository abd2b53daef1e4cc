import { describe, it, expect } from 'vitest';
import dnsPacket from 'dns-packet';
import { encodeResponse } from './wire.js';
import type { RR } from './message.js';

describe('reply name compression', () => {
  it('only points at suffixes with the same spelling (case-sensitive, as miekg/dns)', () => {
    // A reply too large for 512 bytes is compressed; the mixed-case qname must not lend its
    // spelling to lower-case names in RDATA or owners (CoreDNS keeps each name as written).
    const qname = 'ChAiN0.dYn.SvC.cLuStEr.LoCaL.';
    const answers: RR[] = [{ name: qname, type: 'CNAME', class: 'IN', ttl: 5, data: 'chain1.dyn.svc.cluster.local.' }];
    for (let i = 1; i < 12; i++) {
      answers.push({ name: `chain${i}.dyn.svc.cluster.local.`, type: 'CNAME', class: 'IN', ttl: 5, data: `chain${i + 1}.dyn.svc.cluster.local.` });
    }
    const question = { name: qname, lname: qname.toLowerCase(), qtype: 1, type: 'A', qclass: 1 } as any;
    const buf = encodeResponse({ id: 1, opcode: 0, rd: true, cd: false, question, edns: null }, { rcode: 0, aa: true, answers, authorities: [], additionals: [] }, 512);
    expect(buf.length).toBeLessThanOrEqual(512);
    const p = dnsPacket.decode(buf);
    expect(p.questions![0]!.name).toBe('ChAiN0.dYn.SvC.cLuStEr.LoCaL');
    expect(p.answers!.length).toBe(12);
    expect(p.answers![0]!.name).toBe('ChAiN0.dYn.SvC.cLuStEr.LoCaL');
    expect((p.answers![0] as any).data).toBe('chain1.dyn.svc.cluster.local');
    for (const a of p.answers!.slice(1)) expect(a.name).toMatch(/^chain\d+\.dyn\.svc\.cluster\.local$/);
    // Same-spelled suffixes are still shared: compressed output is smaller than the plain one.
    const plain = encodeResponse({ id: 1, opcode: 0, rd: true, cd: false, question, edns: null }, { rcode: 0, aa: true, answers, authorities: [], additionals: [] }, 65535);
    expect(buf.length).toBeLessThan(plain.length);
  });
});
