// Encoding replies: header, question, records with name compression, the reply OPT record, and
// truncation at a record boundary when the reply does not fit the client's limit. Mirrors what
// CoreDNS gets from miekg/dns Msg.Truncate: uncompressed when it fits, otherwise compressed and cut.

import dnsPacket from 'dns-packet';
import type { DnsResponse, Edns, Question, RR } from './message.js';
import { typeNumber, TYPE, CLASS } from './constants.js';

const SCRATCH = Buffer.allocUnsafe(65535 + 2048);

export interface ReplyHeader {
  id: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  question: Question | null;
  edns: Edns | null;
}

class Writer {
  buf = SCRATCH;
  off = 0;
  compress: Map<string, number> | null;
  constructor(compress: boolean) {
    this.compress = compress ? new Map() : null;
  }
  u8(v: number) { this.buf[this.off++] = v & 0xff; }
  u16(v: number) { this.buf.writeUInt16BE(v & 0xffff, this.off); this.off += 2; }
  u32(v: number) { this.buf.writeUInt32BE(v >>> 0, this.off); this.off += 4; }
  bytes(b: Uint8Array) { this.buf.set(b, this.off); this.off += b.length; }

  /** Write a presentation-format name; compress when allowed and a writer-level map exists. */
  name(name: string, allowCompress: boolean, added?: string[]) {
    const labels = splitName(name);
    const map = allowCompress ? this.compress : null;
    for (let i = 0; i < labels.length; i++) {
      if (map) {
        const key = labelsKey(labels, i);
        const ptr = map.get(key);
        if (ptr !== undefined) { this.u16(0xc000 | ptr); return; }
        if (this.off < 0x3fff) { map.set(key, this.off); added?.push(key); }
      } else if (this.compress && this.off < 0x3fff) {
        // Names that may not be compressed can still be pointed at.
        const key = labelsKey(labels, i);
        if (!this.compress.has(key)) { this.compress.set(key, this.off); added?.push(key); }
      }
      const l = labels[i];
      this.u8(l.length);
      this.bytes(l);
    }
    this.u8(0);
  }
}

const nameCache = new Map<string, Buffer[]>();

/** Labels of a presentation-format name, with `\.` and `\DDD` escapes decoded. */
export function splitName(name: string): Buffer[] {
  const hit = nameCache.get(name);
  if (hit) return hit;
  const out: Buffer[] = [];
  if (name !== '.' && name !== '') {
    let cur: number[] = [];
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c === 0x5c && i + 1 < name.length) {
        const d = name.slice(i + 1, i + 4);
        if (/^\d{3}$/.test(d)) { cur.push(Number(d) & 0xff); i += 3; } else { cur.push(name.charCodeAt(i + 1) & 0xff); i += 1; }
      } else if (c === 0x2e) {
        out.push(Buffer.from(cur)); cur = [];
      } else cur.push(c & 0xff);
    }
    if (cur.length) out.push(Buffer.from(cur));
  }
  if (nameCache.size > 50000) nameCache.clear();
  nameCache.set(name, out);
  return out;
}

function labelsKey(labels: Buffer[], from: number): string {
  let k = '';
  // Case-sensitive, as miekg/dns's compression map: a pointer must not change a name's spelling.
  for (let i = from; i < labels.length; i++) k += labels[i].toString('latin1') + '.';
  return k;
}

export function ipv4Bytes(ip: string): number[] {
  const p = ip.split('.');
  if (p.length !== 4) throw new Error(`bad IPv4 address ${ip}`);
  return p.map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0 || n > 255 || x === '') throw new Error(`bad IPv4 address ${ip}`);
    return n;
  });
}

export function ipv6Bytes(ip: string): number[] {
  let s = ip;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tail = ipv4Bytes(s.slice(lastColon + 1));
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = s.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address ${ip}`);
  const head = halves[0] ? halves[0].split(':') : [];
  const back = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = 8 - head.length - back.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) throw new Error(`bad IPv6 address ${ip}`);
  const groups = [...head, ...Array(fill).fill('0'), ...back];
  const out: number[] = [];
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new Error(`bad IPv6 address ${ip}`);
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 0xff);
  }
  if (tail.length) out.splice(12, 4, ...tail);
  return out;
}

function typeOf(rr: RR): number {
  const t = typeNumber(rr.type);
  if (t === undefined) {
    const m = /^UNKNOWN_(\d+)$/.exec(rr.type);
    if (m) return Number(m[1]);
    throw new Error(`unknown RR type ${rr.type}`);
  }
  return t;
}

function classOf(rr: RR): number {
  switch (rr.class) {
    case undefined: case 'IN': return CLASS.IN;
    case 'CH': return CLASS.CH;
    case 'HS': return CLASS.HS;
    case 'ANY': return CLASS.ANY;
    case 'NONE': return CLASS.NONE;
    default: {
      const m = /^CLASS(\d+)$/.exec(rr.class);
      if (m) return Number(m[1]);
      throw new Error(`unknown class ${rr.class}`);
    }
  }
}

function writeCharString(w: Writer, s: string | Uint8Array) {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  if (b.length > 255) throw new Error('character-string longer than 255 octets');
  w.u8(b.length);
  w.bytes(b);
}

function writeRdata(w: Writer, type: number, data: any, added: string[]) {
  switch (type) {
    case TYPE.A: for (const b of ipv4Bytes(data)) w.u8(b); return;
    case TYPE.AAAA: for (const b of ipv6Bytes(data)) w.u8(b); return;
    case TYPE.CNAME: case TYPE.NS: case TYPE.PTR: w.name(data, true, added); return;
    case TYPE.MX: w.u16(data.preference ?? 0); w.name(data.exchange, true, added); return;
    case TYPE.SRV: w.u16(data.priority ?? 0); w.u16(data.weight ?? 0); w.u16(data.port ?? 0); w.name(data.target, false, added); return;
    case TYPE.SOA:
      w.name(data.mname, true, added); w.name(data.rname, true, added);
      w.u32(data.serial ?? 0); w.u32(data.refresh ?? 0); w.u32(data.retry ?? 0); w.u32(data.expire ?? 0); w.u32(data.minimum ?? 0);
      return;
    case TYPE.TXT: {
      const parts = Array.isArray(data) ? data : [data];
      if (parts.length === 0) w.u8(0);
      for (const p of parts) {
        // Long strings are split into 255-octet character-strings, as zone-file parsers do.
        const b = typeof p === 'string' ? Buffer.from(p) : Buffer.from(p);
        if (b.length === 0) w.u8(0);
        for (let i = 0; i < b.length; i += 255) writeCharString(w, b.subarray(i, i + 255));
      }
      return;
    }
    case TYPE.HINFO: writeCharString(w, data.cpu ?? ''); writeCharString(w, data.os ?? ''); return;
    default: {
      if (Buffer.isBuffer(data) || data instanceof Uint8Array) { w.bytes(data); return; }
      // Anything else: let dns-packet encode the RDATA (it writes its own 2-byte length first).
      const enc = (dnsPacket as any).record(typeNameForPacket(type));
      const tmp: Buffer = enc.encode(data);
      w.bytes(tmp.subarray(2));
    }
  }
}

function typeNameForPacket(t: number): string {
  for (const [k, v] of Object.entries(TYPE)) if (v === t) return k;
  return `UNKNOWN_${t}`;
}

/** Write one record; returns false (and rolls back) if it would pass `limit`. */
function writeRR(w: Writer, rr: RR, limit: number, ttlOverride?: number): boolean {
  const start = w.off;
  const added: string[] = [];
  try {
    const type = typeOf(rr);
    w.name(rr.name, true, added);
    w.u16(type);
    w.u16(classOf(rr));
    w.u32(ttlOverride ?? rr.ttl);
    const lenAt = w.off;
    w.u16(0);
    writeRdata(w, type, rr.data, added);
    const rdlen = w.off - lenAt - 2;
    w.buf.writeUInt16BE(rdlen, lenAt);
  } catch (e) {
    if (e instanceof RangeError) { rollback(w, start, added); return false; }
    throw e;
  }
  if (w.off > limit) { rollback(w, start, added); return false; }
  return true;
}

function rollback(w: Writer, start: number, added: string[]) {
  w.off = start;
  if (w.compress) for (const k of added) w.compress.delete(k);
}

function optLength(): number { return 11; }

function writeOpt(w: Writer, edns: Edns, extRcode: number) {
  w.u8(0); // root
  w.u16(TYPE.OPT);
  w.u16(Math.max(512, edns.udpSize));
  w.u8(extRcode);
  w.u8(0); // version we speak
  w.u16(edns.do ? 0x8000 : 0);
  w.u16(0);
}

/** Encode a reply. `maxSize` is the most the client accepts (512 / EDNS size / 65535 on TCP). */
export function encodeResponse(h: ReplyHeader, res: DnsResponse, maxSize: number): Buffer {
  const plain = encodeWith(h, res, 65535, false);
  if (plain.length <= maxSize) return plain;
  return encodeWith(h, res, maxSize, true);
}

function encodeWith(h: ReplyHeader, res: DnsResponse, maxSize: number, compress: boolean): Buffer {
  const w = new Writer(compress);
  const rcode = res.rcode;
  const q = res.question ?? h.question;
  w.off = 12;
  if (q) {
    w.name(q.name, true);
    w.u16(q.qtype);
    w.u16(q.qclass);
  }
  const limit = maxSize - (h.edns ? optLength() : 0);
  let an = 0, ns = 0, ar = 0;
  let dropped = false;
  const sections: [RR[], (n: number) => void][] = [
    [res.answers, (n) => (an = n)],
    [res.authorities, (n) => (ns = n)],
    [res.additionals.filter((r) => r.type !== 'OPT'), (n) => (ar = n)],
  ];
  for (const [rrs, set] of sections) {
    let n = 0;
    if (!dropped) {
      for (const rr of rrs) {
        if (!writeRR(w, rr, limit)) { dropped = true; break; }
        n++;
      }
    } else if (rrs.length) {
      // Once something did not fit, later sections are dropped entirely (miekg stops too).
    }
    if (n < rrs.length) dropped = true;
    set(n);
  }
  if (h.edns) { writeOpt(w, h.edns, rcode >> 4); ar++; }
  let flags = 0x8000 | ((h.opcode & 0xf) << 11) | (rcode & 0xf);
  if (res.aa) flags |= 0x0400;
  if (res.tc || dropped) flags |= 0x0200;
  if (h.rd) flags |= 0x0100;
  if (res.ra) flags |= 0x0080;
  if (res.ad) flags |= 0x0020;
  if (h.cd) flags |= 0x0010;
  w.buf.writeUInt16BE(h.id, 0);
  w.buf.writeUInt16BE(flags, 2);
  w.buf.writeUInt16BE(q ? 1 : 0, 4);
  w.buf.writeUInt16BE(an, 6);
  w.buf.writeUInt16BE(ns, 8);
  w.buf.writeUInt16BE(ar, 10);
  return Buffer.from(w.buf.subarray(0, w.off));
}

/** Encode a query (for forward, health checks, loop probes). */
export function encodeQuery(id: number, q: { name: string; qtype: number; qclass?: number }, opts: { rd?: boolean; cd?: boolean; edns?: Edns | null } = {}): Buffer {
  const w = new Writer(false);
  w.off = 12;
  w.name(q.name, false);
  w.u16(q.qtype);
  w.u16(q.qclass ?? CLASS.IN);
  if (opts.edns) writeOpt(w, opts.edns, 0);
  let flags = 0;
  if (opts.rd ?? true) flags |= 0x0100;
  if (opts.cd) flags |= 0x0010;
  w.buf.writeUInt16BE(id, 0);
  w.buf.writeUInt16BE(flags, 2);
  w.buf.writeUInt16BE(1, 4);
  w.buf.writeUInt16BE(0, 6);
  w.buf.writeUInt16BE(0, 8);
  w.buf.writeUInt16BE(opts.edns ? 1 : 0, 10);
  return Buffer.from(w.buf.subarray(0, w.off));
}

/** Decode a full message (upstream replies) into dns-packet objects; RR types as mnemonics. */
export function decodeMessage(buf: Buffer): dnsPacket.Packet {
  return dnsPacket.decode(buf);
}
