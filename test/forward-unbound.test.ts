// forward against a real recursive server: unbound on 127.0.0.1 with a random port, answering
// only from static local data (no forwarding, no network access), started and killed here.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dgram from 'node:dgram';
import net from 'node:net';
import { startServer, query, type RunningServer } from './harness.js';

function findUnbound(): string | null {
  for (const p of ['/usr/sbin/unbound', '/usr/local/sbin/unbound', '/usr/bin/unbound']) if (existsSync(p)) return p;
  const w = spawnSync('sh', ['-c', 'command -v unbound'], { encoding: 'utf8' });
  return w.status === 0 && w.stdout.trim() ? w.stdout.trim() : null;
}

/** unbound's path; installs it with apt-get when missing and running as root. */
function unboundBinary(): { bin: string | null; why?: string } {
  let bin = findUnbound();
  if (bin) return { bin };
  if (process.getuid?.() !== 0) return { bin: null, why: 'unbound is not installed and we are not root to apt-get install it' };
  const opts = { stdio: 'ignore' as const, timeout: 240_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  if (spawnSync('apt-get', ['install', '-y', 'unbound'], opts).status !== 0) {
    spawnSync('apt-get', ['update'], opts);
    spawnSync('apt-get', ['install', '-y', 'unbound'], opts);
  }
  bin = findUnbound();
  return bin ? { bin } : { bin: null, why: '`apt-get install -y unbound` failed' };
}

const { bin: UNBOUND, why } = unboundBinary();
if (!UNBOUND) console.warn(`forward-unbound: skipping the real-upstream test: ${why}`);

/** A port free for both UDP and TCP on 127.0.0.1 (closed again before unbound binds it). */
async function freePort(): Promise<number> {
  for (;;) {
    const u = dgram.createSocket('udp4');
    const port = await new Promise<number>((r) => u.bind(0, '127.0.0.1', () => r(u.address().port)));
    const t = net.createServer();
    const ok = await new Promise<boolean>((r) => {
      t.once('error', () => r(false));
      t.listen(port, '127.0.0.1', () => r(true));
    });
    await new Promise<void>((r) => u.close(() => r()));
    if (ok) {
      await new Promise<void>((r) => t.close(() => r()));
      return port;
    }
  }
}

describe.skipIf(!UNBOUND)('forward to a real unbound upstream', () => {
  let dir: string;
  let proc: ChildProcess | null = null;
  let port = 0;
  let kdns: RunningServer | null = null;
  let stderr = '';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kdns-unbound-'));
    port = await freePort();
    const conf = path.join(dir, 'unbound.conf');
    writeFileSync(conf, `server:
  interface: 127.0.0.1
  port: ${port}
  do-ip4: yes
  do-ip6: no
  do-udp: yes
  do-tcp: yes
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 0
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: ""
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  local-zone: "kdns.test." static
  local-data: "kdns.test. 3600 IN SOA ns.kdns.test. hostmaster.kdns.test. 1 3600 600 86400 60"
  local-data: "www.kdns.test. 300 IN A 192.0.2.10"
  local-data: "www.kdns.test. 300 IN AAAA 2001:db8::10"
  local-data: 'www.kdns.test. 300 IN TXT "served by unbound"'
  local-data: "mail.kdns.test. 300 IN MX 10 mx.kdns.test."
remote-control:
  control-enable: no
`);
    proc = spawn(UNBOUND!, ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (d) => { stderr += d; });
    // Wait until it answers.
    const end = Date.now() + 15_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`unbound exited: ${stderr}`);
      try {
        const r = await query(port, 'www.kdns.test', 'A', { timeoutMs: 300 });
        if (r.rcode === 'NOERROR') break;
      } catch { /* not up yet */ }
      if (Date.now() > end) throw new Error(`unbound did not answer on port ${port}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    kdns = await startServer(`.:0 {\n  forward . 127.0.0.1:${port}\n}\n`);
  }, 60_000);

  afterAll(async () => {
    await kdns?.close();
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('relays A, AAAA, TXT and MX answers over UDP and TCP', async () => {
    const a = await query(kdns!.port, 'www.kdns.test', 'A');
    expect(a.rcode).toBe('NOERROR');
    expect(a.flag_aa).toBe(true);
    expect(a.answers).toMatchObject([{ name: 'www.kdns.test', type: 'A', ttl: 300, data: '192.0.2.10' }]);
    const aaaa = await query(kdns!.port, 'www.kdns.test', 'AAAA', { tcp: true });
    expect(aaaa.answers?.map((r: any) => r.data)).toEqual(['2001:db8::10']);
    const txt = await query(kdns!.port, 'www.kdns.test', 'TXT', { udpSize: 1232 });
    expect(txt.answers?.map((r: any) => String((r.data as Buffer[])[0]))).toEqual(['served by unbound']);
    const mx = await query(kdns!.port, 'mail.kdns.test', 'MX');
    expect(mx.answers?.map((r: any) => r.data)).toEqual([{ preference: 10, exchange: 'mx.kdns.test' }]);
  });

  it('relays NXDOMAIN with the SOA and NODATA', async () => {
    const nx = await query(kdns!.port, 'missing.kdns.test', 'A');
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(nx.authorities?.[0]).toMatchObject({ type: 'SOA', name: 'kdns.test' });
    const nodata = await query(kdns!.port, 'mail.kdns.test', 'A');
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
  });

  it('keeps the question case the client used', async () => {
    const r = await query(kdns!.port, 'WWW.Kdns.TEST', 'A');
    expect(r.questions?.[0].name).toBe('WWW.Kdns.TEST');
    expect(r.answers?.map((x: any) => x.data)).toEqual(['192.0.2.10']);
  });
});
