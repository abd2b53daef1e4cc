// From query bytes to reply bytes: parse once, route to a server block by zone, run its plugin
// chain, encode (with truncation for UDP). Never throws: bad input becomes FORMERR/NOTIMP/REFUSED/
// SERVFAIL on the wire, or is dropped when not even the header can be read.

import type { DnsRequest, DnsResponse, Proto } from '../dns/message.js';
import { emptyResponse } from '../dns/message.js';
import { CLASS, OPCODE, RCODE, TYPE } from '../dns/constants.js';
import { parseQuery, ParseError, type ParsedQuery } from '../dns/query.js';
import { encodeResponse, type ReplyHeader } from '../dns/wire.js';
import type { ListenerGroup } from './instance.js';
import { matchZone } from './instance.js';
import type { Logger } from '../plugins/types.js';
import type { QuickQuery } from './fastpath.js';

export interface Transport {
  proto: Proto;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

/** Things outside the chain that want to see queries (metrics for refused/dropped queries). */
export interface DispatchObserver {
  /** A query no server block accepted (CoreDNS metrics zone "dropped"). */
  unrouted?(req: DnsRequest, res: DnsResponse, wireSize: number): void;
  /** A plugin threw: counted as a panic. */
  panic?(err: unknown): void;
}

export interface DispatchContext {
  group: () => ListenerGroup | undefined;
  log: Logger;
  observer: DispatchObserver;
}

function hdr(p: ParsedQuery): ReplyHeader {
  return { id: p.id, opcode: p.opcode, rd: p.rd, cd: p.cd, question: p.question, edns: p.edns };
}

function errorReply(p: ParsedQuery, rcode: number, withQuestion: boolean): Buffer {
  const h = hdr(p);
  if (!withQuestion) h.question = null;
  return encodeResponse(h, emptyResponse(rcode), 65535);
}

function normaliseAddress(a: string): { addr: string; family: 1 | 2 } {
  if (a.startsWith('::ffff:') && a.includes('.')) return { addr: a.slice(7), family: 1 };
  return { addr: a, family: a.includes(':') ? 2 : 1 };
}

/** Handle one message. Returns the reply bytes, null to send nothing, or a promise of either. */
export function dispatch(ctx: DispatchContext, raw: Buffer, t: Transport, fq: QuickQuery | null = null): Buffer | null | Promise<Buffer | null> {
  let p: ParsedQuery;
  try {
    p = parseQuery(raw);
  } catch (e) {
    if (e instanceof ParseError && e.headerOk) {
      // A response (QR set) is never answered, whatever its shape.
      if ((raw[2] & 0x80) !== 0) return null;
      const id = raw.readUInt16BE(0);
      const opcode = (raw[2] >> 3) & 0xf;
      return encodeResponse({ id, opcode, rd: (raw[2] & 1) !== 0, cd: false, question: null, edns: null }, emptyResponse(RCODE.FORMERR), 65535);
    }
    return null;
  }
  if (p.qr) return null;
  if (p.opcode !== OPCODE.QUERY) return errorReply(p, RCODE.NOTIMP, false);
  if (p.qdcount !== 1 || !p.question) return errorReply(p, RCODE.FORMERR, false);
  if (p.edns && p.edns.version > 0) {
    const h = hdr(p);
    return encodeResponse(h, emptyResponse(RCODE.BADVERS), 65535);
  }

  const group = ctx.group();
  const remote = normaliseAddress(t.remoteAddress);
  const req: DnsRequest = {
    raw,
    id: p.id,
    opcode: p.opcode,
    rd: p.rd,
    cd: p.cd,
    ad: p.ad,
    question: p.question,
    edns: p.edns,
    proto: t.proto,
    family: remote.family,
    remoteAddress: remote.addr,
    remotePort: t.remotePort,
    localAddress: normaliseAddress(t.localAddress).addr,
    localPort: t.localPort,
    server: group?.server ?? `dns://:${t.localPort}`,
    zone: '.',
    start: process.hrtime.bigint(),
    fastQuery: fq,
  };
  const maxSize = t.proto === 'tcp' ? 65535 : p.edns ? Math.max(512, p.edns.udpSize) : 512;
  const h = hdr(p);

  const q = p.question;
  const routed = group ? matchZone(group.zones, q.lname, q.qtype === TYPE.DS) : null;
  if (!routed || routed.block.plugins.length === 0) {
    const res = emptyResponse(RCODE.REFUSED);
    req.zone = 'dropped';
    const out = encodeResponse(h, res, maxSize);
    ctx.observer.unrouted?.(req, res, out.length);
    return out;
  }
  if (q.qclass !== CLASS.IN && !group!.anyClass) {
    return encodeResponse(h, emptyResponse(RCODE.REFUSED), maxSize);
  }
  req.zone = routed.zone;

  let result: DnsResponse | Promise<DnsResponse>;
  try {
    result = routed.block.chain(req);
  } catch (e) {
    return panicReply(ctx, h, maxSize, e);
  }
  if (result instanceof Promise) {
    return result.then(
      (res) => finish(ctx, req, h, res, maxSize),
      (e) => panicReply(ctx, h, maxSize, e),
    );
  }
  return finish(ctx, req, h, result, maxSize);
}

function finish(ctx: DispatchContext, req: DnsRequest, h: ReplyHeader, res: DnsResponse, maxSize: number): Buffer | null {
  if (res.drop) return null;
  let out: Buffer;
  try {
    out = encodeResponse(h, res, maxSize);
  } catch (e) {
    ctx.log.error(`plugin/${res.plugin ?? 'server'}: cannot encode reply for ${h.question?.name} ${h.question?.qtype}: ${(e as Error).message}`);
    res = emptyResponse(RCODE.SERVFAIL);
    out = encodeResponse(h, res, maxSize);
  }
  if (req.onWrite) {
    try {
      req.onWrite(res, out.length);
    } catch (e) {
      ctx.log.error(`onWrite: ${(e as Error).message}`);
    }
  }
  if (res.fast && req.fastQuery && !req.noFast && !res.error) {
    ctx.group()?.fast.store(req.fastQuery, out, res.fast, !!req.fastShuffle, req.fastReplays ?? [], maxSize);
  }
  return out;
}

function panicReply(ctx: DispatchContext, h: ReplyHeader, maxSize: number, e: unknown): Buffer {
  ctx.observer.panic?.(e);
  ctx.log.error(`Recovered from panic in server: "${h.question?.name}" ${(e as Error)?.stack ?? e}`);
  return encodeResponse(h, emptyResponse(RCODE.SERVFAIL), maxSize);
}
