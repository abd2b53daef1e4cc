// The cache's view of a reply: CoreDNS's response.Typify (src/dns/classify.ts) plus the cache's own
// rule (since 1.12) that a NOERROR answer to A/AAAA without a record of the asked type (a dangling
// CNAME) is NODATA. The cache stores by kind and clamps the TTL per kind.

import type { DnsResponse } from '../../dns/message.js';
import { TYPE } from '../../dns/constants.js';
import { typify, type ReplyType } from '../../dns/classify.js';

export { minimalTtl } from '../../dns/classify.js';

export type ReplyKind = ReplyType;

/** Classify a reply to a query of `qtype` (mnemonic `qtypeName`). */
export function classify(res: DnsResponse, qtype: number, qtypeName: string): ReplyKind {
  const kind = typify(res, qtype);
  if (kind === 'noerror' && res.answers.length > 0 && (qtype === TYPE.A || qtype === TYPE.AAAA)) {
    if (!res.answers.some((rr) => rr.type === qtypeName)) return 'nodata';
  }
  return kind;
}

export function clampTtl(ttl: number, min: number, max: number): number {
  if (ttl < min) ttl = min;
  if (ttl > max) ttl = max;
  return ttl;
}
