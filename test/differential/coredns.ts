// The real CoreDNS binary for differential tests: where it is (env KDNS_COREDNS, else
// ~/.cache/kdns/coredns), and a child process that is always stopped by PID.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProcess, type KdnsProcess } from '../procs.js';

/** Path of the CoreDNS binary, or null when it is not installed. */
export function corednsBinary(): string | null {
  const p = process.env.KDNS_COREDNS || path.join(os.homedir(), '.cache', 'kdns', 'coredns');
  return existsSync(p) ? p : null;
}

/** Start `coredns -conf FILE`; the same interface as startKdnsProcess. */
export function startCorednsProcess(bin: string, conf: string, cwd: string): KdnsProcess {
  // health's lameduck (5 s in the kubeadm profile) delays the exit; do not wait for longer.
  return startProcess(bin, ['-conf', conf], { cwd, killAfterMs: 7000 });
}

/** `[major, minor, patch]` of the binary (`coredns -version`), or null when unknown. */
export function corednsVersion(bin: string): [number, number, number] | null {
  try {
    const out = execFileSync(bin, ['-version'], { encoding: 'utf8', timeout: 10000 });
    const m = /CoreDNS-(\d+)\.(\d+)\.(\d+)/.exec(out);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
  } catch {
    return null;
  }
}
