// Comparing a DNS reply with a conformance case, by the conventions of shared/conformance/cases.json:
// order-insensitive sections, TTL 303 = any, SOA serial ignored, names case-insensitive unless the
// case says case_sensitive_names, TXT as the concatenated strings, a CNAME before its target.

import type dnsPacket from 'dns-packet';
import { ipv6Bytes } from '../../src/dns/wire.js';

export interface CaseExpect {
  rcode: string;
  aa?: boolean | null;
  answer?: string[];
  authority?: string[];
  additional?: string[];
}

export interface Case {
  name: string;
  profile: string;
  qname: string;
  qtype: string;
  expect: CaseExpect;
  case_sensitive_names?: boolean;
  environment_dependent?: boolean;
  precondition?: string;
}

interface Norm {
  name: string;
  ttl: number;
  type: string;
  rdata: string;
}

function canonIPv6(ip: string): string {
  const b = ipv6Bytes(ip);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  // Longest run of zero groups (length >= 2) becomes "::".
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function dot(n: string): string {
  return n.endsWith('.') ? n : `${n}.`;
}

function nameCase(n: string, cs: boolean): string {
  const d = dot(n);
  return cs ? d : d.toLowerCase();
}

/** Parse `name ttl IN TYPE rdata...` as written in cases.json. */
export function parseExpected(line: string, cs: boolean): Norm {
  const parts = line.trim().split(/\s+/);
  const [name, ttl, , type, ...rd] = parts;
  return { name: nameCase(name, cs), ttl: Number(ttl), type, rdata: normRdata(type, rd.join(' '), cs) };
}

function normRdata(type: string, rdata: string, cs: boolean): string {
  const f = rdata.split(/\s+/);
  switch (type) {
    case 'AAAA': return canonIPv6(rdata);
    case 'CNAME': case 'PTR': case 'NS': return nameCase(rdata, cs);
    case 'SRV': return `${f[0]} ${f[1]} ${f[2]} ${nameCase(f[3], cs)}`;
    case 'MX': return `${f[0]} ${nameCase(f[1], cs)}`;
    case 'SOA': return `${nameCase(f[0], cs)} ${nameCase(f[1], cs)} * ${f.slice(3).join(' ')}`;
    case 'TXT': return rdata.replace(/"\s*"/g, '').replace(/^"|"$/g, '');
    default: return rdata;
  }
}

/** A decoded dns-packet record in the same normal form. */
export function normActual(rr: dnsPacket.Answer, cs: boolean): Norm {
  const r = rr as any;
  let rdata: string;
  switch (r.type) {
    case 'A': rdata = r.data; break;
    case 'AAAA': rdata = canonIPv6(r.data); break;
    case 'CNAME': case 'PTR': case 'NS': rdata = nameCase(r.data, cs); break;
    case 'SRV': rdata = `${r.data.priority} ${r.data.weight} ${r.data.port} ${nameCase(r.data.target, cs)}`; break;
    case 'MX': rdata = `${r.data.preference} ${nameCase(r.data.exchange, cs)}`; break;
    case 'SOA': rdata = `${nameCase(r.data.mname, cs)} ${nameCase(r.data.rname, cs)} * ${r.data.refresh} ${r.data.retry} ${r.data.expire} ${r.data.minimum}`; break;
    case 'TXT': rdata = (Array.isArray(r.data) ? r.data : [r.data]).map((b: Buffer | string) => b.toString()).join(''); break;
    default: rdata = JSON.stringify(r.data);
  }
  return { name: nameCase(r.name, cs), ttl: r.ttl, type: r.type, rdata };
}

function show(n: Norm): string {
  return `${n.name} ${n.ttl} ${n.type} ${n.rdata}`;
}

function sameRR(e: Norm, a: Norm): boolean {
  return e.name === a.name && e.type === a.type && e.rdata === a.rdata && (e.ttl === 303 || e.ttl === a.ttl);
}

function compareSection(label: string, expected: string[] | undefined, actual: dnsPacket.Answer[], cs: boolean, problems: string[]) {
  if (expected === undefined) return;
  const exp = expected.map((l) => parseExpected(l, cs));
  const act = actual.filter((r) => r.type !== 'OPT').map((r) => normActual(r, cs));
  const left = [...act];
  const missing: Norm[] = [];
  for (const e of exp) {
    const i = left.findIndex((a) => sameRR(e, a));
    if (i >= 0) left.splice(i, 1);
    else missing.push(e);
  }
  if (missing.length || left.length) {
    problems.push(`${label}: missing [${missing.map(show).join(' | ')}] unexpected [${left.map(show).join(' | ')}]`);
  }
}

/** Returns a list of differences; empty when the reply matches the case. */
export function compareReply(c: Case, reply: dnsPacket.Packet): string[] {
  const cs = c.case_sensitive_names === true;
  const problems: string[] = [];
  const rcode = (reply as any).rcode as string;
  if (rcode !== c.expect.rcode) problems.push(`rcode ${rcode}, want ${c.expect.rcode}`);
  if (c.expect.aa !== undefined && c.expect.aa !== null) {
    const aa = ((reply.flags ?? 0) & (1 << 10)) !== 0;
    if (aa !== c.expect.aa) problems.push(`aa ${aa}, want ${c.expect.aa}`);
  }
  compareSection('answer', c.expect.answer, reply.answers ?? [], cs, problems);
  compareSection('authority', c.expect.authority, reply.authorities ?? [], cs, problems);
  compareSection('additional', c.expect.additional, reply.additionals ?? [], cs, problems);
  // A CNAME must precede the records of its target.
  const ans = reply.answers ?? [];
  ans.forEach((rr, i) => {
    if (rr.type !== 'CNAME') return;
    const target = dot(String((rr as any).data)).toLowerCase();
    const before = ans.slice(0, i).some((o) => dot(o.name).toLowerCase() === target);
    if (before) problems.push(`CNAME ${rr.name} comes after records of its target`);
  });
  return problems;
}
