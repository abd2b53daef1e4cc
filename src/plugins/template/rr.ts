// One zone-file record line (`name [TTL] [CLASS] TYPE rdata`) into the dns-packet shape, for the
// types templates produce: A, AAAA, CNAME, PTR, NS, MX, SRV, TXT, SOA. Like miekg/dns NewRR
// without an $ORIGIN: relative names become absolute, a missing TTL is 3600, class defaults to IN.

import { isIP } from 'node:net';
import type { RR } from '../../dns/message.js';

export class RRParseError extends Error {}

const CLASSES = new Set(['IN', 'CH', 'HS', 'CS', 'NONE', 'ANY']);
const TYPES = new Set(['A', 'AAAA', 'CNAME', 'PTR', 'NS', 'MX', 'SRV', 'TXT', 'SOA']);

function tokens(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ';') break; // comment
    if (/\s/.test(c) || c === '(' || c === ')') { i++; continue; }
    if (c === '"') {
      let s = '';
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length) {
          const d = /^\d{3}/.exec(line.slice(j + 1));
          if (d) { s += String.fromCharCode(Number(d[0])); j += 3; } else { s += line[++j]; }
        } else s += line[j];
      }
      if (j >= line.length) throw new RRParseError(`unterminated quoted string in "${line}"`);
      out.push(`"${s}`); // leading quote marks a quoted token
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < line.length && !/[\s()";]/.test(line[j])) j++;
    out.push(line.slice(i, j));
    i = j;
  }
  return out;
}

function fqdn(name: string): string {
  if (name === '@') return '.';
  return name.endsWith('.') ? name : `${name}.`;
}

function validName(name: string): string {
  if (name === '.') return name;
  const labels = name.slice(0, -1).split('.');
  if (name.length > 255 || labels.some((l) => l.length === 0 || l.length > 63)) throw new RRParseError(`bad name "${name}"`);
  return name;
}

function uint(text: string | undefined, max: number, what: string): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) > max) throw new RRParseError(`bad ${what} "${text ?? ''}"`);
  return Number(text);
}

export function parseRR(line: string): RR {
  const t = tokens(line);
  if (t.length < 2) throw new RRParseError(`not a resource record: "${line}"`);
  const name = validName(fqdn(t[0]));
  let i = 1;
  let ttl = 3600;
  let cls = 'IN';
  for (let k = 0; k < 2 && i < t.length; k++) {
    if (/^\d+$/.test(t[i])) { ttl = uint(t[i], 0xffffffff, 'TTL'); i++; } else if (CLASSES.has(t[i].toUpperCase()) && !TYPES.has(t[i].toUpperCase())) { cls = t[i].toUpperCase(); i++; }
  }
  const type = t[i++]?.toUpperCase();
  if (!type || !TYPES.has(type)) throw new RRParseError(`unsupported or missing record type "${t[i - 1] ?? ''}" in "${line}"`);
  const rd = t.slice(i);
  const need = (n: number) => { if (rd.length < n) throw new RRParseError(`missing rdata for ${type} in "${line}"`); };
  let data: unknown;
  switch (type) {
    case 'A':
      need(1);
      if (isIP(rd[0]) !== 4) throw new RRParseError(`bad A address "${rd[0]}"`);
      data = rd[0];
      break;
    case 'AAAA':
      need(1);
      if (isIP(rd[0]) !== 6) throw new RRParseError(`bad AAAA address "${rd[0]}"`);
      data = rd[0];
      break;
    case 'CNAME': case 'PTR': case 'NS':
      need(1);
      data = validName(fqdn(rd[0]));
      break;
    case 'MX':
      need(2);
      data = { preference: uint(rd[0], 65535, 'MX preference'), exchange: validName(fqdn(rd[1])) };
      break;
    case 'SRV':
      need(4);
      data = { priority: uint(rd[0], 65535, 'SRV priority'), weight: uint(rd[1], 65535, 'SRV weight'), port: uint(rd[2], 65535, 'SRV port'), target: validName(fqdn(rd[3])) };
      break;
    case 'TXT':
      need(1);
      data = rd.map((s) => (s.startsWith('"') ? s.slice(1) : s));
      break;
    case 'SOA':
      need(7);
      data = {
        mname: validName(fqdn(rd[0])), rname: validName(fqdn(rd[1])), serial: uint(rd[2], 0xffffffff, 'SOA serial'),
        refresh: uint(rd[3], 0xffffffff, 'SOA refresh'), retry: uint(rd[4], 0xffffffff, 'SOA retry'),
        expire: uint(rd[5], 0xffffffff, 'SOA expire'), minimum: uint(rd[6], 0xffffffff, 'SOA minimum'),
      };
      break;
  }
  return { name, type, class: cls, ttl, data };
}
