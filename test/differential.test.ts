// Differential test against the real CoreDNS: for every profile of shared/conformance/cases.json,
// CoreDNS and kdns run the SAME Corefile against the SAME fake API server (cluster.json) and the
// SAME fake upstream; a few thousand queries generated from the cluster itself (see
// differential/queries.ts) go to both over UDP (TCP when truncated) and the replies are compared
// (differential/diff.ts). Every difference must be listed in ACCEPTED with a reason.
//
// Needs the CoreDNS binary: $KDNS_COREDNS, else ~/.cache/kdns/coredns (`go install` of
// github.com/coredns/coredns); skipped when it is absent.
// Every Corefile gets `bind 127.0.0.1` (loopback only), so the apex NS is the same NODATA on both.
// KDNS_DIFF_DUMP=/tmp/x writes every reply pair to /tmp/x.<round>.<profile>.jsonl for debugging.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sharedDir, freePort, startKdnsProcess, waitForDns, type KdnsProcess } from './procs.js';
import { query, type QueryOptions } from './harness.js';
import { startFakeApiServer, type FakeApiServer, type KObject } from './fake-apiserver.js';
import { applyChanges, changes, MARKERS, POD_MARKER } from './differential/changes.js';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { adaptCorefile } from './conformance/corefile.js';
import { corednsBinary, corednsVersion, startCorednsProcess } from './differential/coredns.js';
import { generateQueries, type DiffQuery } from './differential/queries.js';
import { diffReplies, formatTable, flagsOf, type DiffRow, type Reply } from './differential/diff.js';

const ZONE = 'cluster.local.';
const bin = corednsBinary();
const version = bin ? corednsVersion(bin) : null;
/** The CoreDNS binary is older than `major.minor`. */
const olderThan = (major: number, minor: number): boolean => !!version && (version[0] < major || (version[0] === major && version[1] < minor));
const cases = sharedDir ? JSON.parse(readFileSync(path.join(sharedDir, 'conformance', 'cases.json'), 'utf8')) : null;
const cluster = sharedDir ? JSON.parse(readFileSync(path.join(sharedDir, 'conformance', 'cluster.json'), 'utf8')) : null;
if (!bin) console.warn('differential test skipped: no CoreDNS binary (set KDNS_COREDNS or install it at ~/.cache/kdns/coredns)');
else if (!cases) console.warn('differential test skipped: ../shared/conformance not found');

interface Accepted {
  /** Profile name; all profiles when absent. */
  profile?: string;
  /** Matches `<qname> <qtype>` of the query. */
  query: RegExp;
  /** Only in this round ('static' or 'changed'). */
  round?: string;
  /** Only this field of the difference (rcode, flags, opt, answer, authority, additional, order). */
  field?: string;
  /** Only when this holds (e.g. for older CoreDNS versions). */
  when?: () => boolean;
  reason: string;
}

/** Differences that are not kdns bugs. Keep this list short and give a reason for each. */
const ACCEPTED: Accepted[] = [
  {
    // Endpoint label of an IPv6 address ending in `::` (e.g. fd00::): CoreDNS < 1.13 dashes it to
    // `fd00--`, 1.13+ appends a 0 (`fd00--0`), which kdns implements (reference section 5.2).
    query: /(^|\.)[0-9a-f-]*--0?\.[^.]+\.[^.]+\.svc\.cluster\.local\. /i,
    when: () => olderThan(1, 13),
    reason: 'dashed IPv6 label ending in "-": CoreDNS < 1.13 has no trailing 0 (kdns follows 1.13+)',
  },
  {
    query: /^(0\.){24,}[0-9a-f.]*ip6\.arpa\. PTR/i,
    field: 'answer',
    when: () => olderThan(1, 13),
    reason: 'PTR target of an IPv6 endpoint ending in "::": same 1.13 label change as above',
  },
];

const NO_REPLY = { rcode: '(no reply)', flags: 0 } as Reply;

async function ask(port: number, q: DiffQuery): Promise<{ udp: Reply; tcp?: Reply }> {
  try {
    return await ask1(port, q);
  } catch {
    return { udp: NO_REPLY };
  }
}

async function ask1(port: number, q: DiffQuery): Promise<{ udp: Reply; tcp?: Reply }> {
  const o: QueryOptions = { ...(q.edns ? { udpSize: 1232, do: true } : {}), ...(q.qclass ? { qclass: q.qclass } : {}), ...(q.norecurse ? { rd: false } : {}) };
  if (q.tcp) return { udp: (await query(port, q.name, q.type, { ...o, tcp: true })) as Reply };
  const udp = (await query(port, q.name, q.type, o)) as Reply;
  if (((udp.flags ?? 0) & (1 << 9)) === 0) return { udp };
  return { udp, tcp: (await query(port, q.name, q.type, { ...o, tcp: true })) as Reply };
}

/** Retry until the server answers the probe positively (caches synced). */
async function waitSynced(port: number, name: string, type: string): Promise<void> {
  const until = Date.now() + 20000;
  for (;;) {
    const r = (await query(port, name, type).catch(() => null)) as Reply | null;
    if (r?.rcode === 'NOERROR' && (r.answers?.length ?? 0) > 0) return;
    if (Date.now() > until) throw new Error(`${name} ${type} not answered on ${port}: ${r?.rcode}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

function underZone(owner: string, zone: string): boolean {
  const o = owner.toLowerCase().replace(/\.?$/, '.');
  return o === zone || o.endsWith(`.${zone}`);
}

describe.skipIf(!bin || !cases)('differential: kdns vs CoreDNS on the same cluster', () => {
  const profiles: Record<string, { corefile: string }> = cases?.profiles ?? {};
  const queries = cluster ? generateQueries(cluster, ZONE) : [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-differential-'));
  let api: FakeApiServer | undefined;
  let upstream: FakeUpstream | undefined;
  const procs: KdnsProcess[] = [];
  const servers = new Map<string, { coredns: number; kdns: number }>();

  beforeAll(async () => {
    api = await startFakeApiServer({ file: path.join(sharedDir!, 'conformance', 'cluster.json') });
    upstream = await startFakeUpstream({ records: cases.upstream.records });
    await Promise.all(
      Object.entries(profiles).map(async ([name, prof]) => {
        const ports: Record<string, number> = {};
        for (const impl of ['coredns', 'kdns'] as const) {
          const port = await freePort();
          const http = { health: await freePort(), ready: await freePort(), metrics: await freePort() };
          const file = path.join(dir, `Corefile.${name}.${impl}`);
          writeFileSync(file, adaptCorefile(prof.corefile, { port, api: api!.url, upstream: upstream!.address, http, bind: '127.0.0.1' }));
          const proc = impl === 'coredns' ? startCorednsProcess(bin!, file, dir) : startKdnsProcess(['-conf', file, '-quiet']);
          procs.push(proc);
          await waitForDns(port, proc);
          await waitSynced(port, `svc1.testns.svc.${ZONE}`, 'A');
          if (/pods verified/.test(prof.corefile)) await waitSynced(port, `10-240-0-1.podns.pod.${ZONE}`, 'A');
          ports[impl] = port;
        }
        servers.set(name, { coredns: ports.coredns!, kdns: ports.kdns! });
      }),
    );
  }, 120000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await upstream?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30000);

  /** Query every server pair of `profile` with `list`; returns the unexplained differences. */
  async function compareProfile(profile: string, list: DiffQuery[], round: string): Promise<void> {
    const srv = servers.get(profile)!;
    const cached = /^\s*cache\b/m.test(profiles[profile]!.corefile);
    // forward + cache: records outside the (uncached) cluster zone come from each server's own cache
    // entry, whose age differs between the two servers (a round can straddle an entry's 30 s expiry):
    // any TTL up to the cache's 30 s, owner case as first cached.
    // Cluster records in a reply that also carries cached upstream records (an ExternalName CNAME
    // and its target) share that reply's counted-down TTL: a second or two apart between servers.
    const ttlSlack = (owner: string) => (!cached ? 0 : underZone(owner, ZONE) ? 2 : 30);
    const rows: DiffRow[] = [];
    const dump = process.env.KDNS_DIFF_DUMP ? ([] as string[]) : null;
    const accepted = new Map<Accepted, number>();
    for (const q of list) {
      const label = `${q.name} ${q.type}${q.qclass ? ` class ${q.qclass}` : ''}${q.edns ? ' +edns' : ''}${q.norecurse ? ' +nord' : ''}${q.tcp ? ' +tcp' : ''}`;
      const a = await ask(srv.coredns, q);
      const b = await ask(srv.kdns, q);
      if (dump) dump.push(JSON.stringify({ profile, q, coredns: a, kdns: b }));
      let diffs = diffReplies(a.udp, b.udp, { ttlSlack, headerOnly: !!(a.tcp && b.tcp) });
      if (a.tcp && b.tcp) diffs = diffs.concat(diffReplies(a.tcp, b.tcp, { ttlSlack }).map((d) => ({ ...d, field: `tcp ${d.field}` })));
      else if (a.tcp || b.tcp) diffs.push({ field: 'tc', coredns: flagsOf(a.udp), kdns: flagsOf(b.udp) });
      for (const d of diffs) {
        const acc = ACCEPTED.find((x) => (!x.when || x.when()) && (!x.profile || x.profile === profile) && (!x.round || x.round === round) && x.query.test(label) && (!x.field || x.field === d.field));
        if (acc) accepted.set(acc, (accepted.get(acc) ?? 0) + 1);
        else rows.push({ profile, query: label, diff: d });
      }
    }
    if (dump) writeFileSync(`${process.env.KDNS_DIFF_DUMP}.${round}.${profile}.jsonl`, dump.join('\n') + '\n');
    if (accepted.size) {
      console.log(`[${round} ${profile}] accepted differences:\n${[...accepted].map(([a, n]) => `  ${n} x ${a.query} ${a.field ?? ''}: ${a.reason}`).join('\n')}`);
    }
    if (rows.length) console.log(`[${round} ${profile}] ${rows.length} unexplained differences in ${list.length} queries:\n${formatTable(rows)}`);
    expect(rows.length, `unexplained differences:\n${formatTable(rows)}`).toBe(0);
  }

  it('generates a broad query set from the cluster', () => {
    expect(queries.length).toBeGreaterThan(1000);
  });

  it.each(Object.keys(profiles).map((p) => [p]))('profile %s: same replies as CoreDNS', async (profile) => {
    await compareProfile(profile, queries, 'static');
  }, 120000);

  // Round 2: the cluster changes under both servers (watch events), then everything is asked again.
  const items: KObject[] = cluster ? JSON.parse(JSON.stringify(cluster.items)) : [];
  let changed: DiffQuery[] = [];
  let applied = false;
  it('applies changes through the API watch and both servers see them', async () => {
    applyChanges(api!, items, changes());
    const fresh = generateQueries({ items }, ZONE);
    const seen = new Set(fresh.map((q) => JSON.stringify(q)));
    changed = [...fresh, ...queries.filter((q) => !seen.has(JSON.stringify(q)))];
    for (const [profile, srv] of servers) {
      if (/namespaces /.test(profiles[profile]!.corefile)) continue;
      for (const port of [srv.coredns, srv.kdns]) {
        for (const m of MARKERS) await waitSynced(port, m, 'A');
        if (/pods (verified|insecure)/.test(profiles[profile]!.corefile)) await waitSynced(port, POD_MARKER, 'A');
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
    applied = true;
  }, 60000);

  it.each(Object.keys(profiles).map((p) => [p]))('profile %s after changes: same replies as CoreDNS', async (profile) => {
    expect(applied, 'changes applied').toBe(true);
    await compareProfile(profile, changed, 'changed');
  }, 120000);
});
