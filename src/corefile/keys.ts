// Server block keys: `[SCHEME://]ZONE[:PORT]`, where ZONE may be a CIDR that stands for its reverse
// zone(s). Mirrors CoreDNS's plugin/pkg/parse.Transport, plugin.SplitHostPort and plugin/pkg/cidr.

import type { ServerKey } from './types.js';

export type Scheme = ServerKey['scheme'];

/** Default port per scheme. `dns` has none here: its default is the `-dns.port` flag (53). */
export const SCHEME_PORTS: Readonly<Record<Scheme, number | null>> = {
  dns: null,
  tls: 853,
  quic: 853,
  grpc: 443,
  https: 443,
  https3: 443,
};

const SCHEMES = new Set<string>(Object.keys(SCHEME_PORTS));

/** A key that cannot be served; the parser adds the file:line of the key. */
export class KeyError extends Error {}

/** Parses one key (already env-substituted, without commas). Throws KeyError. */
export function parseServerKey(raw: string): ServerKey {
  let scheme: Scheme = 'dns';
  let rest = raw;
  const sep = raw.indexOf('://');
  if (sep !== -1) {
    const name = raw.slice(0, sep);
    if (!SCHEMES.has(name)) throw new KeyError(`unsupported scheme "${name}://" in server block key "${raw}"`);
    scheme = name as Scheme;
    rest = raw.slice(sep + 3);
  }

  // Like CoreDNS: digits after the last colon are the port. This works for names and for reverse
  // CIDRs, whose /mask always comes before the port (`fd00::/8:1053`).
  let host = rest;
  let port: number | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon !== -1) {
    const suffix = rest.slice(colon + 1);
    if (suffix === '') throw new KeyError(`expecting data after last colon: "${raw}"`);
    if (/^[0-9]+$/.test(suffix)) {
      port = Number(suffix);
      if (port > 65535) throw new KeyError(`invalid port ${suffix} in server block key "${raw}": must be 0-65535`);
      host = rest.slice(0, colon);
    } else if (!host.includes('/')) {
      throw new KeyError(`invalid port "${suffix}" in server block key "${raw}"`);
    }
  }
  return { raw, scheme, zones: zonesFromHost(host), port: port ?? SCHEME_PORTS[scheme] };
}

/** A zone name or CIDR -> normalised zone(s): lower case, absolute; CIDRs become reverse zones. */
export function zonesFromHost(host: string): string[] {
  if (host.length > 255) throw new KeyError(`specified zone is too long: ${host.length} > 255`);
  const cidr = looksLikeCidr(host) ? parseCidr(host) : null;
  if (cidr) return reverseZones(cidr);
  return [normalizeZoneName(host)];
}

/** Lower case, absolute; throws KeyError for something that cannot be a domain name. */
export function normalizeZoneName(name: string): string {
  if (name === '.') return '.';
  const bad = (): KeyError => new KeyError(`zone is not a valid domain name: ${name}`);
  // Braces, parentheses, quotes and colons cannot come from a valid key (snippet names, stray
  // braces, a port that did not parse); CoreDNS's check is more permissive but would serve garbage.
  if (name === '' || /[\s(){}":;]/.test(name)) throw bad();
  const fqdn = name.endsWith('.') ? name : name + '.';
  if (fqdn.length > 255) throw new KeyError(`specified zone is too long: ${fqdn.length} > 255`);
  for (const label of fqdn.slice(0, -1).split('.')) {
    if (label === '' || label.length > 63) throw bad();
  }
  return fqdn.toLowerCase();
}

export interface Cidr {
  /** 4 bytes for IPv4, 16 for IPv6; host bits cleared. */
  bytes: number[];
  prefix: number;
}

// Only IP-shaped text with a /mask is a CIDR; anything else with a slash stays a name, e.g. the
// RFC 2317 zone `0/25.2.0.192.in-addr.arpa`.
function looksLikeCidr(host: string): boolean {
  return /^[0-9.]+\/[0-9]+$/.test(host) || /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\/[0-9]+$/.test(host);
}

/** Parses `a.b.c.d/n` or `x:y::/n`. Throws KeyError when malformed. */
export function parseCidr(text: string): Cidr {
  const bad = (): KeyError => new KeyError(`invalid CIDR ${text}`);
  const slash = text.indexOf('/');
  const addr = text.slice(0, slash);
  const maskText = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(maskText)) throw bad();
  const prefix = Number(maskText);
  let bytes: number[] | null;
  if (addr.includes(':')) {
    // CoreDNS refuses IPv6 CIDRs that start with ':' or '0' (`::/0`, `0::1/128`).
    if (addr.startsWith(':') || addr.startsWith('0')) throw bad();
    bytes = parseIPv6(addr);
  } else {
    bytes = parseIPv4(addr);
  }
  if (!bytes || prefix > bytes.length * 8) throw bad();
  return { bytes: maskBytes(bytes, prefix), prefix };
}

function parseIPv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    // Go's ParseIP rejects leading zeros (ambiguous octal).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return null;
    out.push(Number(p));
  }
  return out;
}

function parseIPv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  let all: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    all = head;
  }
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

function maskBytes(bytes: number[], prefix: number): number[] {
  return bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
}

/**
 * The reverse zones a CIDR stands for. On an octet (IPv4) or nibble (IPv6) boundary that is one
 * zone (`10.0.0.0/24` -> `0.0.10.in-addr.arpa.`); otherwise the prefix is rounded up to the next
 * boundary and every covered subnet gets its zone (`10.0.0.0/23` -> `0.0.10...`, `1.0.10...`).
 */
export function reverseZones(cidr: Cidr): string[] {
  const v4 = cidr.bytes.length === 4;
  const digitBits = v4 ? 8 : 4;
  const digits = Math.ceil(cidr.prefix / digitBits);
  const extra = digits * digitBits - cidr.prefix;
  // Digit values, most significant first (octets or nibbles).
  const all = v4 ? cidr.bytes : cidr.bytes.flatMap((b) => [b >> 4, b & 0x0f]);
  const zones: string[] = [];
  for (let n = 0; n < 1 << extra; n++) {
    const ds = all.slice(0, digits);
    if (digits > 0) ds[digits - 1] = ds[digits - 1]! + n;
    const labels = ds.reverse().map((d) => (v4 ? String(d) : d.toString(16)));
    zones.push([...labels, v4 ? 'in-addr.arpa.' : 'ip6.arpa.'].join('.'));
  }
  return zones;
}
