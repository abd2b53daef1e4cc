// The kdns command line as an operator uses it: flags, startup errors, signals.

import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startKdnsProcess, waitForDns, type KdnsProcess } from './procs.js';
import { query } from './harness.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-cli-'));
let p: KdnsProcess | null = null;
afterEach(async () => {
  await p?.stop('SIGKILL');
  p = null;
});
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

async function exitOf(k: KdnsProcess): Promise<number | null> {
  return new Promise((r) => {
    if (k.proc.exitCode !== null) r(k.proc.exitCode);
    else k.proc.on('exit', (c) => r(c));
  });
}

describe('kdns CLI', () => {
  it('prints its version with -version', async () => {
    p = startKdnsProcess(['-version']);
    expect(await exitOf(p)).toBe(0);
    expect(p.output()).toMatch(/^kdns-\d+\.\d+\.\d+/);
  });

  it('lists its plugins with -plugins', async () => {
    p = startKdnsProcess(['-plugins']);
    expect(await exitOf(p)).toBe(0);
    expect(p.output()).toMatch(/dns\.whoami/);
  });

  it('fails with file:line and a non-zero exit on a Corefile mistake', async () => {
    const f = path.join(dir, 'Corefile.bad');
    writeFileSync(f, '.:0 {\n    whoami\n    whoareyou\n}\n');
    p = startKdnsProcess(['-conf', f]);
    expect(await exitOf(p)).not.toBe(0);
    expect(p.output()).toContain(`${f}:3 - Error during parsing: Unknown directive 'whoareyou'`);
  });

  it('fails clearly when -conf names a missing file', async () => {
    p = startKdnsProcess(['-conf', path.join(dir, 'nope')]);
    expect(await exitOf(p)).not.toBe(0);
    expect(p.output()).toMatch(/no such file/);
  });

  it('uses -dns.port for blocks without a port, serves, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const f = path.join(dir, 'Corefile.port');
    writeFileSync(f, '. {\n    whoami\n}\n');
    p = startKdnsProcess(['-conf', f, '-dns.port', String(port)]);
    await waitForDns(port, p);
    expect(p.output()).toContain(`.:${port}`);
    const r = await query(port, 'example.org.', 'A');
    expect((r as any).rcode).toBe('NOERROR');
    expect(await p.stop('SIGTERM')).toBe(0);
  });

  it('reloads a changed Corefile on SIGUSR1 and keeps the old one when the new one is broken', async () => {
    const port = await freePort();
    const f = path.join(dir, 'Corefile.reload');
    writeFileSync(f, `example.org:${port} {\n    whoami\n}\n`);
    p = startKdnsProcess(['-conf', f]);
    await new Promise((r) => setTimeout(r, 50));
    const until = Date.now() + 10000;
    while (Date.now() < until) {
      try { await query(port, 'example.org.', 'A', { timeoutMs: 200 }); break; } catch { /* not up yet */ }
    }
    expect((await query(port, 'example.net.', 'A') as any).rcode).toBe('REFUSED');
    writeFileSync(f, `example.org:${port} example.net:${port} {\n    whoami\n}\n`);
    p.proc.kill('SIGUSR1');
    await expect.poll(async () => (await query(port, 'example.net.', 'A') as any).rcode, { timeout: 5000 }).toBe('NOERROR');
    writeFileSync(f, `example.org:${port} {\n    whoami\n    broken_plugin\n}\n`);
    p.proc.kill('SIGUSR1');
    await expect.poll(() => p!.output(), { timeout: 5000 }).toMatch(/Corefile changed but reload failed/);
    expect((await query(port, 'example.net.', 'A') as any).rcode).toBe('NOERROR');
    // An empty file (an editor or a non-atomic write caught half-way) is no configuration to
    // switch to: kdns keeps serving and applies the next real change.
    writeFileSync(f, '');
    p.proc.kill('SIGUSR1');
    await expect.poll(() => p!.output(), { timeout: 5000 }).toMatch(/reload failed: .*no server blocks/);
    expect((await query(port, 'example.net.', 'A') as any).rcode).toBe('NOERROR');
    writeFileSync(f, `example.org:${port} {\n    whoami\n}\n`);
    p.proc.kill('SIGUSR1');
    await expect.poll(async () => (await query(port, 'example.net.', 'A') as any).rcode, { timeout: 5000 }).toBe('REFUSED');
  });
});
