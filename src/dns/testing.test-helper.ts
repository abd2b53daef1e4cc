// Shared test scaffolding for DNS wire tests. Named *.test-helper.ts so that vitest does not run it
// and tsconfig.build.json leaves it out of dist.

import dnsPacket from 'dns-packet';

export type ReplyParts = Partial<dnsPacket.Packet> & { qname?: string; qtype?: string; qclass?: string };

/** A reply in wire form built with dns-packet: ID 4242, question `WWW.Example.org IN A` unless
 *  told otherwise, no records unless given. */
export function replyBytes(o: ReplyParts = {}): Buffer {
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
