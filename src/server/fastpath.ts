// The answer fast path: replies that the plugin chain marks as reusable are kept in wire form,
// keyed by the query's own bytes (flags, question as spelled, EDNS DO), and served again with only
// the ID, the EDNS UDP size, counted-down TTLs and a loadbalance shuffle patched in. The chain's
// per-query side effects (metrics) are replayed by closures the plugins left on the first pass.
//
// Who may mark a reply: the plugin that produced it (res.fast), when its answer is a pure function
// of the question and of data whose changes bump the epoch (bumpFastEpoch), or the cache for its
// own entries (with a TTL countdown). A plugin that does not declare `fastAware` marks the query
// as not reusable as soon as the query reaches it (see buildChain), so `log`, `rewrite`, `whoami`
// and friends always see every query.

/** Replays get the time the query arrived, as performance.now() (ms; cheaper than hrtime.bigint). */
export type FastReplay = (startMs: number) => void;

export interface FastMark {
  /** Unix ms after which the reply must be recomputed (Infinity: only an epoch change ends it). */
  until: number;
  /** TTL every record should carry at `nowMs` (cache countdown); absent = TTLs never change. */
  ttlAt?: (nowMs: number) => number;
}

let epoch = 0;

/** Something that reusable answers depend on changed (cluster data, a reload): forget them all. */
export function bumpFastEpoch(): void {
  epoch++;
}

export function fastEpoch(): number {
  return epoch;
}

interface Entry {
  wire: Buffer;
  epoch: number;
  until: number;
  /** Offset of the OPT record's CLASS (UDP size) field, or -1. */
  optSize: number;
  ttlOffsets: number[];
  ttlAt?: (nowMs: number) => number;
  ttl: number;
  /** Runs of same-length A/AAAA records to shuffle per reply: [offset, recordLength, count]. */
  shuffle: number[] | null;
  /** For a truncated reply: the client limit it was cut for (served only to the same limit). */
  cutFor: number;
  replays: FastReplay[];
}

/** What the server learns about a query without decoding it. */
export interface QuickQuery {
  key: string;
  /** Advertised UDP size (0 without EDNS). */
  udpSize: number;
}

/** Key a plain query (one question, no compression, at most a bare OPT) by its bytes; null when
 *  the message is anything else (it then takes the normal path, and is never stored). */
export function quickQuery(msg: Buffer, tcp: boolean, v6: boolean): QuickQuery | null {
  const n = msg.length;
  if (n < 17 || n > 512) return null;
  // QR=0, opcode QUERY, qdcount 1, no answer/authority records, at most one additional.
  if ((msg[2] & 0xf8) !== 0 || msg[4] !== 0 || msg[5] !== 1 || msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0 || msg[10] !== 0 || msg[11] > 1) return null;
  let off = 12;
  for (;;) {
    const l = msg[off];
    if (l === 0) break;
    if (l > 63) return null;
    off += l + 1;
    if (off >= n) return null;
  }
  const qEnd = off + 5;
  if (qEnd > n) return null;
  let udpSize = 0;
  let doBit = 0;
  if (msg[11] === 1) {
    // A bare OPT: root owner, type 41, version 0, no options (clients with cookies take the slow path).
    if (qEnd + 11 !== n || msg[qEnd] !== 0 || msg[qEnd + 1] !== 0 || msg[qEnd + 2] !== 41 || msg[qEnd + 6] !== 0) return null;
    if (msg[qEnd + 9] !== 0 || msg[qEnd + 10] !== 0) return null;
    udpSize = (msg[qEnd + 3] << 8) | msg[qEnd + 4];
    doBit = msg[qEnd + 7] & 0x80 ? 2 : 1;
  } else if (qEnd !== n) {
    return null;
  }
  const head = (tcp ? 4 : 0) + (v6 ? 8 : 0) + doBit;
  return { key: String.fromCharCode(head, msg[2], msg[3]) + msg.toString('latin1', 12, qEnd), udpSize };
}

const MAX_ENTRIES = 20000;

export class FastCache {
  private map = new Map<string, Entry>();

  /** A ready reply for this query, or null. `maxSize` is the client's limit (UDP). */
  serve(msg: Buffer, q: QuickQuery, maxSize: number, start: number): Buffer | null {
    const e = this.map.get(q.key);
    if (!e) return null;
    if (e.epoch !== epoch) {
      this.map.delete(q.key);
      return null;
    }
    const now = e.until === Infinity && !e.ttlAt ? 0 : Date.now();
    if (now >= e.until || e.wire.length > maxSize || (e.cutFor !== 0 && e.cutFor !== maxSize)) return null;
    if (e.ttlAt) {
      const t = e.ttlAt(now);
      if (t !== e.ttl) {
        if (t < 0) return null;
        for (const o of e.ttlOffsets) e.wire.writeUInt32BE(t, o);
        e.ttl = t;
      }
    }
    const out = Buffer.allocUnsafe(e.wire.length);
    e.wire.copy(out);
    out[0] = msg[0];
    out[1] = msg[1];
    if (e.optSize >= 0) out.writeUInt16BE(Math.max(512, q.udpSize), e.optSize);
    if (e.shuffle) shuffleRuns(out, e.shuffle);
    const r = e.replays;
    for (let i = 0; i < r.length; i++) r[i](start);
    return out;
  }

  /** Keep `wire`, the reply to `q` encoded for a client limit of `limit` bytes. */
  store(q: QuickQuery, wire: Buffer, mark: FastMark, shuffle: boolean, replays: FastReplay[], limit: number): void {
    // A truncated reply depends on the limit it was cut for: reuse it only for that same limit
    // (512 for UDP without EDNS, the usual case). A relayed upstream TC (wire shorter than the
    // limit) is reused the same way.
    const cutFor = (wire[2] & 0x02) !== 0 ? limit : 0;
    const layout = layoutOf(wire, shuffle);
    if (!layout) return;
    if (this.map.size >= MAX_ENTRIES) this.map.clear();
    const copy = Buffer.from(wire);
    copy[0] = 0;
    copy[1] = 0;
    this.map.set(q.key, {
      wire: copy,
      epoch,
      until: mark.until,
      optSize: layout.optSize,
      ttlOffsets: layout.ttlOffsets,
      ttlAt: mark.ttlAt,
      ttl: mark.ttlAt ? -1 : 0,
      shuffle: layout.shuffle,
      cutFor,
      replays,
    });
  }

  get size(): number {
    return this.map.size;
  }
}

function skipName(b: Buffer, off: number): number {
  for (;;) {
    const l = b[off];
    if (l === 0) return off + 1;
    if ((l & 0xc0) === 0xc0) return off + 2;
    off += l + 1;
  }
}

/** Walk an encoded reply: TTL field offsets, the OPT size field, and shuffle runs. */
function layoutOf(b: Buffer, shuffle: boolean): { ttlOffsets: number[]; optSize: number; shuffle: number[] | null } | null {
  const qd = b.readUInt16BE(4);
  const counts = [b.readUInt16BE(6), b.readUInt16BE(8), b.readUInt16BE(10)];
  let off = 12;
  for (let i = 0; i < qd; i++) off = skipName(b, off) + 4;
  const ttlOffsets: number[] = [];
  let optSize = -1;
  const runs: number[] = [];
  for (let s = 0; s < 3; s++) {
    let runStart = -1, runLen = 0, runCount = 0, runType = 0;
    const close = () => {
      if (runCount > 1) runs.push(runStart, runLen, runCount);
      runCount = 0;
    };
    for (let i = 0; i < counts[s]; i++) {
      const start = off;
      off = skipName(b, off);
      if (off + 10 > b.length) return null;
      const type = b.readUInt16BE(off);
      const rdlen = b.readUInt16BE(off + 8);
      if (type === 41) optSize = off + 2;
      else ttlOffsets.push(off + 4);
      off += 10 + rdlen;
      const len = off - start;
      if (shuffle && (type === 1 || type === 28)) {
        if (runCount > 0 && type === runType && len === runLen) runCount++;
        else {
          close();
          runStart = start; runLen = len; runCount = 1; runType = type;
        }
      } else close();
    }
    close();
  }
  if (off !== b.length) return null;
  return { ttlOffsets, optSize, shuffle: runs.length ? runs : null };
}

const tmp = Buffer.allocUnsafe(512);

/** Fisher-Yates over fixed-length records in place (loadbalance's round robin on a reused reply). */
function shuffleRuns(b: Buffer, runs: number[]) {
  for (let r = 0; r < runs.length; r += 3) {
    const start = runs[r], len = runs[r + 1], count = runs[r + 2];
    if (len > tmp.length) continue;
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      if (i === j) continue;
      const a = start + i * len, c = start + j * len;
      b.copy(tmp, 0, a, a + len);
      b.copy(b, a, c, c + len);
      tmp.copy(b, c, 0, len);
    }
  }
}
