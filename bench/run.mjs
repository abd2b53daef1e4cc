#!/usr/bin/env node
// npm run bench [-- flags]: kdns against unbound, a bare Node ceiling and CoreDNS with dnsperf,
// plus (--scale) memory, initial sync and change-to-answer latency. See bench/README.md.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate, intToIp, model, objects, queryFiles, serviceObject, sliceObject, WORKLOADS } from './gen-cluster.mjs';
import {
  cpuMicros,
  dnsClient,
  httpGetStatus,
  machineInfo,
  median,
  ncpu,
  percentile,
  RCODES,
  rssMB,
  runBackground,
  runCapture,
  sleep,
  stopAll,
  stopProcess,
  tailLog,
  which,
} from './lib.mjs';
import { MiniApiServer } from './mini-apiserver.mjs';
import { corednsPath, kdnsAvailable, REPO, startCoredns, startKdns, startNodeCeiling, startUnbound, startUpstream } from './servers.mjs';

const ALL_SERVERS = ['kdns', 'unbound', 'node', 'coredns'];

const HELP = `usage: npm run bench -- [flags]
  --quick              smoke run: 3 s runs, 1 round, short warm-up, fewer changes in --scale
  --rounds N           rounds per workload, servers alternate within a round (default 3)
  --duration S         seconds per dnsperf run (default 15)
  --warmup S           unmeasured dnsperf seconds before each run (default 2; --quick 1)
  --workloads a,b      ${WORKLOADS.join(',')} (default all; "none" = skip throughput)
  --servers a,b        ${ALL_SERVERS.join(',')} (default all that are available)
  --services N         Services in the throughput cluster (default 1000)
  --endpoints E        endpoints per Service (default 10)
  --clients C          dnsperf -c (default 20)
  --no-loss-check      skip the 80 % rate loss check
  --scale              also: RSS, initial sync, change-to-answer latency (1k/10k Services)
  --scale-sizes a,b    Service counts for --scale (default 1000,10000)
  --scale-pods P       Pods for the "pods verified" scale runs (default 100000)
  --changes N          changes per change-latency series (default 300; --quick 45)
  --load-qps Q         query load during the loaded change series (default 0.8 x kdns ClusterIP max, else 20000)
  --no-build           do not run npm run build first
  --keep               keep the temp dir (cluster, Corefiles, logs)
  --out DIR            results directory (default bench/results)`;

function parseFlags(argv) {
  const f = {
    quick: false,
    rounds: 3,
    duration: 15,
    warmup: null,
    workloads: WORKLOADS,
    servers: null,
    services: 1000,
    endpoints: 10,
    clients: 20,
    lossCheck: true,
    scale: false,
    scaleSizes: [1000, 10000],
    scalePods: 100000,
    changes: null,
    loadQps: null,
    build: true,
    keep: false,
    out: path.join(REPO, 'bench', 'results'),
  };
  const given = new Set();
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    const list = (x) => x.split(',').map((s) => s.trim()).filter(Boolean);
    given.add(k);
    switch (k) {
      case '--quick':
        f.quick = true;
        break;
      case '--rounds':
        f.rounds = Number(v());
        break;
      case '--duration':
        f.duration = Number(v());
        break;
      case '--warmup':
        f.warmup = Number(v());
        break;
      case '--workloads': {
        const w = list(v());
        f.workloads = w.includes('none') ? [] : w;
        for (const x of f.workloads) if (!WORKLOADS.includes(x)) throw new Error(`unknown workload ${x}`);
        break;
      }
      case '--servers':
        f.servers = list(v());
        for (const x of f.servers) if (!ALL_SERVERS.includes(x)) throw new Error(`unknown server ${x}`);
        break;
      case '--services':
        f.services = Number(v());
        break;
      case '--endpoints':
        f.endpoints = Number(v());
        break;
      case '--clients':
        f.clients = Number(v());
        break;
      case '--no-loss-check':
        f.lossCheck = false;
        break;
      case '--scale':
        f.scale = true;
        break;
      case '--scale-sizes':
        f.scaleSizes = list(v()).map(Number);
        break;
      case '--scale-pods':
        f.scalePods = Number(v());
        break;
      case '--changes':
        f.changes = Number(v());
        break;
      case '--load-qps':
        f.loadQps = Number(v());
        break;
      case '--no-build':
        f.build = false;
        break;
      case '--keep':
        f.keep = true;
        break;
      case '--out':
        f.out = path.resolve(v());
        break;
      case '-h':
      case '--help':
        console.log(HELP);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${k}\n${HELP}`);
    }
  }
  if (f.quick) {
    if (!given.has('--duration')) f.duration = 3;
    if (!given.has('--rounds')) f.rounds = 1;
  }
  if (f.warmup == null) f.warmup = f.quick ? 1 : 2;
  if (f.changes == null) f.changes = f.quick ? 45 : 300;
  return f;
}

const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

function ensureTools() {
  const missing = ['dnsperf', 'unbound'].filter((c) => !which(c));
  if (!missing.length) return;
  if (process.getuid?.() !== 0) {
    log(`missing ${missing.join(', ')} (not root: install them with apt-get install -y unbound dnsperf)`);
    return;
  }
  log(`installing ${missing.join(', ')} with apt-get`);
  const pkgs = ['unbound', 'dnsperf'];
  let r = spawnSync('apt-get', ['install', '-y', ...pkgs], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore' });
    r = spawnSync('apt-get', ['install', '-y', ...pkgs], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  if (r.status !== 0) log('apt-get install failed');
}

// ---------------------------------------------------------------------------------------------
// dnsperf

function parseDnsperf(out) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : null;
  };
  const lat = /Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)/.exec(out);
  const rc = /Response codes:\s+(.*)/.exec(out);
  const rcodes = {};
  if (rc) for (const m of rc[1].matchAll(/([A-Z]+) (\d+)/g)) rcodes[m[1]] = Number(m[2]);
  return {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    runTime: num(/Run time \(s\):\s+([\d.]+)/),
    avgLatMs: lat ? Number(lat[1]) * 1000 : null,
    maxLatMs: lat ? Number(lat[3]) * 1000 : null,
    rcodes,
  };
}

function dnsperfArgs(ctx, port, file, seconds, qps) {
  const a = ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-c', String(ctx.flags.clients), '-T', '1', '-l', String(seconds), '-t', '2'];
  if (qps) a.push('-Q', String(Math.max(1, Math.floor(qps))));
  return a;
}

async function dnsperf(ctx, server, file, seconds, qps = null) {
  const cpu0 = cpuMicros(server.entry.pid);
  const r = await runCapture('dnsperf', 'dnsperf', dnsperfArgs(ctx, server.port, file, seconds, qps), {
    cpu: ctx.clientCpu,
    logDir: ctx.logDir,
    timeoutMs: (seconds + 30) * 1000,
  });
  const cpu1 = cpuMicros(server.entry.pid);
  const p = parseDnsperf(r.stdout);
  if (p.qps == null) throw new Error(`dnsperf failed (exit ${r.code}): ${(r.stderr || r.stdout).slice(0, 500)}`);
  p.cpuUsPerQuery = cpu0 != null && cpu1 != null && p.completed ? (cpu1 - cpu0) / p.completed : null;
  p.rssMB = rssMB(server.entry.pid);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Throughput rounds

async function throughput(ctx, servers) {
  const { flags } = ctx;
  const runs = {}; // w -> s -> [result]
  const errors = [];
  for (let round = 0; round < flags.rounds; round++) {
    for (const w of flags.workloads) {
      const file = ctx.gen.queries[w];
      if (!file) continue;
      const live = servers.filter((s) => !s.failed);
      const order = live.map((_, i) => live[(i + round) % live.length]);
      for (const s of order) {
        if (s.entry.exited) {
          s.failed = `exited (${JSON.stringify(s.entry.exited)})\n${tailLog(s.entry)}`;
          errors.push(`${s.name}: ${s.failed}`);
          continue;
        }
        try {
          if (flags.warmup > 0) await dnsperf(ctx, s, file, flags.warmup);
          const r = await dnsperf(ctx, s, file, flags.duration);
          ((runs[w] ??= {})[s.name] ??= []).push(r);
          log(
            `round ${round + 1}/${flags.rounds} ${w.padEnd(9)} ${s.name.padEnd(8)} ${fmt(r.qps, 0).padStart(8)} qps  avg ${fmt(r.avgLatMs, 3)} ms  max ${fmt(r.maxLatMs, 1)} ms  lost ${r.lost}  ${fmt(r.cpuUsPerQuery, 2)} µs/q  ${fmt(r.rssMB, 1)} MB  ${rcodeText(r.rcodes)}`,
          );
        } catch (e) {
          errors.push(`${s.name} ${w}: ${e.message}`);
          log(`${s.name} ${w}: ${e.message}`);
        }
        if (s.entry.exited) {
          s.failed = `exited during ${w} (${JSON.stringify(s.entry.exited)})\n${tailLog(s.entry)}`;
          errors.push(`${s.name}: ${s.failed}`);
          log(`${s.name} exited: ${tailLog(s.entry, 5)}`);
        }
      }
    }
  }
  const med = {};
  for (const [w, per] of Object.entries(runs)) {
    for (const [s, rs] of Object.entries(per)) {
      const rc = {};
      for (const r of rs) for (const [k, v] of Object.entries(r.rcodes)) rc[k] = (rc[k] ?? 0) + v;
      (med[w] ??= {})[s] = {
        n: rs.length,
        qps: median(rs.map((r) => r.qps)),
        avgLatMs: median(rs.map((r) => r.avgLatMs)),
        maxLatMs: median(rs.map((r) => r.maxLatMs)),
        lost: median(rs.map((r) => r.lost)),
        cpuUsPerQuery: median(rs.map((r) => r.cpuUsPerQuery)),
        rssMB: median(rs.map((r) => r.rssMB)),
        rcodes: rc,
      };
    }
  }
  return { runs, med, errors };
}

async function lossCheck(ctx, servers, med) {
  const out = {};
  for (const w of ctx.flags.workloads) {
    for (const s of servers) {
      const m = med[w]?.[s.name];
      if (!m?.qps || s.failed || s.entry.exited) continue;
      const rate = Math.floor(m.qps * 0.8);
      try {
        if (ctx.flags.warmup > 0) await dnsperf(ctx, s, ctx.gen.queries[w], ctx.flags.warmup, rate);
        const r = await dnsperf(ctx, s, ctx.gen.queries[w], ctx.flags.duration, rate);
        (out[w] ??= {})[s.name] = { rate, ...r };
        log(`80% check ${w.padEnd(9)} ${s.name.padEnd(8)} at ${rate} qps: got ${fmt(r.qps, 0)} qps, sent ${r.sent}, lost ${r.lost}, avg ${fmt(r.avgLatMs, 3)} ms, max ${fmt(r.maxLatMs, 1)} ms`);
      } catch (e) {
        (out[w] ??= {})[s.name] = { rate, error: e.message };
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scale: RSS, initial sync, change-to-answer

async function startAgainstApi(ctx, which, api, pods, name) {
  const source = `endpoint ${api.url}`;
  if (which === 'kdns') return startKdns(ctx, { source, pods, name, wait: false });
  return startCoredns(ctx, { apiUrl: api.url, pods, name, wait: false });
}

/** Start until /ready is 200 and until the last Service answers. */
async function measureSync(s, lastName, timeoutMs = 120000) {
  const t0 = s.startedAt;
  const c = dnsClient(s.port);
  let readyMs = null;
  let answerMs = null;
  try {
    while (performance.now() - t0 < timeoutMs && (readyMs == null || answerMs == null)) {
      if (s.entry.exited) throw new Error(`exited: ${tailLog(s.entry, 8)}`);
      if (answerMs == null) {
        const r = await c.query(lastName, 'A', 100);
        if (r && r.rcode === 0 && r.ancount > 0) answerMs = performance.now() - t0;
      }
      if (readyMs == null && (await httpGetStatus(s.readyUrl, 200)) === 200) readyMs = performance.now() - t0;
      await sleep(5);
    }
  } finally {
    c.close();
  }
  return { readyMs, answerMs };
}

async function changeLatency(ctx, api, m, port, n, tag) {
  const c = dnsClient(port);
  const hs = m.svcs.filter((s) => s.headless);
  const addrs = new Map(hs.map((h) => [h, Array.from({ length: h.epCount }, (_, j) => intToIp(0x0af40002 + h.epBase + j))]));
  const samples = { add: [], endpoints: [], delete: [] };
  let failures = 0;
  let seq = ctx.changeSeq ?? 0;
  let pendingDelete = null;
  try {
    for (let i = 0; i < n; i++) {
      let kind = ['add', 'endpoints', 'delete'][i % 3];
      if (kind === 'endpoints' && !hs.length) kind = 'add';
      let name;
      let pred;
      let t0;
      if (kind === 'add') {
        const k = seq++;
        const s = { name: `chg-${k}`, ns: 'ns-0', headless: false, clusterIP: intToIp(0x0a640000 + k), epCount: 0 };
        name = `${s.name}.ns-0.svc.cluster.local`;
        pred = (r) => r.rcode === 0 && r.addrs.includes(s.clusterIP);
        t0 = api.add(serviceObject(s));
        pendingDelete = s;
      } else if (kind === 'endpoints') {
        const h = hs[i % hs.length];
        const list = addrs.get(h);
        const ip = intToIp(0x0afa0000 + seq++);
        list[i % list.length] = ip;
        name = `${h.name}.${h.ns}.svc.cluster.local`;
        pred = (r) => r.rcode === 0 && r.addrs.includes(ip);
        t0 = api.update(sliceObject(h, '1', list));
      } else {
        if (!pendingDelete) continue;
        const s = pendingDelete;
        pendingDelete = null;
        name = `${s.name}.ns-0.svc.cluster.local`;
        pred = (r) => r.rcode === 3;
        t0 = api.remove('Service', 'ns-0', s.name);
      }
      let ok = false;
      while (performance.now() - t0 < 5000) {
        const ts = performance.now();
        const r = await c.query(name, 'A', 200);
        if (r && pred(r)) {
          samples[kind].push(performance.now() - t0);
          ok = true;
          break;
        }
        const wait = 1 - (performance.now() - ts);
        if (wait > 0) await sleep(wait);
      }
      if (!ok) failures++;
    }
  } finally {
    c.close();
    ctx.changeSeq = seq;
  }
  const all = [...samples.add, ...samples.endpoints, ...samples.delete];
  const res = {
    tag,
    n: all.length,
    failures,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    max: percentile(all, 100),
    byKind: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { n: v.length, p50: percentile(v, 50), p99: percentile(v, 99) }])),
  };
  log(`change-to-answer ${tag}: n=${res.n} failures=${failures} p50 ${fmt(res.p50, 2)} ms p99 ${fmt(res.p99, 2)} ms max ${fmt(res.max, 2)} ms`);
  return res;
}

async function scale(ctx, perfMed) {
  const { flags } = ctx;
  const which = flags.servers.filter((s) => s === 'kdns' || s === 'coredns').filter((s) => ctx.available[s]);
  const results = [];
  const configs = [];
  for (const n of flags.scaleSizes) {
    configs.push({ services: n, pods: 'insecure', podCount: 0 });
    configs.push({ services: n, pods: 'verified', podCount: flags.scalePods });
  }
  const biggest = Math.max(...flags.scaleSizes);
  for (const cfg of configs) {
    const m = model({ services: cfg.services, endpoints: flags.endpoints, pods: cfg.podCount });
    for (const srv of which) {
      const api = new MiniApiServer();
      api.load(objects(m));
      await api.start();
      const label = `${srv} ${cfg.services} svc × ${flags.endpoints} ep, pods ${cfg.pods}${cfg.podCount ? ` + ${cfg.podCount} pods` : ''}`;
      let s = null;
      const row = { server: srv, ...cfg, endpoints: flags.endpoints };
      try {
        s = await startAgainstApi(ctx, srv, api, cfg.pods, `${srv}-scale`);
        const last = m.svcs[m.svcs.length - 1];
        const sync = await measureSync(s, `${last.name}.${last.ns}.svc.cluster.local`);
        Object.assign(row, sync);
        await sleep(2000);
        row.rssMB = rssMB(s.entry.pid);
        row.apiPaths = [...api.paths.keys()].sort();
        log(`${label}: ready ${fmt(sync.readyMs, 0)} ms, first answer ${fmt(sync.answerMs, 0)} ms, RSS ${fmt(row.rssMB, 1)} MB`);
        if (cfg.services === biggest && cfg.pods === 'insecure') {
          row.changeIdle = await changeLatency(ctx, api, m, s.port, flags.changes, `${srv} idle`);
          const qf = path.join(ctx.dir, `scale-${cfg.services}-clusterip.txt`);
          if (!fs.existsSync(qf)) fs.writeFileSync(qf, queryFiles(m).clusterip.join('\n') + '\n');
          const kq = perfMed?.clusterip?.[srv]?.qps;
          const qps = flags.loadQps ?? (kq ? Math.floor(kq * 0.8) : 20000);
          const load = runBackground('dnsperf-load', 'dnsperf', ['-s', '127.0.0.1', '-p', String(s.port), '-d', qf, '-c', String(flags.clients), '-T', '1', '-l', '3600', '-t', '2', '-Q', String(qps)], {
            cpu: ctx.clientCpu,
          });
          await sleep(1000);
          try {
            row.changeLoaded = await changeLatency(ctx, api, m, s.port, flags.changes, `${srv} under ${qps} qps`);
            row.changeLoaded.loadQps = qps;
          } finally {
            await stopProcess(load.entry, 2000);
          }
          const lr = parseDnsperf((await load.done).stdout);
          if (row.changeLoaded) Object.assign(row.changeLoaded, { loadSent: lr.sent, loadLost: lr.lost, loadQpsAchieved: lr.qps });
        }
      } catch (e) {
        row.error = e.message;
        log(`${label}: ${e.message}`);
      } finally {
        if (s) await stopProcess(s.entry);
        await api.close();
      }
      results.push(row);
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Report

function fmt(x, d = 1) {
  if (x == null || Number.isNaN(x)) return '–';
  return Number(x).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

function rcodeText(rc) {
  const total = Object.values(rc ?? {}).reduce((a, b) => a + b, 0);
  if (!total) return '–';
  return Object.entries(rc)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${((100 * v) / total).toFixed(v === total ? 0 : 1)}%`)
    .join(', ');
}

const ratio = (a, b) => (a != null && b != null && b !== 0 ? a / b : null);

function shortHash() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO }).toString().trim();
  } catch {
    return 'nogit';
  }
}

function gitDirty() {
  try {
    return execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO }).toString().trim() !== '';
  } catch {
    return false;
  }
}

function report(ctx, perf, loss, scaleRows) {
  const { flags, machine } = ctx;
  const L = [];
  const cmd = process.env.npm_lifecycle_event === 'bench' ? `npm run bench${ctx.argv.length ? ' -- ' + ctx.argv.join(' ') : ''}` : `node bench/run.mjs ${ctx.argv.join(' ')}`.trim();
  L.push(`# kdns benchmark ${ctx.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC (${ctx.hash}${ctx.dirty ? ', uncommitted changes in src/' : ''})`, '');
  L.push('```', cmd, '```', '');
  L.push('| machine | |', '| --- | --- |');
  L.push(`| CPUs (nproc) | ${machine.nproc} |`, `| CPU model | ${machine.cpuModel} |`, `| memory | ${machine.memTotal} |`, `| node | ${machine.node} |`, `| kernel | ${machine.kernel} |`);
  const la = (x) => x.map((v) => v.toFixed(2)).join(' ');
  L.push(`| load average (1/5/15 min) | at start ${la(machine.loadavg)}, at end ${la(os.loadavg())}${machine.loadavg[0] > 0.7 ? ' (other work was running: figures are noisy, compare ratios within this run)' : ''} |`);
  L.push(`| pinning | ${machine.taskset ? `dnsperf on CPU ${ctx.clientCpu}, server under test on CPU ${ctx.serverCpu} (taskset)` : 'none (1 CPU or no taskset)'} |`);
  L.push(`| dnsperf | \`-c ${flags.clients} -T 1 -l ${flags.duration} -t 2\`, ${flags.warmup} s unmeasured warm-up before each run |`);
  L.push(`| rounds | ${flags.rounds} (servers alternate; medians reported) |`);
  L.push(`| cluster | ${flags.services} Services × ${flags.endpoints} endpoints (every 10th headless, ports http/grpc), 10 namespaces |`);
  L.push('');
  const sv = ctx.serversInfo;
  L.push('Servers:', '');
  for (const [name, info] of Object.entries(sv)) L.push(`- **${name}**: ${info}`);
  L.push('');
  if (ctx.notes.length) {
    L.push('Notes:', '');
    for (const n of ctx.notes) L.push(`- ${n.replace(/\n/g, ' ⏎ ')}`);
    L.push('');
  }

  // Targets
  const t = [];
  const med = perf?.med ?? {};
  const q = (w, s) => med[w]?.[s]?.qps;
  const target = (what, value, ok, detail) => t.push({ what, value, ok, detail });
  const rt = (w, peer, min) => {
    const r = ratio(q(w, 'kdns'), q(w, peer));
    return { r, ok: r == null ? null : r >= min };
  };
  {
    let x = rt('clusterip', 'node', 0.9);
    target('ClusterIP A QPS ≥ 0.9 × bare Node ceiling', x.r == null ? '–' : `${fmt(x.r, 2)} ×`, x.ok);
    x = rt('clusterip', 'unbound', 0.75);
    target('ClusterIP A QPS ≥ 0.75 × unbound', x.r == null ? '–' : `${fmt(x.r, 2)} ×`, x.ok);
    x = rt('clusterip', 'coredns', 1.5);
    target('ClusterIP A QPS ≥ 1.5 × CoreDNS', x.r == null ? (ctx.available.coredns ? '–' : 'no CoreDNS binary') : `${fmt(x.r, 2)} ×`, x.ok);
    x = rt('ndots', 'unbound', 0.7);
    target('ndots:5 external lookup QPS ≥ 0.7 × unbound', x.r == null ? '–' : `${fmt(x.r, 2)} ×`, x.ok);
    x = rt('external', 'unbound', 0.7);
    target('cached external QPS ≥ 0.7 × unbound', x.r == null ? '–' : `${fmt(x.r, 2)} ×`, x.ok);
    const lk = Object.entries(loss ?? {})
      .map(([w, per]) => [w, per.kdns])
      .filter(([, r]) => r);
    if (lk.length) {
      const bad = lk.filter(([, r]) => r.error || r.lost > 0);
      target('kdns: no lost queries at 80 % of max rate', bad.length ? `lost in ${bad.map(([w, r]) => `${w} (${r.error ? 'error' : r.lost})`).join(', ')}` : `0 lost in ${lk.length} workloads`, bad.length === 0);
    } else target('kdns: no lost queries at 80 % of max rate', 'not measured', null);
  }
  const big = (scaleRows ?? []).find((r) => r.server === 'kdns' && r.services === 10000 && r.pods === 'insecure');
  if (big) {
    target('10k Services RSS ≤ 164 MB', big.rssMB != null ? `${fmt(big.rssMB, 1)} MB` : big.error ?? '–', big.rssMB != null ? big.rssMB <= 164 : false);
    const sync = big.readyMs != null && big.answerMs != null ? Math.max(big.readyMs, big.answerMs) : null;
    target('10k Services initial sync ≤ 3 s', sync != null ? `${fmt(sync / 1000, 2)} s` : big.error ?? '–', sync != null ? sync <= 3000 : false);
    for (const c of [big.changeIdle, big.changeLoaded].filter(Boolean)) {
      target(`change-to-answer p99 ≤ 50 ms (${c.tag.replace(/^kdns /, '')})`, `${fmt(c.p99, 1)} ms${c.failures ? `, ${c.failures} never seen` : ''}`, c.p99 != null && c.p99 <= 50 && !c.failures);
    }
    if (!big.changeIdle) target('change-to-answer p99 ≤ 50 ms', big.error ?? 'not measured', false);
  } else {
    for (const w of ['10k Services RSS ≤ 164 MB', '10k Services initial sync ≤ 3 s', 'change-to-answer p99 ≤ 50 ms']) target(w, flags.scale ? 'not measured' : 'not run (use --scale)', null);
  }
  L.push('## Targets', '', '| target | kdns | |', '| --- | --- | --- |');
  for (const x of t) L.push(`| ${x.what} | ${x.value} | ${x.ok == null ? 'not measured' : x.ok ? '**met**' : '**missed**'} |`);
  L.push('');

  // Workloads
  const names = ALL_SERVERS.filter((s) => Object.values(med).some((per) => per[s]));
  const WL = {
    clusterip: 'ClusterIP A (1000 distinct Service names)',
    headless: 'headless A (10 A records each)',
    srv: 'SRV `_http._tcp.<svc>.<ns>.svc.cluster.local` (ClusterIP and headless in proportion)',
    ndots: 'ndots:5 external lookup: 3 NXDOMAIN search expansions + the external name (forward + cache)',
    external: 'cached external name (forward + cache, upstream on 127.0.0.1)',
    mixed: 'mixed: 4 ClusterIP A, 1 headless A, 1 SRV, one ndots:5 sequence (4) per 10 queries',
  };
  for (const w of flags.workloads) {
    const per = med[w];
    if (!per) continue;
    L.push(`## ${w}: ${WL[w]}`, '');
    L.push('| server | QPS | avg latency ms | max latency ms | lost | CPU µs/query | RSS MB | rcodes | lost at 80 % |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
    for (const s of names) {
      const r = per[s];
      if (!r) continue;
      const lc = loss?.[w]?.[s];
      const lcText = !lc ? '–' : lc.error ? `error` : `${lc.lost} of ${lc.sent} (asked ${fmt(lc.rate, 0)} qps, got ${fmt(lc.qps, 0)})`;
      L.push(`| ${s} | ${fmt(r.qps, 0)} | ${fmt(r.avgLatMs, 3)} | ${fmt(r.maxLatMs, 2)} | ${fmt(r.lost, 0)} | ${fmt(r.cpuUsPerQuery, 2)} | ${fmt(r.rssMB, 1)} | ${rcodeText(r.rcodes)} | ${lcText} |`);
    }
    L.push('');
    const pairs = [];
    for (let i = 0; i < names.length; i++) for (let j = 0; j < names.length; j++) if (i !== j && per[names[i]] && per[names[j]] && (names[i] === 'kdns' || i < j)) pairs.push([names[i], names[j]]);
    if (pairs.length) {
      L.push('| ratio | QPS | avg latency | max latency | CPU/query | RSS |', '| --- | ---: | ---: | ---: | ---: | ---: |');
      for (const [a, b] of pairs) {
        const A = per[a];
        const B = per[b];
        L.push(
          `| ${a} ÷ ${b} | ${fmt(ratio(A.qps, B.qps), 2)} | ${fmt(ratio(A.avgLatMs, B.avgLatMs), 2)} | ${fmt(ratio(A.maxLatMs, B.maxLatMs), 2)} | ${fmt(ratio(A.cpuUsPerQuery, B.cpuUsPerQuery), 2)} | ${fmt(ratio(A.rssMB, B.rssMB), 2)} |`,
        );
      }
      L.push('');
    }
  }
  if (perf?.errors?.length) {
    L.push('## Errors during throughput runs', '', '```');
    for (const e of perf.errors) L.push(e);
    L.push('```', '');
  }

  if (scaleRows) {
    L.push('## Scale and freshness (cluster read through bench/mini-apiserver.mjs)', '');
    L.push('| server | Services × endpoints | pods | /ready 200 after ms | last Service answers after ms | RSS MB (2 s after sync) | note |', '| --- | --- | --- | ---: | ---: | ---: | --- |');
    for (const r of scaleRows) {
      L.push(
        `| ${r.server} | ${r.services} × ${r.endpoints} | ${r.pods}${r.podCount ? ` + ${r.podCount} Pods` : ''} | ${fmt(r.readyMs, 0)} | ${fmt(r.answerMs, 0)} | ${fmt(r.rssMB, 1)} | ${r.error ? r.error.split('\n')[0].slice(0, 160) : ''} |`,
      );
    }
    L.push('');
    const ch = scaleRows.flatMap((r) => [r.changeIdle, r.changeLoaded].filter(Boolean).map((c) => ({ r, c })));
    if (ch.length) {
      L.push(
        'Change-to-answer: time from the watch event leaving the API stand-in until a UDP poll (every ~1 ms) sees the new answer; changes cycle through add Service, change a headless Service\'s EndpointSlice, delete Service.',
        '',
      );
      L.push('| series | changes | never seen (5 s) | p50 ms | p99 ms | max ms | add p50/p99 | endpoints p50/p99 | delete p50/p99 |', '| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |');
      for (const { r, c } of ch) {
        const bk = (k) => `${fmt(c.byKind[k]?.p50, 1)} / ${fmt(c.byKind[k]?.p99, 1)}`;
        L.push(`| ${c.tag} (${r.services} Services) | ${c.n} | ${c.failures} | ${fmt(c.p50, 2)} | ${fmt(c.p99, 2)} | ${fmt(c.max, 2)} | ${bk('add')} | ${bk('endpoints')} | ${bk('delete')} |`);
      }
      L.push('');
      for (const { c } of ch) if (c.loadSent != null) L.push(`- load during "${c.tag}": ${fmt(c.loadQpsAchieved, 0)} qps achieved, ${c.loadLost} of ${c.loadSent} lost`);
      L.push('');
    }
    const paths = scaleRows.filter((r) => r.apiPaths);
    for (const srv of new Set(paths.map((r) => r.server))) {
      const p = new Set(paths.filter((r) => r.server === srv).flatMap((r) => r.apiPaths));
      L.push(`API requests seen from ${srv}: ${[...p].map((x) => `\`${x}\``).join(', ')}`, '');
    }
  }
  return L.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const argv = process.argv.slice(2);
  const flags = parseFlags(argv);
  const machine = machineInfo();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-bench-'));
  const logDir = path.join(dir, 'logs');
  fs.mkdirSync(logDir);
  const pinned = machine.taskset;
  const ctx = {
    flags,
    machine,
    dir,
    logDir,
    argv,
    notes: [],
    serversInfo: {},
    available: {},
    clientCpu: pinned ? 0 : null,
    serverCpu: pinned ? 1 : null,
    gomaxprocs: pinned ? 1 : ncpu(),
    startedAt: new Date(),
    hash: shortHash(),
    dirty: gitDirty(),
  };
  log(`bench: temp dir ${dir}; ${machine.nproc} CPUs, ${machine.cpuModel}`);
  let ok = false;
  const started = [];
  let api = null;
  try {
    ensureTools();
    if (!which('dnsperf')) throw new Error('dnsperf is not installed (apt-get install -y dnsperf)');

    const want = flags.servers ?? ALL_SERVERS;
    flags.servers = want;
    if (want.includes('kdns') && flags.build) {
      log('npm run build');
      const r = spawnSync('npm', ['run', 'build'], { cwd: REPO, encoding: 'utf8' });
      if (r.status !== 0) {
        const msg = `npm run build failed${kdnsAvailable() ? ' (using the existing dist/)' : ''}: ${(r.stdout + r.stderr).trim().split('\n').slice(-4).join(' | ')}`;
        ctx.notes.push(msg);
        log(msg);
      }
    }
    ctx.available = {
      kdns: want.includes('kdns') && kdnsAvailable(),
      unbound: want.includes('unbound') && !!which('unbound'),
      node: want.includes('node'),
      coredns: want.includes('coredns') && !!corednsPath(),
    };
    if (want.includes('coredns') && !ctx.available.coredns) ctx.notes.push(`CoreDNS not measured: no binary at ${path.join(os.homedir(), '.cache/kdns/coredns')} (or $COREDNS)`);
    if (want.includes('kdns') && !ctx.available.kdns) ctx.notes.push('kdns not measured: dist/cli.js missing (build failed)');

    log(`generating ${flags.services} Services × ${flags.endpoints} endpoints`);
    ctx.gen = generate(path.join(dir, 'gen'), { services: flags.services, endpoints: flags.endpoints });
    ctx.expectFile = ctx.gen.expectFile;
    const up = await startUpstream(ctx);
    started.push(up);
    ctx.upstreamPort = up.port;

    let perf = null;
    let loss = null;
    if (flags.workloads.length) {
      const servers = [];
      const tryStart = async (name, fn, info) => {
        if (!ctx.available[name]) return;
        try {
          log(`starting ${name}`);
          const s = await fn();
          servers.push(s);
          started.push(s);
          ctx.serversInfo[name] = `${info} (pid ${s.entry.pid}, ready after ${fmt(s.startupMs, 0)} ms)`;
        } catch (e) {
          ctx.notes.push(`${name} failed to start: ${e.message.split('\n').slice(0, 6).join(' | ')}`);
          log(`${name} failed to start: ${e.message}`);
        }
      };
      await tryStart('kdns', () => startKdns(ctx, { source: `snapshot ${ctx.gen.clusterFile}` }), 'kubeadm Corefile, `snapshot` of the generated cluster');
      await tryStart('unbound', () => startUnbound(ctx), `unbound ${unboundVersion()}, 1 thread, local-data for the cluster, forward-zone example.test to the fake upstream`);
      await tryStart('node', () => startNodeCeiling(ctx), 'bare Node dgram server (bench/dns-static.mjs): prebuilt reply per name, ID patched');
      if (ctx.available.coredns) {
        api = new MiniApiServer();
        api.load(objects(ctx.gen.model));
        await api.start();
        await tryStart('coredns', () => startCoredns(ctx, { apiUrl: api.url }), `CoreDNS ${corednsVersion()}, same Corefile with \`endpoint\` = bench/mini-apiserver.mjs, GOMAXPROCS=${ctx.gomaxprocs}`);
      }
      if (!servers.length) throw new Error('no server could be started');
      perf = await throughput(ctx, servers);
      if (flags.lossCheck) loss = await lossCheck(ctx, servers, perf.med);
      for (const s of servers) await stopProcess(s.entry);
      if (api) {
        ctx.corednsApiPaths = [...api.paths.keys()];
        await api.close();
        api = null;
      }
    }
    let scaleRows = null;
    if (flags.scale) scaleRows = await scale(ctx, perf?.med);

    const text = report(ctx, perf, loss, scaleRows);
    fs.mkdirSync(flags.out, { recursive: true });
    const date = ctx.startedAt.toISOString().slice(0, 10);
    let base = `${date}-${ctx.hash}${flags.quick ? '-quick' : ''}`;
    if (fs.existsSync(path.join(flags.out, `${base}.md`))) base += `-${ctx.startedAt.toISOString().slice(11, 16).replace(':', '')}`;
    fs.writeFileSync(path.join(flags.out, `${base}.md`), text);
    fs.writeFileSync(path.join(flags.out, 'latest.md'), text);
    fs.writeFileSync(path.join(flags.out, `${base}.json`), JSON.stringify({ flags, machine, perf, loss, scale: scaleRows, notes: ctx.notes }, null, 1));
    console.log('\n' + text);
    log(`results: ${path.relative(process.cwd(), path.join(flags.out, base + '.md'))} and latest.md`);
    ok = true;
  } finally {
    await stopAll();
    if (api) await api.close().catch(() => {});
    if (ok && !flags.keep) fs.rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir} (logs in ${logDir})`);
  }
}

function unboundVersion() {
  try {
    const m = /Version (\S+)/.exec(execFileSync(which('unbound'), ['-V']).toString());
    return m ? m[1] : '';
  } catch {
    return '';
  }
}

function corednsVersion() {
  try {
    return execFileSync(corednsPath(), ['-version']).toString().split('\n')[0].trim();
  } catch {
    return '';
  }
}

main().then(
  () => process.exit(0),
  async (e) => {
    console.error(`bench failed: ${e?.stack ?? e}`);
    await stopAll();
    process.exit(1);
  },
);
