// What kind of reply this is and how long it may live, as CoreDNS's response.Typify and
// dnsutil.MinimalTTL decide it. The cache stores by kind and clamps the TTL per kind.

import type { DnsResponse, RR } from '../../dns/message.js';
import { RCODE, TYPE } from '../../dns/constants.js';

export type ReplyKind = 'noerror' | 'nxdomain' | 'nodata' | 'servfail' | 'delegation' | 'meta' | 'other';

/** Classify a reply to a query of `qtype` (mnemonic `qtypeName`). */
export function classify(res: DnsResponse, qtype: number, qtypeName: string): ReplyKind {
  if (qtype === TYPE.AXFR || qtype === TYPE.IXFR) return 'meta';
  const answers = res.answers;
  if (answers.length > 0 && res.rcode === RCODE.NOERROR) {
    let match = false;
    for (const rr of answers) if (rr.type === qtypeName) { match = true; break; }
    // Since 1.12 an A/AAAA answer without a record of the asked type (a dangling CNAME) is NODATA.
    if (!match && (qtype === TYPE.A || qtype === TYPE.AAAA)) return 'nodata';
    return 'noerror';
  }
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

/** The lowest TTL in the reply (all sections, SOA included, OPT excluded), in seconds. */
export function minimalTtl(res: DnsResponse, kind: ReplyKind): number {
  if (kind !== 'noerror' && kind !== 'nxdomain' && kind !== 'nodata') return MINIMAL_DEFAULT_TTL;
  const extra = res.additionals;
  const onlyOpt = extra.length === 0 || (extra.length === 1 && extra[0].type === 'OPT');
  if (res.answers.length + res.authorities.length === 0 && onlyOpt) return MINIMAL_DEFAULT_TTL;
  let min = minTtlOf(res.answers, MAXIMUM_DEFAULT_TTL);
  min = minTtlOf(res.authorities, min);
  return minTtlOf(extra, min);
}

export function clampTtl(ttl: number, min: number, max: number): number {
  if (ttl < min) ttl = min;
  if (ttl > max) ttl = max;
  return ttl;
}
