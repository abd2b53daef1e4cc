// What goes to an upstream and what comes back: the query we send (client's question as asked,
// its EDNS, fresh ID per try), the check that a reply belongs to that query, and decoding the
// reply (src/dns/decode.ts) into a DnsResponse that the server relays.

import { randomFillSync } from 'node:crypto';
import type { DnsRequest, DnsResponse, Question } from '../../dns/message.js';
import { encodeQuery } from '../../dns/wire.js';
import { readName } from '../../dns/query.js';
import { TYPE } from '../../dns/constants.js';
import { decodeMessage, MalformedMessage } from '../../dns/decode.js';

// IDs come from the OS CSPRNG (an upstream reply is only accepted with the right ID), drawn from
// a refilled pool so that a query costs no syscall.
const ID_POOL = Buffer.alloc(4096);
let idOff = ID_POOL.length;

export function randomId(): number {
  if (idOff >= ID_POOL.length) {
    randomFillSync(ID_POOL);
    idOff = 0;
  }
  const id = ID_POOL.readUInt16BE(idOff);
  idOff += 2;
  return id;
}

/** The upstream query for `req` with ID 0 (each try stamps its own ID with `withId`): question as
 *  the client spelled it, RD/CD/AD as the client sent them, and the client's EDNS (size, DO and
 *  options) when it sent any, as CoreDNS relays the client's message. */
export function buildUpstreamQuery(req: DnsRequest): Buffer {
  const q = req.question;
  const out = encodeQuery(0, { name: q.name, qtype: q.qtype, qclass: q.qclass }, { rd: req.rd, cd: req.cd, edns: req.edns });
  if (req.ad) out[3] |= 0x20;
  if (req.edns && req.edns.options.length > 0) {
    // encodeQuery writes the OPT last with RDLEN 0: append the options and fix RDLEN.
    const parts: Buffer[] = [out];
    let len = 0;
    for (const o of req.edns.options) {
      const h = Buffer.alloc(4);
      h.writeUInt16BE(o.code, 0);
      h.writeUInt16BE(o.data.length, 2);
      parts.push(h, o.data);
      len += 4 + o.data.length;
    }
    const full = Buffer.concat(parts);
    full.writeUInt16BE(len, out.length - 2);
    return full;
  }
  return out;
}

export function withId(base: Buffer, id: number): Buffer {
  const b = Buffer.from(base);
  b.writeUInt16BE(id, 0);
  return b;
}

/** Health-check probe: `<domain> IN NS`, RD unless `no_rec`. */
export function buildProbe(domain: string, rd: boolean): Buffer {
  return encodeQuery(0, { name: domain, qtype: TYPE.NS, qclass: 1 }, { rd });
}

/** A reply belongs to our query when it is a response with our ID and exactly our question
 *  (name compared case-insensitively, type, class). Everything else is dropped by the caller. */
export function replyMatches(buf: Buffer, id: number, q: Pick<Question, 'lname' | 'qtype' | 'qclass'>): boolean {
  if (buf.length < 12) return false;
  if (buf.readUInt16BE(0) !== id) return false;
  if ((buf[2] & 0x80) === 0) return false;
  if (buf.readUInt16BE(4) !== 1) return false;
  try {
    const { name, next } = readName(buf, 12);
    if (next + 4 > buf.length) return false;
    return name.toLowerCase() === q.lname && buf.readUInt16BE(next) === q.qtype && buf.readUInt16BE(next + 2) === q.qclass;
  } catch {
    return false;
  }
}

export function isTruncated(buf: Buffer): boolean {
  return buf.length >= 3 && (buf[2] & 0x02) !== 0;
}

/** An upstream reply that cannot be read (the shared decoder's error). */
export { MalformedMessage as MalformedReply };

/** Decode a (matched) upstream reply. Throws MalformedReply when it cannot be read. */
export function decodeReply(buf: Buffer): DnsResponse {
  try {
    const res = decodeMessage(buf);
    res.plugin = 'forward';
    return res;
  } catch (e) {
    if (e instanceof MalformedMessage) throw e;
    throw new MalformedMessage(`dns: bad reply from upstream: ${(e as Error).message}`);
  }
}
