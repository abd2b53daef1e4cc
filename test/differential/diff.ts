// Comparing two DNS replies (CoreDNS vs kdns) by the conventions of shared/conformance/cases.json:
// sections order-insensitive (but a CNAME before its target), SOA serial ignored, TTL exact unless
// the caller allows a countdown (answers that went through forward + cache), flags AA/TC/RA and
// rcode exact. Owner and RDATA names are compared with their exact spelling (both servers must echo
// the query's case).

import type dnsPacket from 'dns-packet';
import { normActual } from '../conformance/compare.js';

export type Reply = dnsPacket.Packet & { rcode?: string };

export interface Difference {
  field: string;
  coredns: string;
  kdns: string;
}

const FLAG_AA = 1 << 10;
const FLAG_TC = 1 << 9;
const FLAG_RA = 1 << 7;
const FLAG_RD = 1 << 8;

interface RR {
  name: string;
  ttl: number;
  type: string;
  rdata: string;
}

function rrs(list: dnsPacket.Answer[] | undefined): RR[] {
  return (list ?? []).filter((r) => r.type !== 'OPT').map((r) => normActual(r, true));
}

function show(r: RR): string {
  return `${r.name} ${r.ttl} ${r.type} ${r.rdata}`;
}

export function flagsOf(r: Reply): string {
  const f = r.flags ?? 0;
  return [f & FLAG_AA ? 'aa' : '', f & FLAG_TC ? 'tc' : '', f & FLAG_RD ? 'rd' : '', f & FLAG_RA ? 'ra' : ''].filter(Boolean).join(',') || '-';
}

function optOf(r: Reply): string {
  const o = (r.additionals ?? []).find((x) => x.type === 'OPT') as any;
  if (!o) return 'none';
  return `udp=${o.udpPayloadSize} do=${(o.flags ?? 0) & (1 << 15) ? 1 : 0} rcode=${o.extendedRcode ?? 0}`;
}

/** Multiset comparison; `ttlSlack(owner)` seconds of TTL difference are tolerated. */
function compareSection(label: string, a: RR[], b: RR[], ttlSlack: (owner: string) => number, out: Difference[]): void {
  const left = [...b];
  const onlyA: RR[] = [];
  for (const x of a) {
    let i = left.findIndex((y) => y.name === x.name && y.type === x.type && y.rdata === x.rdata && y.ttl === x.ttl);
    // Records a cache holds: each server's entry has its own age (TTL) and keeps the owner spelling
    // of the query that filled it, so those two are compared loosely.
    const slack = ttlSlack(x.name);
    if (i < 0 && slack > 0) i = left.findIndex((y) => y.name.toLowerCase() === x.name.toLowerCase() && y.type === x.type && y.rdata === x.rdata && Math.abs(y.ttl - x.ttl) <= slack);
    if (i >= 0) left.splice(i, 1);
    else onlyA.push(x);
  }
  if (onlyA.length || left.length) {
    out.push({ field: label, coredns: onlyA.map(show).join('\n') || '(nothing extra)', kdns: left.map(show).join('\n') || '(nothing extra)' });
  }
}

function cnameOrder(r: Reply): string {
  const ans = r.answers ?? [];
  const bad: string[] = [];
  ans.forEach((rr, i) => {
    if (rr.type !== 'CNAME') return;
    const target = String((rr as any).data).replace(/\.?$/, '.').toLowerCase();
    if (ans.slice(0, i).some((o) => o.name.replace(/\.?$/, '.').toLowerCase() === target)) bad.push(rr.name);
  });
  return bad.length ? `CNAME after its target: ${bad.join(' ')}` : 'ok';
}

/** Differences between the CoreDNS reply `a` and the kdns reply `b` (empty = same). */
export function diffReplies(a: Reply, b: Reply, o: { ttlSlack?: (owner: string) => number; headerOnly?: boolean } = {}): Difference[] {
  const out: Difference[] = [];
  const slack = o.ttlSlack ?? (() => 0);
  if (a.rcode !== b.rcode) out.push({ field: 'rcode', coredns: String(a.rcode), kdns: String(b.rcode) });
  if (flagsOf(a) !== flagsOf(b)) out.push({ field: 'flags', coredns: flagsOf(a), kdns: flagsOf(b) });
  if (optOf(a) !== optOf(b)) out.push({ field: 'opt', coredns: optOf(a), kdns: optOf(b) });
  if (o.headerOnly) return out;
  compareSection('answer', rrs(a.answers), rrs(b.answers), slack, out);
  compareSection('authority', rrs(a.authorities), rrs(b.authorities), slack, out);
  compareSection('additional', rrs(a.additionals), rrs(b.additionals), slack, out);
  const ca = cnameOrder(a), cb = cnameOrder(b);
  if (ca !== cb) out.push({ field: 'order', coredns: ca, kdns: cb });
  return out;
}

export interface DiffRow {
  profile: string;
  query: string;
  diff: Difference;
}

/** A plain-text table, one block per difference, multi-line cells side by side. */
export function formatTable(rows: DiffRow[]): string {
  if (rows.length === 0) return '(no differences)';
  const head = ['profile', 'query', 'field', 'coredns', 'kdns'];
  const cells = rows.map((r) => [r.profile, r.query, r.diff.field, r.diff.coredns, r.diff.kdns].map((c) => c.split('\n')));
  const width = head.map((h, i) => Math.min(90, Math.max(h.length, ...cells.map((c) => Math.max(...c[i]!.map((l) => l.length))))));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(width[i]!)).join(' | ').trimEnd();
  const sep = width.map((w) => '-'.repeat(w)).join('-+-');
  const out = [line(head), sep];
  for (const c of cells) {
    const h = Math.max(...c.map((x) => x.length));
    for (let k = 0; k < h; k++) out.push(line(c.map((x) => x[k] ?? '')));
    out.push(sep);
  }
  return out.join('\n');
}
