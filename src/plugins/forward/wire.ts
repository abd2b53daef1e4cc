// What goes to an upstream and what comes back: the query we send (client's question as asked,
// its EDNS, fresh ID per try), the check that a reply belongs to that query, and decoding the
// reply into a DnsResponse that the server relays. Record data is decoded into the shapes of
// src/dns/message.ts for the types other plugins look at; every other type keeps its RDATA bytes
// so that it is relayed unchanged whatever the type (DNAME, TLSA, RRSIG, ...).

import { randomFillSync } from 'node:crypto';
import type { DnsRequest, DnsResponse, Question, RR } from '../../dns/message.js';
import { encodeQuery, splitName } from '../../dns/wire.js';
import { readName } from '../../dns/query.js';
import { className, typeName, TYPE } from '../../dns/constants.js';

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

export class MalformedReply extends Error {}

/** Decode a (matched) upstream reply. Throws MalformedReply when it cannot be read. */
export function decodeReply(buf: Buffer): DnsResponse {
  try {
    return decode(buf);
  } catch (e) {
    if (e instanceof MalformedReply) throw e;
    throw new MalformedReply(`dns: bad reply from upstream: ${(e as Error).message}`);
  }
}

function decode(buf: Buffer): DnsResponse {
  if (buf.length < 12) throw new MalformedReply('dns: reply shorter than a header');
  const flags = buf.readUInt16BE(2);
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  let off = 12;
  for (let i = 0; i < counts[0]; i++) {
    off = readName(buf, off).next + 4;
    if (off > buf.length) throw new MalformedReply('dns: question runs past the message');
  }
  let extRcode = 0;
  const sections: RR[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    const out = sections[s];
    for (let i = 0; i < counts[s + 1]; i++) {
      const { name, next } = readName(buf, off);
      if (next + 10 > buf.length) throw new MalformedReply('dns: record runs past the message');
      const type = buf.readUInt16BE(next);
      const cls = buf.readUInt16BE(next + 2);
      const ttl = buf.readUInt32BE(next + 4);
      const rdlen = buf.readUInt16BE(next + 8);
      const rd = next + 10;
      if (rd + rdlen > buf.length) throw new MalformedReply('dns: rdata runs past the message');
      off = rd + rdlen;
      if (type === TYPE.OPT) {
        // The server writes its own OPT; only the extended rcode bits matter here.
        extRcode = ttl >>> 24;
        continue;
      }
      out.push({ name, type: typeName(type), class: className(cls), ttl, data: rdata(buf, type, rd, rdlen) });
    }
  }
  return {
    rcode: (extRcode << 4) | (flags & 0xf),
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    answers: sections[0],
    authorities: sections[1],
    additionals: sections[2],
    plugin: 'forward',
  };
}

function nameAt(buf: Buffer, off: number, end: number): { name: string; next: number } {
  const r = readName(buf, off);
  if (r.next > end) throw new MalformedReply('dns: name runs past the rdata');
  return r;
}

function charStrings(buf: Buffer, start: number, end: number): Buffer[] {
  const out: Buffer[] = [];
  let o = start;
  while (o < end) {
    const l = buf[o];
    if (o + 1 + l > end) throw new MalformedReply('dns: character-string runs past the rdata');
    out.push(Buffer.from(buf.subarray(o + 1, o + 1 + l)));
    o += 1 + l;
  }
  return out;
}

/** Uncompressed wire form of a name (for RDATA of obsolete types whose names may be compressed). */
function nameWire(name: string): Buffer {
  const labels = splitName(name);
  const parts: Buffer[] = [];
  for (const l of labels) parts.push(Buffer.from([l.length]), l);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function rdata(buf: Buffer, type: number, start: number, len: number): unknown {
  const end = start + len;
  switch (type) {
    case TYPE.A:
      if (len !== 4) throw new MalformedReply('dns: bad A rdata');
      return `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}`;
    case TYPE.AAAA:
      if (len !== 16) throw new MalformedReply('dns: bad AAAA rdata');
      return ipv6String(buf, start);
    case TYPE.CNAME: case TYPE.NS: case TYPE.PTR:
      return nameAt(buf, start, end).name;
    case TYPE.MX: {
      if (len < 3) throw new MalformedReply('dns: bad MX rdata');
      return { preference: buf.readUInt16BE(start), exchange: nameAt(buf, start + 2, end).name };
    }
    case TYPE.SRV: {
      if (len < 7) throw new MalformedReply('dns: bad SRV rdata');
      return { priority: buf.readUInt16BE(start), weight: buf.readUInt16BE(start + 2), port: buf.readUInt16BE(start + 4), target: nameAt(buf, start + 6, end).name };
    }
    case TYPE.SOA: {
      const m = nameAt(buf, start, end);
      const r = nameAt(buf, m.next, end);
      const o = r.next;
      if (o + 20 > end) throw new MalformedReply('dns: bad SOA rdata');
      return {
        mname: m.name, rname: r.name,
        serial: buf.readUInt32BE(o), refresh: buf.readUInt32BE(o + 4), retry: buf.readUInt32BE(o + 8),
        expire: buf.readUInt32BE(o + 12), minimum: buf.readUInt32BE(o + 16),
      };
    }
    case TYPE.TXT:
      return charStrings(buf, start, end);
    case TYPE.HINFO: {
      const [cpu, os] = charStrings(buf, start, end);
      return { cpu: cpu ?? Buffer.alloc(0), os: os ?? Buffer.alloc(0) };
    }
    case 3: case 4: case 7: case 8: case 9: // MD MF MB MG MR: one compressible name
      return nameWire(nameAt(buf, start, end).name);
    case 14: { // MINFO: two compressible names
      const a = nameAt(buf, start, end);
      const b = nameAt(buf, a.next, end);
      return Buffer.concat([nameWire(a.name), nameWire(b.name)]);
    }
    default:
      return Buffer.from(buf.subarray(start, end));
  }
}

function ipv6String(buf: Buffer, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(off + 2 * i));
  // Longest run of two or more zero groups becomes `::` (RFC 5952).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
