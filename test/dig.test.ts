// What a developer sees with dig against `npm start`'s configuration (Corefile.example answering
// from examples/cluster.yaml), on a free port.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, repoRoot, startKdnsProcess, waitForDns, type KdnsProcess } from './procs.js';

const hasDig = spawnSync('sh', ['-c', 'command -v dig'], { stdio: 'ignore' }).status === 0;
if (!hasDig) console.warn('dig not installed (bind9-dnsutils): skipping dig tests');

describe.skipIf(!hasDig)('dig against the example configuration', () => {
  let p: KdnsProcess;
  let port: number;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-dig-'));

  beforeAll(async () => {
    port = await freePort();
    const ports = [await freePort(), await freePort(), await freePort()];
    let text = readFileSync(path.join(repoRoot, 'Corefile.example'), 'utf8');
    text = text
      .replace('.:1053', `.:${port}`)
      .replace('127.0.0.1:8080', `127.0.0.1:${ports[0]}`)
      .replace('127.0.0.1:8181', `127.0.0.1:${ports[1]}`)
      .replace('127.0.0.1:9153', `127.0.0.1:${ports[2]}`)
      .replace('snapshot examples/cluster.yaml', `snapshot ${path.join(repoRoot, 'examples', 'cluster.yaml')}`)
      // No real upstream in tests: forward to a closed local port instead of /etc/resolv.conf.
      .replace('forward . /etc/resolv.conf', `forward . 127.0.0.1:9`);
    const f = path.join(dir, 'Corefile');
    writeFileSync(f, text);
    p = startKdnsProcess(['-conf', f, '-quiet']);
    await waitForDns(port, p);
  }, 30000);

  afterAll(async () => {
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const dig = (...args: string[]) => execFileSync('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args], { encoding: 'utf8' });

  it('answers the kubernetes Service ClusterIP', () => {
    expect(dig('+short', 'kubernetes.default.svc.cluster.local').trim()).toBe('10.96.0.1');
  });

  it('answers a headless Service with one A per ready endpoint', () => {
    expect(dig('+short', 'db.shop.svc.cluster.local').trim().split('\n').sort()).toEqual(['10.244.1.30', '10.244.2.30']);
  });

  it('answers SRV with targets and glue, and a PTR for a ClusterIP', () => {
    const out = dig('_postgres._tcp.db.shop.svc.cluster.local', 'SRV');
    expect(out).toMatch(/SRV\s+0 50 5432 db-0\.db\.shop\.svc\.cluster\.local\./);
    expect(out).toMatch(/ADDITIONAL SECTION:[\s\S]*db-1\.db\.shop\.svc\.cluster\.local\.\s+30\s+IN\s+A\s+10\.244\.2\.30/);
    expect(dig('+short', '-x', '10.96.10.20').trim()).toBe('web.shop.svc.cluster.local.');
  });

  it('shows NXDOMAIN with the zone SOA for an unknown service, with aa set', () => {
    const out = dig('nosuch.shop.svc.cluster.local');
    expect(out).toMatch(/status: NXDOMAIN/);
    expect(out).toMatch(/flags: qr aa rd;/);
    expect(out).toMatch(/cluster\.local\.\s+30\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\./);
  });

  it('answers over TCP too', () => {
    expect(dig('+tcp', '+short', 'web.shop.svc.cluster.local').trim()).toBe('10.96.10.20');
  });
});
