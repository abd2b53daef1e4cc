// Per-query DNS metrics with CoreDNS's names and labels (plugin/metrics/vars/report.go). Label
// children are bound once per (server, zone) and then per proto/family/type or rcode/plugin
// (src/metrics/registry.ts bindCounter/bindHistogram), so a query costs a few array/map lookups
// and plain number increments; prom-client sees the totals at scrape time.

import type { DnsRequest, DnsResponse } from '../../dns/message.js';
import { rcodeName } from '../../dns/constants.js';
import { bindCounter, bindHistogram, m } from '../../metrics/registry.js';
import type { DispatchObserver } from '../../server/dispatch.js';

/** QTYPEs that get their own `type` label value; everything else is "other". */
const MONITORED = ['A', 'AAAA', 'CNAME', 'DNSKEY', 'DS', 'MX', 'NSEC', 'NSEC3', 'NS', 'PTR', 'RRSIG', 'SOA', 'SRV', 'TXT', 'HTTPS', 'SVCB', 'IXFR', 'AXFR', 'ANY'] as const;
const TYPE_SLOT = new Map<string, number>(MONITORED.map((t, i) => [t, i]));
const OTHER_SLOT = MONITORED.length;
const SLOTS = MONITORED.length + 1;

export function typeLabel(type: string): string {
  const i = TYPE_SLOT.get(type);
  return i === undefined ? 'other' : MONITORED[i];
}

interface Inc { inc(): void }
interface Observe { observe(v: number): void }

interface ZoneChildren {
  server: string;
  zone: string;
  duration: Observe;
  doRequests: Inc;
  /** [udp, tcp] */
  requestSize: [Observe, Observe];
  responseSize: [Observe, Observe];
  /** Index: ((proto * 2) + (family - 1)) * SLOTS + type slot; bound on first use. */
  requests: (Inc | undefined)[];
  /** rcode -> plugin -> child. */
  responses: Map<number, Map<string, Inc>>;
}

const byServer = new Map<string, Map<string, ZoneChildren>>();

function childrenFor(server: string, zone: string): ZoneChildren {
  let zones = byServer.get(server);
  if (!zones) {
    zones = new Map();
    byServer.set(server, zones);
  }
  let z = zones.get(zone);
  if (!z) {
    const base = { server, zone, view: '' };
    z = {
      server,
      zone,
      duration: bindHistogram(m.requestDuration, base),
      doRequests: bindCounter(m.doRequests, base),
      requestSize: [bindHistogram(m.requestSize, { ...base, proto: 'udp' }), bindHistogram(m.requestSize, { ...base, proto: 'tcp' })],
      responseSize: [bindHistogram(m.responseSize, { ...base, proto: 'udp' }), bindHistogram(m.responseSize, { ...base, proto: 'tcp' })],
      requests: new Array(4 * SLOTS),
      responses: new Map(),
    };
    zones.set(zone, z);
  }
  return z;
}

/** Records one answered query. `size` is the reply's wire length (0 = nothing was sent). */
export class Reporter {
  private last: ZoneChildren | null = null;

  /** The same counting for a copy of this reply served by the fast path (labels bound now). */
  replay(req: DnsRequest, res: DnsResponse, size: number): (startMs: number) => void {
    const z = childrenFor(req.server, req.zone);
    const tcp = req.proto === 'tcp' ? 1 : 0;
    const typeSlot = TYPE_SLOT.get(req.question.type) ?? OTHER_SLOT;
    const reqs = z.requests[(tcp * 2 + (req.family - 1)) * SLOTS + typeSlot]!;
    const resp = z.responses.get(res.rcode)!.get(res.plugin ?? '')!;
    const doReq = req.edns?.do ? z.doRequests : null;
    const reqSize = req.raw.length;
    const duration = z.duration, rqs = z.requestSize[tcp], rps = z.responseSize[tcp];
    return (start: number) => {
      reqs.inc();
      if (doReq) doReq.inc();
      duration.observe((performance.now() - start) / 1000);
      rqs.observe(reqSize);
      rps.observe(size);
      resp.inc();
    };
  }

  report(req: DnsRequest, res: DnsResponse, size: number): void {
    let z = this.last;
    if (!z || z.server !== req.server || z.zone !== req.zone) {
      z = childrenFor(req.server, req.zone);
      this.last = z;
    }
    const tcp = req.proto === 'tcp' ? 1 : 0;
    const typeSlot = TYPE_SLOT.get(req.question.type) ?? OTHER_SLOT;
    const idx = (tcp * 2 + (req.family - 1)) * SLOTS + typeSlot;
    let reqs = z.requests[idx];
    if (!reqs) {
      reqs = bindCounter(m.requests, {
        server: z.server, zone: z.zone, view: '', proto: tcp ? 'tcp' : 'udp', family: String(req.family),
        type: typeSlot === OTHER_SLOT ? 'other' : MONITORED[typeSlot],
      });
      z.requests[idx] = reqs;
    }
    reqs.inc();
    if (req.edns?.do) z.doRequests.inc();
    z.duration.observe(Number(process.hrtime.bigint() - req.start) / 1e9);
    z.requestSize[tcp].observe(req.raw.length);
    if (res.drop) return;
    z.responseSize[tcp].observe(size);
    let byPlugin = z.responses.get(res.rcode);
    if (!byPlugin) {
      byPlugin = new Map();
      z.responses.set(res.rcode, byPlugin);
    }
    const plugin = res.plugin ?? '';
    let resp = byPlugin.get(plugin);
    if (!resp) {
      resp = bindCounter(m.responses, { server: z.server, zone: z.zone, view: '', rcode: rcodeName(res.rcode), plugin });
      byPlugin.set(plugin, resp);
    }
    resp.inc();
  }
}

const observerReporter = new Reporter();

/** Server-level metrics outside any chain: queries no block accepted (zone "dropped", counted
 *  whether or not a block enables prometheus, as CoreDNS does) and recovered panics. */
export const metricsObserver: DispatchObserver = {
  unrouted(req, res, wireSize) {
    observerReporter.report(req, res, wireSize);
  },
  panic() {
    m.panics.inc();
  },
};
