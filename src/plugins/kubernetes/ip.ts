// IP text handling with Go's net.ParseIP / net.IP.String semantics, which CoreDNS's answers
// depend on: IPv4 without leading zeros, IPv6 printed per RFC 5952, and IPv4-mapped IPv6
// addresses treated (and printed) as IPv4 (`ip.To4() != nil`).

export interface ParsedIP {
  /** 4 when the address is IPv4 or IPv4-mapped IPv6 (Go's To4() != nil), else 6. */
  family: 4 | 6;
  /** Canonical text as Go prints it (dotted for family 4). */
  text: string;
}

function parseV4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function parseV6(s: string): number[] | null {
  let text = s;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    // An embedded IPv4 tail (`::ffff:1.2.3.4`) becomes two hex groups.
    const v4 = parseV4(s.slice(lastColon + 1));
    if (!v4) return null;
    text = `${s.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const groups = (x: string): number[] | null => {
    if (x === '') return [];
    const out: number[] = [];
    for (const g of x.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const dbl = text.indexOf('::');
  let words: number[] | null;
  if (dbl === -1) {
    words = groups(text);
    if (!words || words.length !== 8) return null;
  } else {
    if (text.indexOf('::', dbl + 1) !== -1) return null;
    const head = groups(text.slice(0, dbl));
    const rest = groups(text.slice(dbl + 2));
    if (!head || !rest || head.length + rest.length > 7) return null;
    words = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  }
  const bytes: number[] = [];
  for (const w of words) bytes.push(w >> 8, w & 0xff);
  return bytes;
}

function v6Text(b: number[]): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // Longest run of at least two zero words (first one wins) becomes `::`.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart === -1) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** A dotted IPv4 address as Go accepts it (no leading zeros); such text is already canonical. */
const V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses an IP like Go's net.ParseIP; null when it is not one. */
export function parseIP(s: string): ParsedIP | null {
  // The common case, answered with the input string itself (no copy).
  if (V4.test(s)) return { family: 4, text: s };
  if (s.includes(':')) {
    const b = parseV6(s);
    if (!b) return null;
    const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
    if (mapped) return { family: 4, text: b.slice(12).join('.') };
    return { family: 6, text: v6Text(b) };
  }
  const b = parseV4(s);
  return b ? { family: 4, text: b.join('.') } : null;
}

/** The address a reverse name stands for (CoreDNS dnsutil.ExtractAddressFromReverse), or ''. */
export function addressFromReverse(lname: string): string {
  if (lname.endsWith('.in-addr.arpa.')) {
    const labels = lname.slice(0, -'.in-addr.arpa.'.length).split('.').reverse();
    const ip = parseIP(labels.join('.'));
    return ip && ip.family === 4 ? ip.text : '';
  }
  if (lname.endsWith('.ip6.arpa.')) {
    const labels = lname.slice(0, -'.ip6.arpa.'.length).split('.').reverse();
    const groups: string[] = [];
    // Like CoreDNS: nibbles are taken four at a time; surplus labels are ignored.
    for (let i = 0; i + 4 <= labels.length; i += 4) groups.push(labels.slice(i, i + 4).join(''));
    const ip = parseIP(groups.join(':'));
    return ip ? ip.text : '';
  }
  return '';
}

/** True for names below in-addr.arpa. or ip6.arpa. (CoreDNS dnsutil.IsReverse > 0; the bare
 *  `in-addr.arpa.` itself does not count, as in CoreDNS). */
export function isReverseName(lname: string): boolean {
  return lname.endsWith('.in-addr.arpa.') || lname.endsWith('.ip6.arpa.');
}

/** The dashed form of an endpoint IP used as its DNS label (`10-0-0-1`, `2001-db8--1`). Since
 *  CoreDNS 1.13 an IPv6 form ending in `-` gets a `0` so that it is a valid label. */
export function dashedIP(ip: string): string {
  if (V4.test(ip)) {
    const a = ip.indexOf('.');
    const b = ip.indexOf('.', a + 1);
    const c = ip.indexOf('.', b + 1);
    return `${ip.slice(0, a)}-${ip.slice(a + 1, b)}-${ip.slice(b + 1, c)}-${ip.slice(c + 1)}`;
  }
  if (ip.includes('.')) return ip.replaceAll('.', '-');
  if (ip.includes(':')) {
    const d = ip.replaceAll(':', '-');
    return d.endsWith('-') ? `${d}0` : d;
  }
  return '';
}

/** The IP text a pod label stands for (`10-0-0-1` -> `10.0.0.1`, `1234-abcd--1` -> `1234:abcd::1`),
 *  not yet validated. */
export function podLabelToIP(label: string): string {
  const dashes = label.split('-').length - 1;
  if (dashes === 3 && !label.includes('--')) return label.replaceAll('-', '.');
  return label.replaceAll('-', ':');
}

export function isLoopback(ip: ParsedIP): boolean {
  return ip.family === 4 ? ip.text.startsWith('127.') : ip.text === '::1';
}
