// IP text helpers shared by plugins that answer PTR queries (hosts, k8s_external): the canonical
// text form of an address (Go's net.IP.String()), the address inside a reverse name
// (`1.0.0.10.in-addr.arpa.` -> `10.0.0.1`), and the reverse name of an address (miekg/dns
// ReverseAddr). The kubernetes plugin keeps its own Go-exact parser in src/plugins/kubernetes/ip.ts.

import { isIP } from 'node:net';

/** Canonical form of an IP literal, or null. IPv4-mapped IPv6 becomes IPv4, as Go's To4() does
 *  (CoreDNS files `::ffff:10.0.0.2 name` under A). A `%zone` suffix is dropped. */
export function canonicalIP(text: string): { ip: string; family: 4 | 6 } | null {
  const pct = text.indexOf('%');
  const s = pct >= 0 ? text.slice(0, pct) : text;
  const fam = isIP(s);
  if (fam === 4) return { ip: s.split('.').map((x) => String(Number(x))).join('.'), family: 4 };
  if (fam !== 6) return null;
  const bytes = v6Bytes(s);
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return { ip: bytes.slice(12).join('.'), family: 4 };
  return { ip: formatIPv6(bytes), family: 6 };
}

function v6Bytes(s: string): number[] {
  let tail: number[] = [];
  let text = s;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail = text.slice(lastColon + 1).split('.').map(Number);
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, back] = text.split('::');
  const h = head ? head.split(':') : [];
  const b = back !== undefined && back !== '' ? back.split(':') : [];
  const groups = back === undefined ? h : [...h, ...Array(8 - h.length - b.length).fill('0'), ...b];
  const out: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 0xff);
  }
  if (tail.length === 4) out.splice(12, 4, ...tail);
  return out;
}

/** RFC 5952 text of 16 address bytes: lower case, the first longest run (>1) of zero groups
 *  compressed to `::` (no IPv4 tail). */
export function formatIPv6(bytes: ArrayLike<number>): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i] << 8) | bytes[i + 1]);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The address a reverse name stands for (`1.0.0.10.in-addr.arpa.` -> `10.0.0.1`), or '' when the
 *  name is not a complete reverse name. Expects a lower-case name. */
export function addressFromReverse(lname: string): string {
  if (lname.endsWith('.in-addr.arpa.')) {
    const labels = lname.slice(0, -'.in-addr.arpa.'.length).split('.');
    if (labels.length !== 4) return '';
    const ip = labels.reverse().join('.');
    return isIP(ip) === 4 ? canonicalIP(ip)!.ip : '';
  }
  if (lname.endsWith('.ip6.arpa.')) {
    const nibbles = lname.slice(0, -'.ip6.arpa.'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return '';
    const hex = nibbles.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return canonicalIP(groups.join(':'))?.ip ?? '';
  }
  return '';
}

/** The reverse name of an IP literal, as miekg/dns ReverseAddr builds it (`10.0.0.1` ->
 *  `1.0.0.10.in-addr.arpa.`, `::1` -> 32 nibbles + `.ip6.arpa.`; IPv4-mapped IPv6 goes under
 *  in-addr.arpa.), or '' when `ip` is not an address. */
export function reverseName(ip: string): string {
  const c = canonicalIP(ip);
  if (!c) return '';
  if (c.family === 4) return `${c.ip.split('.').reverse().join('.')}.in-addr.arpa.`;
  const nibbles = v6Bytes(c.ip).flatMap((b) => [(b >> 4).toString(16), (b & 0xf).toString(16)]);
  return `${nibbles.reverse().join('.')}.ip6.arpa.`;
}
