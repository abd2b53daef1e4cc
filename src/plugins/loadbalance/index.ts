// loadbalance: round-robin DNS. In every section of a NOERROR reply, CNAMEs go first (glibc wants
// them before the addresses), then other records, then the A/AAAA records in random order, then
// MX in random order. `prefer CIDR...` then moves addresses in those subnets to the front.
// The reply's arrays may be shared with a cache entry: they are copied, never reordered in place.

import type { Directive } from '../../corefile/types.js';
import { configErrorAt } from '../../corefile/types.js';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { ipv4Bytes, ipv6Bytes } from '../../dns/wire.js';
import type { Handler, Plugin, PluginDefinition, Result } from '../types.js';

export interface Subnet {
  bytes: number[];
  bits: number;
}

export function parseCidr(text: string): Subnet {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error('missing prefix length');
  const ip = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const bytes = ip.includes(':') ? ipv6Bytes(ip) : ipv4Bytes(ip);
  const bits = Number(lenText);
  if (!/^\d+$/.test(lenText) || bits > bytes.length * 8) throw new Error(`bad prefix length ${lenText}`);
  return { bytes, bits };
}

function contains(net: Subnet, addr: number[]): boolean {
  if (addr.length !== net.bytes.length) return false;
  let bits = net.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i] & mask) !== (net.bytes[i] & mask)) return false;
  }
  return true;
}

function addressBytes(rr: RR): number[] | null {
  try {
    if (rr.type === 'A') return ipv4Bytes(rr.data);
    if (rr.type === 'AAAA') return ipv6Bytes(rr.data);
  } catch {
    // A malformed address simply is not preferred.
  }
  return null;
}

export function parseLoadbalance(d: Directive): Subnet[] {
  const [policy, ...rest] = d.args;
  if (policy !== undefined && policy !== 'round_robin') {
    if (policy === 'weighted') throw configErrorAt(d, `plugin/loadbalance: the weighted policy is not supported by kdns`);
    throw configErrorAt(d, `plugin/loadbalance: unknown policy: ${policy}`);
  }
  if (rest.length) throw configErrorAt(d, `plugin/loadbalance: unknown property for ${policy}`);
  const prefer: Subnet[] = [];
  for (const sub of d.block ?? []) {
    if (sub.name !== 'prefer') throw configErrorAt(sub, `plugin/loadbalance: unknown property '${sub.name}'`);
    for (const c of sub.args) {
      try {
        prefer.push(parseCidr(c));
      } catch (e) {
        throw configErrorAt(sub, `plugin/loadbalance: invalid CIDR "${c}": ${(e as Error).message}`);
      }
    }
  }
  return prefer;
}

function shuffle(a: RR[]) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** A new array: CNAMEs, other records, shuffled addresses, shuffled MX. */
export function roundRobin(rrs: RR[]): RR[] {
  if (rrs.length < 2) return rrs;
  const cname: RR[] = [];
  const rest: RR[] = [];
  const addr: RR[] = [];
  const mx: RR[] = [];
  for (const rr of rrs) {
    if (rr.type === 'CNAME') cname.push(rr);
    else if (rr.type === 'A' || rr.type === 'AAAA') addr.push(rr);
    else if (rr.type === 'MX') mx.push(rr);
    else rest.push(rr);
  }
  shuffle(addr);
  shuffle(mx);
  return cname.concat(rest, addr, mx);
}

/** CoreDNS's prefer step: CNAMEs, addresses in the preferred subnets (in the order the subnets
 *  are listed), the other addresses, MX, then everything else. */
export function preferSubnets(rrs: RR[], subnets: Subnet[]): RR[] {
  if (rrs.length < 2) return rrs;
  const cname: RR[] = [];
  const addr: { rr: RR; bytes: number[] | null }[] = [];
  const mx: RR[] = [];
  const rest: RR[] = [];
  for (const rr of rrs) {
    if (rr.type === 'CNAME') cname.push(rr);
    else if (rr.type === 'A' || rr.type === 'AAAA') addr.push({ rr, bytes: addressBytes(rr) });
    else if (rr.type === 'MX') mx.push(rr);
    else rest.push(rr);
  }
  const taken = new Set<number>();
  const sorted: RR[] = [];
  for (const net of subnets) {
    addr.forEach((a, i) => {
      if (!taken.has(i) && a.bytes && contains(net, a.bytes)) {
        taken.add(i);
        sorted.push(a.rr);
      }
    });
  }
  addr.forEach((a, i) => {
    if (!taken.has(i)) sorted.push(a.rr);
  });
  return cname.concat(sorted, mx, rest);
}

export class LoadbalancePlugin implements Plugin {
  readonly name = 'loadbalance';
  /** A reused reply gets its A/AAAA records shuffled by the fast path (req.fastShuffle). */
  readonly fastAware = true;

  constructor(private readonly prefer: Subnet[]) {}

  handle(req: DnsRequest, next: Handler): Result {
    const qt = req.question.qtype;
    if (qt === TYPE.AXFR || qt === TYPE.IXFR) return next(req);
    req.fastShuffle = true;
    const res = next(req);
    if (res instanceof Promise) return res.then((r) => this.balance(r));
    return this.balance(res);
  }

  balance(res: DnsResponse): DnsResponse {
    if (res.rcode !== RCODE.NOERROR) return res;
    if (res.answers.length < 2 && res.authorities.length < 2 && res.additionals.length < 2) return res;
    let answers = roundRobin(res.answers);
    const authorities = roundRobin(res.authorities);
    let additionals = roundRobin(res.additionals);
    if (this.prefer.length) {
      answers = preferSubnets(answers, this.prefer);
      additionals = preferSubnets(additionals, this.prefer);
    }
    return { ...res, answers, authorities, additionals };
  }
}

export const loadbalance: PluginDefinition = {
  name: 'loadbalance',
  setup(d): Plugin {
    return new LoadbalancePlugin(parseLoadbalance(d));
  },
};
