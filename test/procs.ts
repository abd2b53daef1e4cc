// Child processes and ports for end-to-end tests: start the real `kdns` CLI (or another server,
// e.g. CoreDNS), wait for it to answer, and always stop it (by PID) when the test ends, also on failure.

import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { query } from './harness.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** ../shared beside the repo (CI clones it there); null when absent. */
export const sharedDir = (() => {
  const p = path.resolve(repoRoot, '..', 'shared');
  return existsSync(path.join(p, 'conformance', 'cases.json')) ? p : null;
})();

/** A port free for both UDP and TCP on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const tcp = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, '127.0.0.1', () => resolve((tcp.address() as net.AddressInfo).port));
    });
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((r) => tcp.close(() => r()));
    if (ok) await new Promise<void>((r) => udp.close(() => r()));
    else udp.close();
    if (ok) return port;
  }
  throw new Error('no free port');
}

export interface KdnsProcess {
  proc: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Start `command args` as a child process that is always stopped by PID (also when the test
 *  runner exits); `stop` sends `signal`, then SIGKILL after `killAfterMs`. */
export function startProcess(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; killAfterMs?: number } = {},
): KdnsProcess {
  const proc = spawn(command, args, {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => { running.delete(proc); r(code); }));
  return {
    proc,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), opts.killAfterMs ?? 10000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Start `node_modules/.bin/kdns` (the installed CLI) with these arguments. */
export function startKdnsProcess(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): KdnsProcess {
  const bin = path.join(repoRoot, 'node_modules', '.bin', 'kdns');
  // The installed CLI as an operator runs it (npm ci links it; see scripts/postbuild.mjs), started
  // with this Node so the suite can run on Node 20 and 24 alike.
  if (!existsSync(bin)) throw new Error(`${bin} missing: run npm ci (or npm run build)`);
  return startProcess(process.execPath, ['--max-semi-space-size=4', bin, ...args], opts);
}

/** Wait until the server answers a query (any rcode) on `port`. */
export async function waitForDns(port: number, p?: KdnsProcess, timeoutMs = 45000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    if (p && p.proc.exitCode !== null) throw new Error(`kdns exited with ${p.proc.exitCode}:\n${p.output()}`);
    try {
      await query(port, 'kdns-probe.invalid.', 'A', { timeoutMs: 300 });
      return;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`kdns did not answer on ${port}: ${last}\n${p?.output() ?? ''}`);
}
