// Log line formats: CoreDNS's placeholders ({remote}, {>id}, {rcode}, {/metadata} ...), parsed
// once at setup into literal and value nodes, rendered per logged query.

import type { DnsRequest, DnsResponse } from '../../dns/message.js';
import { className, rcodeName } from '../../dns/constants.js';

export const EMPTY = '-';
export const COMMON_FORMAT = `{remote}:{port} ${EMPTY} {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode} {>rflags} {rsize} {duration}`;
export const COMBINED_FORMAT = `${COMMON_FORMAT} "{>opcode}"`;

/** What the handler measured about the reply (the request is read directly). */
export interface Outcome {
  res: DnsResponse;
  /** The encoded reply as the client gets it (header flags and size); null if nothing is sent. */
  wire: Buffer | null;
  /** Nanoseconds since the query was read. */
  elapsedNs: bigint;
}

type Value = (req: DnsRequest, o: Outcome) => string;

function bracket(addr: string): string {
  return addr.includes(':') ? `[${addr}]` : addr;
}

/** Request size: the bytes received, or for internal requests (no wire form) what they would take. */
function requestSize(req: DnsRequest): number {
  if (req.raw.length) return req.raw.length;
  let name = 1;
  if (req.question.name !== '.') name += req.question.name.length;
  return 12 + name + 4 + (req.edns ? 11 : 0);
}

function bufsize(req: DnsRequest): number {
  if (req.proto === 'tcp') return 65535;
  return req.edns ? Math.max(512, req.edns.udpSize) : 512;
}

const FLAG_BITS: [number, string][] = [
  [0x8000, 'qr'], [0x0400, 'aa'], [0x0200, 'tc'], [0x0100, 'rd'],
  [0x0080, 'ra'], [0x0040, 'z'], [0x0020, 'ad'], [0x0010, 'cd'],
];

function flags(wire: Buffer): string {
  const f = wire.readUInt16BE(2);
  let out = '';
  for (const [bit, name] of FLAG_BITS) if (f & bit) out += out ? `,${name}` : name;
  return out;
}

/** Seconds with the shortest exact decimal form, like Go's strconv.FormatFloat(s, 'f', -1, 64). */
export function seconds(ns: bigint): string {
  const s = Number(ns) / 1e9;
  const t = String(s);
  if (!t.includes('e')) return `${t}s`;
  return `${s.toFixed(9).replace(/\.?0+$/, '')}s`;
}

const LABELS: Record<string, Value> = {
  '{type}': (r) => r.question.type,
  '{name}': (r) => r.question.lname,
  '{class}': (r) => className(r.question.qclass),
  '{proto}': (r) => r.proto,
  '{size}': (r) => String(requestSize(r)),
  '{remote}': (r) => bracket(r.remoteAddress),
  '{port}': (r) => String(r.remotePort),
  '{local}': (r) => bracket(r.localAddress),
  '{>id}': (r) => String(r.id),
  '{>opcode}': (r) => String(r.opcode),
  '{>do}': (r) => String(r.edns?.do ?? false),
  '{>bufsize}': (r) => String(bufsize(r)),
  '{rcode}': (_r, o) => {
    const n = rcodeName(o.res.rcode);
    return n.startsWith('RCODE') ? String(o.res.rcode) : n;
  },
  '{rsize}': (_r, o) => String(o.wire?.length ?? 0),
  '{duration}': (_r, o) => seconds(o.elapsedNs),
  '{>rflags}': (_r, o) => (o.wire ? flags(o.wire) : EMPTY),
};

type Node = string | Value;
export type Format = Node[];

/** Split a format as CoreDNS does: find each `}`, back up to the nearest `{`; unknown `{x}` stays
 *  literal text. `{/label}` reads request metadata (set by other plugins in `req.meta`). */
export function parseFormat(s: string): Format {
  const out: Node[] = [];
  let lit = '';
  for (;;) {
    const j = s.indexOf('}');
    if (j < 0) break;
    const i = s.lastIndexOf('{', j);
    if (i < 0) {
      lit += s.slice(0, j + 1);
      s = s.slice(j + 1);
      continue;
    }
    const label = s.slice(i, j + 1);
    let value: Value | undefined = LABELS[label];
    if (!value && label.startsWith('{/')) {
      const key = label.slice(2, -1);
      value = (r) => {
        const v = r.meta?.[key];
        if (v === undefined || v === null) return EMPTY;
        return typeof v === 'function' ? String(v()) : String(v);
      };
    }
    if (value) {
      lit += s.slice(0, i);
      if (lit) out.push(lit);
      lit = '';
      out.push(value);
    } else {
      lit += s.slice(0, j + 1);
    }
    s = s.slice(j + 1);
  }
  lit += s;
  if (lit) out.push(lit);
  return out;
}

export function render(f: Format, req: DnsRequest, o: Outcome): string {
  let line = '';
  for (const n of f) {
    if (typeof n === 'string') line += n;
    else line += n(req, o);
  }
  return line;
}
