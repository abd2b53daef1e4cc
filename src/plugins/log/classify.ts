// Response classes for `log { class ... }`, as CoreDNS's plugin/pkg/response Typify + Classify
// (without the DNSSEC signature-expiry check).

import type { DnsRequest, DnsResponse } from '../../dns/message.js';
import { OPCODE, RCODE, TYPE } from '../../dns/constants.js';

export type ResponseClass = 'success' | 'denial' | 'error';

export function classify(req: DnsRequest, res: DnsResponse): ResponseClass {
  // Updates, notifies and zone transfers are "meta" in CoreDNS, which Classify files under error.
  if (req.opcode === OPCODE.UPDATE || req.opcode === OPCODE.NOTIFY) return 'error';
  const qt = req.question.qtype;
  if (qt === TYPE.AXFR || qt === TYPE.IXFR) return 'error';
  if (res.answers.length > 0 && res.rcode === RCODE.NOERROR) return 'success';
  let soa = false;
  let ns = 0;
  for (const rr of res.authorities) {
    if (rr.type === 'SOA') soa = true;
    else if (rr.type === 'NS') ns++;
  }
  if (soa && res.rcode === RCODE.NOERROR) return 'denial'; // NODATA
  if (soa && res.rcode === RCODE.NXDOMAIN) return 'denial';
  if (res.rcode === RCODE.SERVFAIL || res.rcode === RCODE.NOTIMP) return 'error';
  if (ns > 0 && res.rcode === RCODE.NOERROR) return 'success'; // delegation
  if (res.rcode === RCODE.NOERROR) return 'success';
  return 'error';
}
