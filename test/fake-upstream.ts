// A programmable DNS upstream on 127.0.0.1 (UDP and TCP on the same random port) for forward and
// conformance tests: answers from zone-file-like record lines or a handler, NXDOMAIN otherwise,
// and misbehaves on request (silent, wrong IDs, wrong questions, truncation over UDP).

import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export type FakeMode =
  | 'normal'
  /** Never answers (a dead upstream). */
  | 'silent'
  /** First a reply with another ID (NXDOMAIN), then the right one. */
  | 'wrongId'
  /** Only a reply with another ID (NXDOMAIN). */
  | 'wrongIdOnly'
  /** First a reply for another question (NXDOMAIN), then the right one. */
  | 'wrongQuestion'
  /** Only a reply for another question (NXDOMAIN). */
  | 'wrongQuestionOnly'
  /** UDP replies have TC set and no records; TCP replies are complete. */
  | 'truncate';

export interface ReceivedQuery {
  name: string;
  type: string;
  class: string;
  id: number;
  proto: 'udp' | 'tcp';
  /** Source port of the query. */
  port: number;
  rd: boolean;
  cd: boolean;
  /** EDNS UDP size and DO bit when the query had an OPT record. */
  edns?: { udpSize: number; do: boolean };
}

export interface FakeAnswer {
  rcode?: string;
  aa?: boolean;
  /** Record lines (`'a.test. 60 IN A 1.2.3.4'`) or dns-packet answers. */
  answers?: (string | dnsPacket.Answer)[];
  authorities?: (string | dnsPacket.Answer)[];
  /** Do not answer this query at all. */
  drop?: boolean;
}

export type FakeHandler = (q: ReceivedQuery) => FakeAnswer | undefined | Promise<FakeAnswer | undefined>;

export interface FakeUpstreamOptions {
  records?: string[];
  handler?: FakeHandler;
  mode?: FakeMode;
  /** Delay before each reply. */
  delayMs?: number;
}

export interface FakeUpstream {
  port: number;
  /** `127.0.0.1:PORT`, ready to put in a Corefile. */
  address: string;
  setMode(mode: FakeMode): void;
  setDelay(ms: number): void;
  /** Counters per transport and every query in arrival order. */
  queries: { udp: number; tcp: number; log: ReceivedQuery[] };
  /** TCP connections accepted so far. */
  connections(): number;
  /** Source ports of the UDP queries. */
  sourcePorts(): number[];
  reset(): void;
  close(): Promise<void>;
}

/** Parse `name ttl [class] type rdata...` into a dns-packet answer. */
export function parseRecord(line: string): dnsPacket.Answer {
  const f = line.trim().split(/\s+/);
  const name = f[0];
  const ttl = Number(f[1]);
  let i = 2;
  let cls = 'IN';
  if (['IN', 'CH', 'HS'].includes(f[i])) cls = f[i++];
  const type = f[i++];
  const rest = f.slice(i);
  let data: unknown;
  switch (type) {
    case 'A': case 'AAAA': case 'CNAME': case 'PTR': case 'NS': case 'DNAME': data = rest[0]; break;
    case 'TXT': data = (line.match(/"([^"]*)"/g) ?? [rest.join(' ')]).map((s) => s.replace(/^"|"$/g, '')); break;
    case 'MX': data = { preference: Number(rest[0]), exchange: rest[1] }; break;
    case 'SRV': data = { priority: Number(rest[0]), weight: Number(rest[1]), port: Number(rest[2]), target: rest[3] }; break;
    case 'SOA': data = { mname: rest[0], rname: rest[1], serial: Number(rest[2]), refresh: Number(rest[3]), retry: Number(rest[4]), expire: Number(rest[5]), minimum: Number(rest[6]) }; break;
    default: throw new Error(`fake-upstream: unsupported record type ${type} in "${line}"`);
  }
  return { name, ttl, class: cls, type, data } as dnsPacket.Answer;
}

function toAnswer(r: string | dnsPacket.Answer): dnsPacket.Answer {
  return typeof r === 'string' ? parseRecord(r) : r;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

const norm = (n: string) => n.replace(/\.$/, '').toLowerCase();

/** What a plain authoritative server with `records` says (AA, NOERROR/NODATA/NXDOMAIN). */
export function answerFromRecords(records: dnsPacket.Answer[], q: Pick<ReceivedQuery, 'name' | 'type' | 'class'>): FakeAnswer {
  const byName = records.filter((r) => norm(r.name) === norm(q.name) && ((r as any).class ?? 'IN') === q.class);
  if (byName.length === 0) return { rcode: 'NXDOMAIN', aa: true };
  return { rcode: 'NOERROR', aa: true, answers: byName.filter((r) => r.type === q.type || r.type === 'CNAME') };
}

function encodeReply(query: dnsPacket.Packet, a: FakeAnswer, o: { id?: number; questionName?: string; tc?: boolean }): Buffer {
  const q = query.questions![0];
  const opt = (query.additionals ?? []).find((r) => r.type === 'OPT');
  let flags = (query.flags ?? 0) & (dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED);
  flags |= dnsPacket.RECURSION_AVAILABLE;
  if (a.aa) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (o.tc) flags |= dnsPacket.TRUNCATED_RESPONSE;
  const rcodeNum = RCODES.indexOf(a.rcode ?? 'NOERROR');
  if (rcodeNum < 0) throw new Error(`fake-upstream: unknown rcode ${a.rcode}`);
  return dnsPacket.encode({
    type: 'response',
    id: o.id ?? query.id,
    flags: flags | (rcodeNum & 0xf),
    questions: [{ ...q, name: o.questionName ?? q.name }],
    answers: o.tc ? [] : (a.answers ?? []).map(toAnswer),
    authorities: o.tc ? [] : (a.authorities ?? []).map(toAnswer),
    additionals: opt ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as any] : [],
  } as dnsPacket.Packet);
}

async function listenBoth(tcp: net.Server): Promise<{ port: number; udp: dgram.Socket }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => { udp.off('error', reject); resolve(udp.address().port); });
    });
    const ok = await new Promise<boolean>((resolve) => {
      const onErr = () => resolve(false);
      tcp.once('error', onErr);
      tcp.listen(port, '127.0.0.1', () => { tcp.off('error', onErr); resolve(true); });
    });
    if (ok) return { port, udp };
    // TCP port taken: start over with a new UDP socket port.
    await new Promise<void>((r) => udp.close(() => r()));
  }
  throw new Error('fake-upstream: no free port for UDP and TCP');
}

/** Serve one DNS-over-TCP (or TLS) connection: track it in `sockets` while open and call
 *  `onMessage` with each length-prefixed message it sends (a copy, without the prefix). */
export function serveStream<S extends net.Socket>(c: S, sockets: Set<S>, onMessage: (msg: Buffer) => void): void {
  sockets.add(c);
  c.on('close', () => sockets.delete(c));
  c.on('error', () => c.destroy());
  let buf = Buffer.alloc(0);
  c.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + msg.length);
      onMessage(Buffer.from(msg));
    }
  });
}

/** Write one DNS message on a stream with its two-byte length prefix. */
export function writeFramed(c: net.Socket, msg: Buffer): void {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  c.write(Buffer.concat([len, msg]));
}

export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const records = (opts.records ?? []).map(parseRecord);
  let mode: FakeMode = opts.mode ?? 'normal';
  let delay = opts.delayMs ?? 0;
  const queries = { udp: 0, tcp: 0, log: [] as ReceivedQuery[] };
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => { timers.delete(t); if (!closed) f(); }, ms);
    timers.add(t);
  };

  /** Replies to send for one query message, in order, each after `at` ms. */
  async function respond(raw: Buffer, proto: 'udp' | 'tcp', port: number): Promise<{ at: number; msg: Buffer }[]> {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      return [];
    }
    const q0 = query.questions?.[0];
    if (!q0) return [];
    const opt = (query.additionals ?? []).find((r) => r.type === 'OPT') as any;
    const rq: ReceivedQuery = {
      name: q0.name, type: q0.type, class: (q0 as any).class ?? 'IN', id: query.id ?? 0, proto, port,
      rd: ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) !== 0,
      cd: ((query.flags ?? 0) & dnsPacket.CHECKING_DISABLED) !== 0,
      edns: opt ? { udpSize: opt.udpPayloadSize, do: ((opt.flags ?? 0) & dnsPacket.DNSSEC_OK) !== 0 } : undefined,
    };
    queries[proto]++;
    queries.log.push(rq);
    if (mode === 'silent') return [];
    const a = (await opts.handler?.(rq)) ?? answerFromRecords(records, rq);
    if (a.drop) return [];
    const right = () => encodeReply(query, a, { tc: mode === 'truncate' && proto === 'udp' });
    // The misdirected replies say NXDOMAIN, so a test sees at once if one was accepted.
    const poison: FakeAnswer = { rcode: 'NXDOMAIN', aa: true };
    const wrongId = () => encodeReply(query, poison, { id: (rq.id + 1 + Math.floor(Math.random() * 65534)) % 65536 });
    const wrongQ = () => encodeReply(query, poison, { questionName: `wrong.${q0.name}` });
    switch (mode) {
      case 'wrongId': return [{ at: delay, msg: wrongId() }, { at: delay + 30, msg: right() }];
      case 'wrongIdOnly': return [{ at: delay, msg: wrongId() }];
      case 'wrongQuestion': return [{ at: delay, msg: wrongQ() }, { at: delay + 30, msg: right() }];
      case 'wrongQuestionOnly': return [{ at: delay, msg: wrongQ() }];
      default: return [{ at: delay, msg: right() }];
    }
  }

  const tcp = net.createServer((c) => {
    connections++;
    serveStream(c, sockets, (msg) => {
      void respond(msg, 'tcp', c.remotePort ?? 0).then((out) => {
        for (const r of out) {
          later(r.at, () => {
            if (!c.destroyed) writeFramed(c, r.msg);
          });
        }
      });
    });
  });
  const { port, udp: bound } = await listenBoth(tcp);
  bound.on('message', (msg, rinfo) => {
    void respond(msg, 'udp', rinfo.port).then((out) => {
      for (const r of out) later(r.at, () => bound.send(r.msg, rinfo.port, rinfo.address));
    });
  });

  return {
    port,
    address: `127.0.0.1:${port}`,
    setMode: (m) => { mode = m; },
    setDelay: (ms) => { delay = ms; },
    queries,
    connections: () => connections,
    sourcePorts: () => queries.log.filter((q) => q.proto === 'udp').map((q) => q.port),
    reset: () => { queries.udp = 0; queries.tcp = 0; queries.log.length = 0; connections = 0; },
    close: async () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
      await new Promise<void>((r) => { try { bound.close(() => r()); } catch { r(); } });
    },
  };
}
