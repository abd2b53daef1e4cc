// Shared helpers for the benchmark: tracked child processes (always stopped by PID, also on
// failure and on SIGINT), free ports, /proc readings, a tiny DNS client and machine facts.

import { spawn, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Child processes

const children = new Map(); // pid -> {name, proc}
let handlersInstalled = false;

function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Last resort: synchronous SIGKILL of every child still alive when this process exits.
  process.on('exit', () => {
    for (const pid of children.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
  const onSignal = (sig) => {
    process.stderr.write(`\nbench: ${sig}, stopping ${children.size} child process(es)\n`);
    stopAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('uncaughtException', (e) => {
    process.stderr.write(`bench: uncaught exception: ${e?.stack ?? e}\n`);
    stopAll().finally(() => process.exit(1));
  });
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`bench: unhandled rejection: ${e?.stack ?? e}\n`);
    stopAll().finally(() => process.exit(1));
  });
}

let tasksetOk = null;
export function haveTaskset() {
  if (tasksetOk === null) {
    try {
      execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
      tasksetOk = true;
    } catch {
      tasksetOk = false;
    }
  }
  return tasksetOk;
}

export function ncpu() {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Prefix for pinning to one CPU, or [] when pinning is impossible (1 core, no taskset). */
export function pinArgs(cpu) {
  if (cpu == null || ncpu() < 2 || !haveTaskset()) return [];
  return ['taskset', '-c', String(cpu)];
}

/**
 * Start a tracked child. taskset execs the command, so the PID is that of the program itself.
 * stdout/stderr go to `${logDir}/${name}.log`.
 */
export function startProcess(name, cmd, args, { cpu = null, env = {}, logDir, cwd } = {}) {
  installHandlers();
  const argv = [...pinArgs(cpu), cmd, ...args];
  const logFile = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(logFile, 'a');
  fs.writeSync(fd, `# ${new Date().toISOString()} ${argv.join(' ')}\n`);
  const proc = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...env },
    cwd,
  });
  fs.closeSync(fd);
  if (!proc.pid) throw new Error(`cannot start ${name}: ${argv.join(' ')}`);
  const entry = { name, proc, pid: proc.pid, logFile, exited: null };
  children.set(proc.pid, entry);
  entry.exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      entry.exited = { code, signal };
      children.delete(proc.pid);
      resolve(entry.exited);
    });
    proc.on('error', (e) => {
      entry.exited = { code: -1, signal: null, error: e };
      children.delete(proc.pid);
      resolve(entry.exited);
    });
  });
  return entry;
}

/** Stop one child by its PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(entry, graceMs = 1000) {
  if (!entry || entry.exited) return;
  try {
    process.kill(entry.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = await Promise.race([entry.exitPromise, sleep(graceMs).then(() => 'timeout')]);
  if (t === 'timeout' && !entry.exited) {
    try {
      process.kill(entry.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await Promise.race([entry.exitPromise, sleep(2000)]);
  }
}

export async function stopAll() {
  await Promise.all([...children.values()].map((e) => stopProcess(e)));
}

export function tailLog(entry, lines = 15) {
  try {
    return fs.readFileSync(entry.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Run a command to completion (tracked, so it is killed on abort); resolves {code, stdout}. */
export function runCapture(name, cmd, args, { cpu = null, logDir, timeoutMs = 0 } = {}) {
  installHandlers();
  const argv = [...pinArgs(cpu), cmd, ...args];
  return new Promise((resolve) => {
    const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const entry = { name, proc, pid: proc.pid, exited: null };
    children.set(proc.pid, entry);
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    let timer = null;
    if (timeoutMs > 0) timer = setTimeout(() => stopProcess(entry, 500), timeoutMs);
    entry.exitPromise = new Promise((res) => proc.on('close', res));
    proc.on('close', (code) => {
      clearTimeout(timer);
      entry.exited = { code };
      children.delete(proc.pid);
      if (logDir) fs.appendFileSync(path.join(logDir, `${name}.log`), `# ${argv.join(' ')}\n${out}${err}\n`);
      resolve({ code, stdout: out, stderr: err, entry });
    });
    proc.on('error', (e) => {
      children.delete(proc.pid);
      resolve({ code: -1, stdout: out, stderr: String(e), entry });
    });
  });
}

/** Start a command in the background, returning {entry, done: Promise<{code, stdout}>}. */
export function runBackground(name, cmd, args, opts = {}) {
  const argv = [...pinArgs(opts.cpu), cmd, ...args];
  installHandlers();
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const entry = { name, proc, pid: proc.pid, exited: null };
  children.set(proc.pid, entry);
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  entry.exitPromise = new Promise((res) => proc.on('close', res));
  const done = new Promise((resolve) => {
    proc.on('close', (code) => {
      entry.exited = { code };
      children.delete(proc.pid);
      resolve({ code, stdout: out });
    });
  });
  return { entry, done };
}

// ---------------------------------------------------------------------------------------------
// Ports

/** A port free on 127.0.0.1 for both TCP and UDP. */
export async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    const udpOk = await new Promise((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '0.0.0.0', () => u.close(() => resolve(true)));
    });
    const tcpAllOk = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
    });
    if (udpOk && tcpAllOk && !usedPorts.has(port)) {
      usedPorts.add(port);
      return port;
    }
  }
  throw new Error('no free port');
}
const usedPorts = new Set();

// ---------------------------------------------------------------------------------------------
// /proc

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime+stime of a process (all threads) in microseconds, or null. */
export function cpuMicros(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime = field 14, stime = field 15
    const ticks = Number(rest[11]) + Number(rest[12]);
    return (ticks * 1e6) / CLK_TCK;
  } catch {
    return null;
  }
}

/** VmRSS in MB (1 MB = 2^20 bytes), or null. */
export function rssMB(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(s);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Minimal DNS client (queries only A/AAAA/SRV/TXT; answers decoded just enough)

const TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, HINFO: 13 };
export const QTYPE = TYPES;

export function encodeName(name) {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  const bufs = [];
  for (const p of parts) {
    const b = Buffer.from(p, 'latin1');
    bufs.push(Buffer.from([b.length]), b);
  }
  bufs.push(Buffer.from([0]));
  return Buffer.concat(bufs);
}

export function buildQuery(id, name, type = 'A', rd = true) {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(rd ? 0x0100 : 0, 2);
  h.writeUInt16BE(1, 4);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(TYPES[type] ?? Number(type), 0);
  q.writeUInt16BE(1, 2);
  return Buffer.concat([h, encodeName(name), q]);
}

function skipName(buf, off) {
  for (;;) {
    const len = buf[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += len + 1;
  }
}

/** Decode rcode and answer-section A/AAAA addresses (sorted). */
export function parseReply(buf) {
  const id = buf.readUInt16BE(0);
  const rcode = buf[3] & 0x0f;
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let off = 12;
  for (let i = 0; i < qd; i++) off = skipName(buf, off) + 4;
  const addrs = [];
  for (let i = 0; i < an; i++) {
    off = skipName(buf, off);
    const type = buf.readUInt16BE(off);
    const rdlen = buf.readUInt16BE(off + 8);
    off += 10;
    if (type === 1 && rdlen === 4) addrs.push(`${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`);
    else if (type !== 1) addrs.push(`type${type}`);
    off += rdlen;
  }
  addrs.sort();
  return { id, rcode, ancount: an, addrs };
}

export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** A UDP client for polling: query(name, type, timeoutMs) -> reply | null. */
export function dnsClient(port, host = '127.0.0.1') {
  const sock = dgram.createSocket('udp4');
  const pending = new Map();
  let nextId = Math.floor(Math.random() * 65535);
  sock.on('message', (msg) => {
    if (msg.length < 12) return;
    const id = msg.readUInt16BE(0);
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    clearTimeout(p.timer);
    try {
      p.resolve(parseReply(msg));
    } catch {
      p.resolve(null);
    }
  });
  sock.on('error', () => {});
  sock.unref();
  return {
    query(name, type = 'A', timeoutMs = 1000) {
      const id = (nextId = (nextId + 1) & 0xffff);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve(null);
        }, timeoutMs);
        pending.set(id, { resolve, timer });
        sock.send(buildQuery(id, name, type), port, host);
      });
    },
    close() {
      for (const p of pending.values()) clearTimeout(p.timer);
      try {
        sock.close();
      } catch {
        /* closed */
      }
    },
  };
}

/** Wait until `name` answers NOERROR with at least one record. Returns ms waited. */
export async function waitForAnswer(port, name, { timeoutMs = 60000, intervalMs = 20, isAlive = () => true } = {}) {
  const c = dnsClient(port);
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < timeoutMs) {
      if (!isAlive()) throw new Error('process exited');
      const r = await c.query(name, 'A', 200);
      if (r && r.rcode === 0 && r.ancount > 0) return performance.now() - t0;
      await sleep(intervalMs);
    }
  } finally {
    c.close();
  }
  throw new Error(`no answer for ${name} on port ${port} within ${timeoutMs} ms`);
}

export function httpGetStatus(url, timeoutMs = 500) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
    req.on('error', () => resolve(0));
  });
}

// ---------------------------------------------------------------------------------------------
// Statistics and machine facts

export function median(xs) {
  const v = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function percentile(xs, p) {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!v.length) return null;
  const i = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1));
  return v[i];
}

export function machineInfo() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  let memTotal = `${Math.round(os.totalmem() / 2 ** 20)} MB`;
  return {
    nproc: ncpu(),
    cpuModel,
    memTotal,
    node: process.version,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    taskset: haveTaskset() && ncpu() >= 2,
    loadavg: os.loadavg(),
  };
}

export function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}
