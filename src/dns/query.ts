// Reading a query off the wire without a full decode: header, first question, and the OPT record
// (the only thing in the additional section a query needs). Everything else is skipped.

import type { Edns, EdnsOption, Question } from './message.js';
import { typeName, TYPE } from './constants.js';

export class ParseError extends Error {
  constructor(
    message: string,
    /** True when the 12-byte header was readable (the server then answers FORMERR). */
    public readonly headerOk: boolean,
  ) {
    super(message);
  }
}

export interface ParsedQuery {
  id: number;
  qr: boolean;
  opcode: number;
  rd: boolean;
  cd: boolean;
  ad: boolean;
  qdcount: number;
  question: Question | null;
  edns: Edns | null;
}

/** Read a (possibly compressed) name at `off`; returns the dotted absolute name and the offset
 *  just past the name in the original position. */
export function readName(buf: Buffer, off: number): { name: string; next: number } {
  let name = '';
  let next = -1;
  let jumps = 0;
  let total = 0;
  for (;;) {
    if (off >= buf.length) throw new ParseError('name runs past the message', true);
    const len = buf[off];
    if (len === 0) {
      if (next < 0) next = off + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (off + 1 >= buf.length) throw new ParseError('bad compression pointer', true);
      if (next < 0) next = off + 2;
      if (++jumps > 64) throw new ParseError('compression loop', true);
      off = ((len & 0x3f) << 8) | buf[off + 1];
      continue;
    }
    if (kind !== 0) throw new ParseError('unsupported label type', true);
    if (off + 1 + len > buf.length) throw new ParseError('label runs past the message', true);
    total += len + 1;
    if (total > 255) throw new ParseError('name longer than 255 octets', true);
    name += escapeLabel(buf, off + 1, len) + '.';
    off += 1 + len;
  }
  return { name: name === '' ? '.' : name, next };
}

/** Presentation form of one label: printable ASCII as is, `.`/`\`/space etc. escaped. */
function escapeLabel(buf: Buffer, start: number, len: number): string {
  let plain = true;
  for (let i = start; i < start + len; i++) {
    const c = buf[i];
    if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c || c === 0x22 || c === 0x28 || c === 0x29 || c === 0x3b || c === 0x40 || c === 0x24) {
      plain = false;
      break;
    }
  }
  if (plain) return buf.toString('latin1', start, start + len);
  let s = '';
  for (let i = start; i < start + len; i++) {
    const c = buf[i];
    if (c < 0x20 || c >= 0x7f || c === 0x20) s += '\\' + String(c).padStart(3, '0');
    else if (c === 0x2e || c === 0x5c || c === 0x22 || c === 0x28 || c === 0x29 || c === 0x3b || c === 0x40 || c === 0x24) s += '\\' + String.fromCharCode(c);
    else s += String.fromCharCode(c);
  }
  return s;
}

function skipName(buf: Buffer, off: number): number {
  for (;;) {
    if (off >= buf.length) throw new ParseError('name runs past the message', true);
    const len = buf[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    if ((len & 0xc0) !== 0) throw new ParseError('unsupported label type', true);
    off += 1 + len;
  }
}

/** Parse header, the first question and the OPT record. Throws ParseError. */
export function parseQuery(buf: Buffer): ParsedQuery {
  if (buf.length < 12) throw new ParseError('message shorter than a header', false);
  const id = buf.readUInt16BE(0);
  const f = buf.readUInt16BE(2);
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  const out: ParsedQuery = {
    id,
    qr: (f & 0x8000) !== 0,
    opcode: (f >> 11) & 0xf,
    rd: (f & 0x0100) !== 0,
    ad: (f & 0x0020) !== 0,
    cd: (f & 0x0010) !== 0,
    qdcount,
    question: null,
    edns: null,
  };
  let off = 12;
  for (let i = 0; i < qdcount; i++) {
    const { name, next } = readName(buf, off);
    if (next + 4 > buf.length) throw new ParseError('question runs past the message', true);
    const qtype = buf.readUInt16BE(next);
    const qclass = buf.readUInt16BE(next + 2);
    if (i === 0) out.question = { name, lname: name.toLowerCase(), qtype, type: typeName(qtype), qclass };
    off = next + 4;
  }
  // Skip answer and authority records (queries normally have none), then look for OPT.
  for (let i = 0; i < ancount + nscount; i++) off = skipRR(buf, off);
  for (let i = 0; i < arcount; i++) {
    const nameEnd = skipName(buf, off);
    if (nameEnd + 10 > buf.length) throw new ParseError('record runs past the message', true);
    const type = buf.readUInt16BE(nameEnd);
    const rdlen = buf.readUInt16BE(nameEnd + 8);
    const rdStart = nameEnd + 10;
    if (rdStart + rdlen > buf.length) throw new ParseError('rdata runs past the message', true);
    if (type === TYPE.OPT) {
      if (out.edns) throw new ParseError('more than one OPT record', true);
      const ttl = buf.readUInt32BE(nameEnd + 4);
      const options: EdnsOption[] = [];
      let o = rdStart;
      while (o + 4 <= rdStart + rdlen) {
        const code = buf.readUInt16BE(o);
        const len = buf.readUInt16BE(o + 2);
        if (o + 4 + len > rdStart + rdlen) throw new ParseError('bad EDNS option length', true);
        options.push({ code, data: buf.subarray(o + 4, o + 4 + len) });
        o += 4 + len;
      }
      out.edns = {
        udpSize: buf.readUInt16BE(nameEnd + 2),
        version: (ttl >>> 16) & 0xff,
        do: (ttl & 0x8000) !== 0,
        options,
      };
    }
    off = rdStart + rdlen;
  }
  return out;
}

function skipRR(buf: Buffer, off: number): number {
  const nameEnd = skipName(buf, off);
  if (nameEnd + 10 > buf.length) throw new ParseError('record runs past the message', true);
  const rdlen = buf.readUInt16BE(nameEnd + 8);
  const end = nameEnd + 10 + rdlen;
  if (end > buf.length) throw new ParseError('rdata runs past the message', true);
  return end;
}
