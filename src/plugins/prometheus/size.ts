// The size of the reply the server is about to send, for coredns_dns_response_size_bytes, without
// encoding it a second time. src/dns/wire.ts writes a reply uncompressed whenever that fits the
// client's limit, so for the usual reply the size is plain arithmetic over names and RDATA; replies
// that need compression or truncation (rare, large) and record types we do not size here are
// encoded once to measure them.

import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { encodeResponse, splitName } from '../../dns/wire.js';

/** Wire length of a name written without compression. */
export function nameWireLength(name: string): number {
  if (name === '.' || name === '') return 1;
  if (name.includes('\\')) {
    let n = 1;
    for (const l of splitName(name)) n += l.length + 1;
    return n;
  }
  return name.endsWith('.') ? name.length + 1 : name.length + 2;
}

function txtLength(data: unknown): number {
  const parts = Array.isArray(data) ? data : [data];
  if (parts.length === 0) return 1;
  let n = 0;
  for (const p of parts) {
    const len = typeof p === 'string' ? Buffer.byteLength(p) : (p as Uint8Array).length;
    n += len === 0 ? 1 : len + Math.ceil(len / 255);
  }
  return n;
}

/** RDATA length, or -1 when this type is not sized here. */
function rdataLength(rr: RR): number {
  const d = rr.data;
  switch (rr.type) {
    case 'A': return 4;
    case 'AAAA': return 16;
    case 'CNAME': case 'NS': case 'PTR': return nameWireLength(d);
    case 'SRV': return 6 + nameWireLength(d.target);
    case 'MX': return 2 + nameWireLength(d.exchange);
    case 'SOA': return nameWireLength(d.mname) + nameWireLength(d.rname) + 20;
    case 'TXT': return txtLength(d);
    default:
      if (Buffer.isBuffer(d) || d instanceof Uint8Array) return d.length;
      return -1;
  }
}

function sectionLength(rrs: RR[]): number {
  let n = 0;
  for (const rr of rrs) {
    if (rr.type === 'OPT') continue;
    const rd = rdataLength(rr);
    if (rd < 0) return -1;
    n += nameWireLength(rr.name) + 10 + rd;
  }
  return n;
}

/** Most the client accepts, as the server applies it. */
export function replyLimit(req: DnsRequest): number {
  if (req.proto === 'tcp') return 65535;
  return req.edns ? Math.max(512, req.edns.udpSize) : 512;
}

/** Bytes of the reply on the wire (0 when nothing is sent). */
export function replySize(req: DnsRequest, res: DnsResponse): number {
  if (res.drop) return 0;
  const q = res.question ?? req.question;
  let n = 12 + nameWireLength(q.name) + 4 + (req.edns ? 11 : 0);
  const an = sectionLength(res.answers);
  const ns = an < 0 ? -1 : sectionLength(res.authorities);
  const ar = ns < 0 ? -1 : sectionLength(res.additionals);
  const limit = replyLimit(req);
  if (ar >= 0) {
    n += an + ns + ar;
    if (n <= limit) return n;
  }
  try {
    return encodeResponse(
      { id: req.id, opcode: req.opcode, rd: req.rd, cd: req.cd, question: req.question, edns: req.edns },
      res,
      limit,
    ).length;
  } catch {
    // The server answers SERVFAIL for a reply it cannot encode: header, question and OPT.
    return 12 + nameWireLength(req.question.name) + 4 + (req.edns ? 11 : 0);
  }
}
