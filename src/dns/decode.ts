// Decoding a whole DNS message (a reply, e.g. from an upstream) into a DnsResponse. Record data is
// decoded into the shapes of src/dns/message.ts for the types plugins look at (A, AAAA, CNAME, NS,
// PTR, MX, SRV, SOA, TXT, HINFO); every other type keeps its RDATA bytes (obsolete types with
// compressible names get them uncompressed) so that it is relayed unchanged whatever the type
// (DNAME, TLSA, RRSIG, ...), under its RFC 3597 name (`TYPE39`) unless src/dns/constants.ts names it.

import type { DnsResponse, RR } from './message.js';
import { splitName } from './wire.js';
import { readName } from './query.js';
import { className, typeName, TYPE } from './constants.js';
import { formatIPv6 } from './reverse.js';

export class MalformedMessage extends Error {}

/** Decode a whole DNS message (header flags, rcode with the OPT's extended bits, and the answer,
 *  authority and additional sections; the OPT record itself is dropped). Throws MalformedMessage
 *  when the message is cut short or a record's data does not fit its type, or the name reader's
 *  ParseError for a bad name. */
export function decodeMessage(buf: Buffer): DnsResponse {
  if (buf.length < 12) throw new MalformedMessage('dns: reply shorter than a header');
  const flags = buf.readUInt16BE(2);
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  let off = 12;
  for (let i = 0; i < counts[0]; i++) {
    off = readName(buf, off).next + 4;
    if (off > buf.length) throw new MalformedMessage('dns: question runs past the message');
  }
  let extRcode = 0;
  const sections: RR[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    const out = sections[s];
    for (let i = 0; i < counts[s + 1]; i++) {
      const { name, next } = readName(buf, off);
      if (next + 10 > buf.length) throw new MalformedMessage('dns: record runs past the message');
      const type = buf.readUInt16BE(next);
      const cls = buf.readUInt16BE(next + 2);
      const ttl = buf.readUInt32BE(next + 4);
      const rdlen = buf.readUInt16BE(next + 8);
      const rd = next + 10;
      if (rd + rdlen > buf.length) throw new MalformedMessage('dns: rdata runs past the message');
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
  };
}

function nameAt(buf: Buffer, off: number, end: number): { name: string; next: number } {
  const r = readName(buf, off);
  if (r.next > end) throw new MalformedMessage('dns: name runs past the rdata');
  return r;
}

function charStrings(buf: Buffer, start: number, end: number): Buffer[] {
  const out: Buffer[] = [];
  let o = start;
  while (o < end) {
    const l = buf[o];
    if (o + 1 + l > end) throw new MalformedMessage('dns: character-string runs past the rdata');
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
      if (len !== 4) throw new MalformedMessage('dns: bad A rdata');
      return `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}`;
    case TYPE.AAAA:
      if (len !== 16) throw new MalformedMessage('dns: bad AAAA rdata');
      return formatIPv6(buf.subarray(start, end));
    case TYPE.CNAME: case TYPE.NS: case TYPE.PTR:
      return nameAt(buf, start, end).name;
    case TYPE.MX: {
      if (len < 3) throw new MalformedMessage('dns: bad MX rdata');
      return { preference: buf.readUInt16BE(start), exchange: nameAt(buf, start + 2, end).name };
    }
    case TYPE.SRV: {
      if (len < 7) throw new MalformedMessage('dns: bad SRV rdata');
      return { priority: buf.readUInt16BE(start), weight: buf.readUInt16BE(start + 2), port: buf.readUInt16BE(start + 4), target: nameAt(buf, start + 6, end).name };
    }
    case TYPE.SOA: {
      const m = nameAt(buf, start, end);
      const r = nameAt(buf, m.next, end);
      const o = r.next;
      if (o + 20 > end) throw new MalformedMessage('dns: bad SOA rdata');
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
