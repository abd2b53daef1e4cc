// Starting the servers under test: kdns, unbound, the bare Node ceiling, CoreDNS; and the fake
// upstream. Every process is tracked by lib.mjs and stopped by PID.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, httpGetStatus, sleep, startProcess, stopProcess, tailLog, waitForAnswer, which } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..');
export const PROBE_NAME = 'kubernetes.default.svc.cluster.local';

const KUBEADM_COREFILE_PATH = '/work/shared/reference/Corefile.kubeadm';
// The same file, for machines without /work/shared (kubeadm >= 1.32 default).
const KUBEADM_COREFILE = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`;

export function kubeadmCorefile() {
  try {
    return fs.readFileSync(KUBEADM_COREFILE_PATH, 'utf8');
  } catch {
    return KUBEADM_COREFILE;
  }
}

/** The kubeadm Corefile with ports, upstream, pods mode and the cluster source changed. */
export function renderCorefile({ port, upstreamPort, healthPort, readyPort, metricsPort, source, pods = 'insecure' }) {
  let s = kubeadmCorefile();
  const subst = (re, to, what) => {
    if (!re.test(s)) throw new Error(`Corefile.kubeadm: cannot find ${what}`);
    s = s.replace(re, to);
  };
  subst(/^\.:53 \{/m, `.:${port} {`, '.:53');
  subst(/^(\s*)health \{/m, `$1health 127.0.0.1:${healthPort} {`, 'health');
  subst(/^(\s*)ready\s*$/m, `$1ready 127.0.0.1:${readyPort}`, 'ready');
  subst(/prometheus :9153/, `prometheus 127.0.0.1:${metricsPort}`, 'prometheus');
  subst(/forward \. \/etc\/resolv\.conf/, `forward . 127.0.0.1:${upstreamPort}`, 'forward');
  subst(/^(\s*)pods insecure\s*$/m, `$1pods ${pods}\n$1${source}`, 'pods insecure');
  return s;
}

async function waitReady(entry, port, { readyUrl = null, timeoutMs = 60000 } = {}) {
  const t0 = performance.now();
  const alive = () => !entry.exited;
  await waitForAnswer(port, PROBE_NAME, { timeoutMs, isAlive: alive });
  if (readyUrl) {
    while (performance.now() - t0 < timeoutMs) {
      if (!alive()) throw new Error('process exited');
      if ((await httpGetStatus(readyUrl)) === 200) break;
      await sleep(20);
    }
  }
  return performance.now() - t0;
}

export async function startUpstream(ctx) {
  const port = await freePort();
  const entry = startProcess('upstream', process.execPath, [path.join(HERE, 'dns-static.mjs'), '--port', String(port), '--expect', ctx.expectFile, '--suffix', 'example.test', '--ttl', '300'], {
    logDir: ctx.logDir,
  });
  await waitForAnswer(port, 'ext-0.example.test', { timeoutMs: 20000, isAlive: () => !entry.exited });
  return { name: 'upstream', entry, port };
}

export function kdnsAvailable() {
  return fs.existsSync(path.join(REPO, 'dist', 'cli.js'));
}

/** Write the kubeadm Corefile for `name` on free ports, start `cmd`, and wait for /ready. */
async function startCorefileServer(ctx, name, cpu, wait, source, pods, start) {
  const [port, healthPort, readyPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const conf = path.join(ctx.dir, `Corefile.${name}`);
  fs.writeFileSync(conf, renderCorefile({ port, upstreamPort: ctx.upstreamPort, healthPort, readyPort, metricsPort, source, pods }));
  const entry = start(conf);
  const s = { name, entry, port, readyUrl: `http://127.0.0.1:${readyPort}/ready`, startedAt: performance.now(), conf };
  if (wait) {
    try {
      s.startupMs = await waitReady(entry, port, { readyUrl: s.readyUrl });
    } catch (e) {
      await stopProcess(entry);
      throw new Error(`${name} did not become ready: ${e.message}\n${tailLog(entry)}`);
    }
  }
  return s;
}

/** kdns with the kubeadm Corefile; source = `snapshot FILE` or `endpoint URL`. */
export async function startKdns(ctx, { source, pods = 'insecure', cpu = ctx.serverCpu, name = 'kdns', wait = true } = {}) {
  return startCorefileServer(ctx, name, cpu, wait, source, pods, (conf) =>
    startProcess(name, process.execPath, ['--max-semi-space-size=4', path.join(REPO, 'dist', 'cli.js'), '-conf', conf], { cpu, logDir: ctx.logDir, cwd: REPO }));
}

export function corednsPath() {
  const p = process.env.COREDNS ?? path.join(os.homedir(), '.cache', 'kdns', 'coredns');
  return fs.existsSync(p) ? p : null;
}

export async function startCoredns(ctx, { apiUrl, pods = 'insecure', cpu = ctx.serverCpu, name = 'coredns', wait = true } = {}) {
  const bin = corednsPath();
  if (!bin) throw new Error('CoreDNS binary not found');
  return startCorefileServer(ctx, name, cpu, wait, `endpoint ${apiUrl}`, pods, (conf) =>
    startProcess(name, bin, ['-conf', conf], { cpu, logDir: ctx.logDir, env: { GOMAXPROCS: String(ctx.gomaxprocs) } }));
}

function rrText(r) {
  switch (r.type) {
    case 'A':
      return `${r.name}. ${r.ttl} IN A ${r.data}`;
    case 'SRV':
      return `${r.name}. ${r.ttl} IN SRV ${r.data.priority} ${r.data.weight} ${r.data.port} ${r.data.target}.`;
    case 'SOA': {
      const d = r.data;
      return `${r.name}. ${r.ttl} IN SOA ${d.mname}. ${d.rname}. ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    }
    default:
      throw new Error(`rrText: ${r.type}`);
  }
}

export function unboundConf(ctx, port) {
  const expect = JSON.parse(fs.readFileSync(ctx.expectFile, 'utf8'));
  const lines = [
    'server:',
    '  interface: 127.0.0.1',
    `  port: ${port}`,
    '  num-threads: 1',
    '  do-ip4: yes',
    '  do-ip6: no',
    '  do-udp: yes',
    '  do-tcp: yes',
    '  do-daemonize: no',
    '  chroot: ""',
    '  username: ""',
    `  directory: "${ctx.dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 0',
    '  access-control: 127.0.0.0/8 allow',
    '  module-config: "iterator"',
    '  do-not-query-localhost: no',
    '  qname-minimisation: no',
    '  num-queries-per-thread: 4096',
    '  msg-cache-size: 64m',
    '  rrset-cache-size: 128m',
    '  so-rcvbuf: 4m',
    '  so-sndbuf: 4m',
    // unbound answers the RFC 6761 names (test., invalid., ...) itself unless told otherwise.
    '  local-zone: "test." nodefault',
    `  local-zone: "${expect.zone}." static`,
    `  local-data: "${rrText(expect.soa)}"`,
  ];
  const seen = new Set();
  for (const e of expect.entries) {
    if (!e.name.endsWith(expect.zone)) continue;
    for (const r of e.answers) {
      const t = rrText(r);
      if (seen.has(t)) continue;
      seen.add(t);
      lines.push(`  local-data: "${t}"`);
    }
  }
  lines.push('remote-control:', '  control-enable: no', 'forward-zone:', '  name: "example.test."', `  forward-addr: 127.0.0.1@${ctx.upstreamPort}`, '');
  return lines.join('\n');
}

export async function startUnbound(ctx, { cpu = ctx.serverCpu } = {}) {
  const bin = which('unbound');
  if (!bin) throw new Error('unbound not installed');
  const port = await freePort();
  const conf = path.join(ctx.dir, 'unbound.conf');
  fs.writeFileSync(conf, unboundConf(ctx, port));
  const entry = startProcess('unbound', bin, ['-d', '-c', conf], { cpu, logDir: ctx.logDir });
  const s = { name: 'unbound', entry, port, startedAt: performance.now(), conf };
  try {
    s.startupMs = await waitReady(entry, port, { timeoutMs: 30000 });
  } catch (e) {
    await stopProcess(entry);
    throw new Error(`unbound did not start: ${e.message}\n${tailLog(entry)}`);
  }
  return s;
}

export async function startNodeCeiling(ctx, { cpu = ctx.serverCpu } = {}) {
  const port = await freePort();
  const entry = startProcess('node', process.execPath, [path.join(HERE, 'dns-static.mjs'), '--port', String(port), '--expect', ctx.expectFile], { cpu, logDir: ctx.logDir });
  const s = { name: 'node', entry, port, startedAt: performance.now() };
  try {
    s.startupMs = await waitReady(entry, port, { timeoutMs: 30000 });
  } catch (e) {
    await stopProcess(entry);
    throw new Error(`node ceiling did not start: ${e.message}\n${tailLog(entry)}`);
  }
  return s;
}
