// What kind of reply a message is, as CoreDNS's plugin/pkg/response decides it: Typify (the type:
// NOERROR, NXDOMAIN, NODATA, SERVFAIL, delegation, meta, update, other), Classify (the class that
// `log { class }` selects on: success, denial, error) and dnsutil.MinimalTTL (the lowest TTL of a
// reply, which cache uses). The DNSSEC signature-expiry check of Typify is left out.

import type { DnsRequest, DnsResponse, RR } from './message.js';
import { OPCODE, RCODE, TYPE } from './constants.js';

/** CoreDNS response.Type: NoError, NameError, NoData, ServerError, Delegation, Meta, Update, OtherError. */
export type ReplyType = 'noerror' | 'nxdomain' | 'nodata' | 'servfail' | 'delegation' | 'meta' | 'update' | 'other';

/** CoreDNS response.Class. */
export type ResponseClass = 'success' | 'denial' | 'error';

/** response.Typify of reply `res` to a query of `qtype` with `opcode` (QUERY when omitted). */
export function typify(res: DnsResponse, qtype: number, opcode: number = OPCODE.QUERY): ReplyType {
  if (opcode === OPCODE.UPDATE) return 'update';
  if (opcode === OPCODE.NOTIFY) return 'meta';
  if (qtype === TYPE.AXFR || qtype === TYPE.IXFR) return 'meta';
  if (res.answers.length > 0 && res.rcode === RCODE.NOERROR) return 'noerror';
  let soa = false;
  let ns = 0;
  for (const rr of res.authorities) {
    if (rr.type === 'SOA') soa = true;
    else if (rr.type === 'NS') ns++;
  }
  if (soa && res.rcode === RCODE.NOERROR) return 'nodata';
  if (soa && res.rcode === RCODE.NXDOMAIN) return 'nxdomain';
  if (res.rcode === RCODE.SERVFAIL || res.rcode === RCODE.NOTIMP) return 'servfail';
  if (ns > 0 && res.rcode === RCODE.NOERROR) return 'delegation';
  if (res.rcode === RCODE.NOERROR) return 'noerror';
  return 'other';
}

/** response.Classify: NOERROR and delegations are success, NXDOMAIN and NODATA denial, the rest
 *  (SERVFAIL, meta, update, other) error. */
export function responseClass(t: ReplyType): ResponseClass {
  switch (t) {
    case 'noerror':
    case 'delegation':
      return 'success';
    case 'nxdomain':
    case 'nodata':
      return 'denial';
    default:
      return 'error';
  }
}

/** The class of the reply `res` to `req` (Typify + Classify). */
export function classify(req: DnsRequest, res: DnsResponse): ResponseClass {
  return responseClass(typify(res, req.question.qtype, req.opcode));
}

/** Seconds CoreDNS never goes below/above when a reply says nothing useful. */
export const MINIMAL_DEFAULT_TTL = 5;
export const MAXIMUM_DEFAULT_TTL = 3600;

function minTtlOf(rrs: RR[], start: number): number {
  let min = start;
  for (const rr of rrs) {
    if (rr.type === 'OPT') continue;
    if (rr.ttl < min) min = rr.ttl;
  }
  return min;
}

/** dnsutil.MinimalTTL: the lowest TTL in the reply (all sections, SOA included, OPT excluded), in
 *  seconds; MINIMAL_DEFAULT_TTL for replies that are not NOERROR/NXDOMAIN/NODATA or are empty. */
export function minimalTtl(res: DnsResponse, t: ReplyType): number {
  if (t !== 'noerror' && t !== 'nxdomain' && t !== 'nodata') return MINIMAL_DEFAULT_TTL;
  const extra = res.additionals;
  const onlyOpt = extra.length === 0 || (extra.length === 1 && extra[0].type === 'OPT');
  if (res.answers.length + res.authorities.length === 0 && onlyOpt) return MINIMAL_DEFAULT_TTL;
  let min = minTtlOf(res.answers, MAXIMUM_DEFAULT_TTL);
  min = minTtlOf(res.authorities, min);
  return minTtlOf(extra, min);
}
