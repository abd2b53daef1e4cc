// The hosts table: `/etc/hosts`-style text parsed into name -> addresses and address -> names maps.
// File entries and Corefile (inline) entries are kept in separate maps and merged on lookup, file
// first, as CoreDNS does; so a reload only replaces the file part.

import { canonicalIP } from '../../dns/reverse.js';

export interface HostsMap {
  v4: Map<string, string[]>;
  v6: Map<string, string[]>;
  /** Canonical IP -> owner names (only with auto reverse). */
  addr: Map<string, string[]>;
  /** Number of (name, address) pairs, the `coredns_hosts_entries` unit. */
  size: number;
}

export function emptyHostsMap(): HostsMap {
  return { v4: new Map(), v6: new Map(), addr: new Map(), size: 0 };
}

function push(m: Map<string, string[]>, k: string, v: string): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** Lower case, absolute. */
export function normalizeName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

/** True if `lname` equals or is below one of `zones` (all lower case, absolute). */
export function inZones(zones: readonly string[], lname: string): string {
  let best = '';
  for (const z of zones) {
    if ((z === '.' || lname === z || lname.endsWith(`.${z}`)) && z.length > best.length) best = z;
  }
  return best;
}

export function parseHosts(text: string, origins: readonly string[], autoReverse: boolean): HostsMap {
  const m = emptyHostsMap();
  for (let line of text.split('\n')) {
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    const f = line.trim().split(/\s+/);
    if (f.length < 2) continue;
    const ip = canonicalIP(f[0]);
    if (!ip) continue;
    for (let i = 1; i < f.length; i++) {
      const name = normalizeName(f[i]);
      if (!inZones(origins, name)) continue;
      push(ip.family === 4 ? m.v4 : m.v6, name, ip.ip);
      m.size++;
      // Wildcard owners answer forward queries only (no PTR), as in CoreDNS.
      if (autoReverse && !name.startsWith('*.')) push(m.addr, ip.ip, name);
    }
  }
  return m;
}

/** Addresses of `lname` in one map: the exact name, else a `*.` owner one label up (one label
 *  only, never the apex itself). */
function lookup(m: Map<string, string[]>, lname: string): string[] | undefined {
  const exact = m.get(lname);
  if (exact) return exact;
  const dot = lname.indexOf('.');
  if (dot <= 0 || dot === lname.length - 1) return undefined;
  return m.get(`*${lname.slice(dot)}`);
}

export class HostsTable {
  file: HostsMap = emptyHostsMap();
  constructor(readonly inline: HostsMap) {}

  private both(pick: (m: HostsMap) => Map<string, string[]>, lname: string): string[] {
    const a = lookup(pick(this.file), lname);
    const b = lookup(pick(this.inline), lname);
    if (!a) return b ?? [];
    return b ? [...a, ...b] : a;
  }

  v4(lname: string): string[] { return this.both((m) => m.v4, lname); }
  v6(lname: string): string[] { return this.both((m) => m.v6, lname); }

  names(ip: string): string[] {
    const a = this.file.addr.get(ip) ?? [];
    const b = this.inline.addr.get(ip) ?? [];
    return b.length ? [...a, ...b] : a;
  }

  exists(lname: string): boolean {
    return this.v4(lname).length > 0 || this.v6(lname).length > 0;
  }

  get size(): number { return this.file.size + this.inline.size; }
}
