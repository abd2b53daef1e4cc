// Building DnsRequest objects without a wire message: internal lookups (a plugin re-entering the
// chain for a CNAME target) and tests.

import type { DnsRequest, Question } from './message.js';
import { typeName, CLASS } from './constants.js';

export function makeQuestion(name: string, qtype: number, qclass: number = CLASS.IN): Question {
  const abs = name.endsWith('.') ? name : `${name}.`;
  return { name: abs, lname: abs.toLowerCase(), qtype, type: typeName(qtype), qclass };
}

/** A request for `name`/`qtype` that inherits transport and client details from `from` (or
 *  defaults that look like a UDP query from 127.0.0.1). */
export function makeRequest(
  name: string,
  qtype: number,
  from?: Partial<DnsRequest>,
): DnsRequest {
  return {
    raw: Buffer.alloc(0),
    id: from?.id ?? 0,
    opcode: 0,
    rd: from?.rd ?? true,
    cd: from?.cd ?? false,
    ad: false,
    question: makeQuestion(name, qtype),
    edns: from?.edns ?? null,
    proto: from?.proto ?? 'udp',
    family: from?.family ?? 1,
    remoteAddress: from?.remoteAddress ?? '127.0.0.1',
    remotePort: from?.remotePort ?? 40000,
    localAddress: from?.localAddress ?? '127.0.0.1',
    localPort: from?.localPort ?? 53,
    server: from?.server ?? 'dns://:53',
    zone: from?.zone ?? '.',
    start: process.hrtime.bigint(),
    internal: from?.internal,
    meta: from?.meta,
  };
}
