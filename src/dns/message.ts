// The in-memory shapes of a DNS query and a DNS reply as they travel through the plugin chain.
// The server parses a query once (src/dns/query.ts) and encodes a reply once (src/dns/wire.ts);
// plugins only see these objects.

import type { FastMark, FastReplay, QuickQuery } from '../server/fastpath.js';

/** A resource record. `type`/`class` are mnemonics ('A', 'IN'); `data` has the dns-packet shape
 *  for that type (A/AAAA: address string; CNAME/PTR/NS: name string; SRV: {priority, weight,
 *  port, target}; SOA: {mname, rname, serial, refresh, retry, expire, minimum}; TXT: string or
 *  string[] or Buffer[]; MX: {preference, exchange}; others: whatever dns-packet encodes, or a
 *  Buffer of raw RDATA for unknown types). */
export interface RR {
  name: string;
  type: string;
  class?: string;
  ttl: number;
  data: any;
  /** Only on OPT records in `additionals` produced by a decoder; the server builds the reply OPT. */
  flags?: number;
}

export interface Question {
  /** As spelled in the query (case preserved), absolute with the trailing dot. */
  name: string;
  /** Lower-cased `name` (computed once by the parser). */
  lname: string;
  /** Numeric QTYPE and its mnemonic (`TYPE<n>` for unknown types). */
  qtype: number;
  type: string;
  qclass: number;
}

export interface EdnsOption {
  code: number;
  data: Buffer;
}

export interface Edns {
  /** Advertised UDP payload size as sent (the server applies the 512 minimum). */
  udpSize: number;
  version: number;
  do: boolean;
  options: EdnsOption[];
}

export type Proto = 'udp' | 'tcp';

export interface DnsRequest {
  /** The bytes as received (DNS message, without the TCP length prefix). */
  raw: Buffer;
  id: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  ad: boolean;
  question: Question;
  edns: Edns | null;
  proto: Proto;
  /** 1 = IPv4, 2 = IPv6 (the CoreDNS metrics `family` label values). */
  family: 1 | 2;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** Metrics `server` label of the listener: `dns://:53`, `dns://127.0.0.1:1053`. */
  server: string;
  /** Zone of the server block that accepted the query (`.`, `cluster.local.`). */
  zone: string;
  /** process.hrtime.bigint() when the query was read. */
  start: bigint;
  /** True for queries a plugin made through `SetupContext.lookup` (internal re-entry). */
  internal?: boolean;
  /** Free-form per-query scratch space for cooperating plugins (rewrite, autopath, metadata). */
  meta?: Record<string, unknown>;
  /** Called by the server once the reply is encoded, with its size on the wire (metrics and log
   *  use it instead of encoding the reply themselves). Compose, do not overwrite:
   *  `const prev = req.onWrite; req.onWrite = (r, n) => { prev?.(r, n); mine(r, n); }`. */
  onWrite?: (res: DnsResponse, size: number) => void;
  /** Set when a plugin that is not `fastAware` saw the query: its reply is never reused. */
  noFast?: boolean;
  /** Side effects to repeat when this reply is served again from the fast path (metrics). */
  fastReplays?: FastReplay[];
  /** loadbalance was on the path: shuffle A/AAAA records of a reused reply. */
  fastShuffle?: boolean;
  /** The query's fast-path key, when it has the plain shape the fast path handles. */
  fastQuery?: QuickQuery | null;
}

export interface DnsResponse {
  rcode: number;
  /** Authoritative answer. */
  aa?: boolean;
  /** Recursion available. */
  ra?: boolean;
  /** Truncated (set by a plugin relaying an upstream TC; the server sets it itself on overflow). */
  tc?: boolean;
  ad?: boolean;
  answers: RR[];
  authorities: RR[];
  additionals: RR[];
  /** Name of the plugin that produced this reply (metrics `plugin` label, errors log). */
  plugin?: string;
  /** An error to report through the `errors` plugin (the reply is still sent). */
  error?: Error;
  /** Question to put in the reply instead of the request's (rewrite). */
  question?: Question;
  /** Do not send anything (the query is dropped, e.g. a reply that must not be answered). */
  drop?: boolean;
  /** This reply may be reused for identical queries (see src/server/fastpath.ts). */
  fast?: FastMark;
}

export function emptyResponse(rcode: number, plugin?: string): DnsResponse {
  return { rcode, answers: [], authorities: [], additionals: [], plugin };
}
