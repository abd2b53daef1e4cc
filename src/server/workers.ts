// `kdns -workers N`: one primary process and N socket workers (node:cluster).
//
// Why this shape: DNS answering is CPU-bound per query and Node runs JavaScript on one core, so
// the queries are spread over processes; but N copies of the API watches would multiply the load
// on the API server (and N clusters' worth of memory churn for every Endpoints update). So:
// - the primary parses flags, forks the workers, and runs the real informers (one list/watch per
//   resource); it serves them to the workers as replicas (src/informer/replica.ts): an initial
//   snapshot, then each informer batch as a compact diff. The primary answers no queries.
// - each worker runs a KdnsServer as the single process does, with replica informers, so plugins
//   see the ordinary Informer interface. Its binds are non-exclusive, which in a cluster worker
//   means the primary owns the sockets: every worker reads the one shared UDP socket, the primary
//   hands out TCP connections round-robin, and the HTTP listeners (health, ready, /metrics) are
//   shared the same way. /metrics aggregates every process (src/metrics/cluster.ts).
// - signals go to the primary: SIGTERM/SIGINT run every worker's shutdown (lameduck included)
//   and the primary exits 0 once all have exited; SIGUSR1 reloads every worker. A worker that
//   dies otherwise is forked again with backoff and starts from a fresh snapshot.
// - startup: the primary prints the banner once all workers serve; the first startup error (a
//   Corefile mistake with file:line) is printed once and the whole process exits 1.
//
// Not done here: SO_REUSEPORT UDP sockets per worker (kernel load balancing instead of one shared
// socket) need Node >= 22.12 (`dgram` reusePort); worth measuring once we require it.

import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { ConfigError } from '../corefile/types.js';
import { Backoff } from '../informer/backoff.js';
import { createInformers } from '../informer/informer.js';
import { createReplicaInformers, serveReplicas, type Channel, type ReplicaMessage } from '../informer/replica.js';
import type { Informers } from '../informer/types.js';
import { installWorkerListener, serveWorkerMetrics } from '../metrics/cluster.js';
import type { Logger } from '../plugins/types.js';
import type { KdnsServer } from './server.js';
import { WORKER_SLOT_ENV } from './worker-slot.js';

type ControlMessage =
  | { kdns: 'worker.started'; lines: string[] }
  | { kdns: 'worker.fatal'; message: string }
  | { kdns: 'worker.stop'; signal: string }
  | { kdns: 'worker.reload' };

function isControl(m: unknown): m is ControlMessage {
  return typeof m === 'object' && m !== null && typeof (m as { kdns?: unknown }).kdns === 'string' &&
    (m as { kdns: string }).kdns.startsWith('worker.');
}

/** `-workers 0` = as many as CPUs available to this process. */
export function resolveWorkers(n: number): number {
  if (n > 0) return n;
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length || 1;
}

/** `zone:port` lines of the running configuration (the banner's first part). */
export function listenLines(server: KdnsServer): string[] {
  const out: string[] = [];
  for (const b of server.instance?.blocks ?? []) for (const z of b.zones) out.push(`${z}:${b.port}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Worker

/** Replica informers fed by the primary over this worker's IPC channel. */
export function workerInformers(log: Logger): Informers {
  const channel: Channel = {
    send: (msg) => process.send!(msg),
    onMessage(fn) {
      process.on('message', fn);
      return () => process.off('message', fn);
    },
  };
  return createReplicaInformers(channel, log);
}

export interface WorkerHooks {
  log: Logger;
  /** Reload the Corefile now (SIGUSR1 to the primary, or to this worker). */
  reload(): void;
  /** After the first successful start. */
  started?(): void;
}

/** Run `server` as a cluster worker until the primary says stop. Startup errors go to the primary
 *  (which prints one of them), not to our stderr. Resolves -1: the process keeps running. */
export async function runWorker(server: KdnsServer, hooks: WorkerHooks): Promise<number> {
  installWorkerListener();
  let started = false;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (!started) return; // start() is still running; we stop once it is done
    await server.stop().catch((e: unknown) => hooks.log.error(`shutdown: ${(e as Error)?.message ?? e}`));
    process.exit(0);
  };
  process.on('message', (m: unknown) => {
    if (!isControl(m)) return;
    if (m.kdns === 'worker.stop') void stop();
    else if (m.kdns === 'worker.reload' && started && !stopping) hooks.reload();
  });
  // Direct signals (a terminal's Ctrl-C reaches the whole process group) behave as in one process.
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.on('SIGQUIT', () => process.exit(0));
  process.on('SIGHUP', () => {});
  process.on('SIGUSR1', () => started && !stopping && hooks.reload());
  server.process.requestReload = () => hooks.reload();

  try {
    await server.start();
  } catch (e) {
    const message = e instanceof ConfigError ? e.message : (e as Error)?.message ?? String(e);
    await server.stop().catch(() => {});
    process.send!({ kdns: 'worker.fatal', message } satisfies ControlMessage, () => process.exit(1));
    return -1;
  }
  started = true;
  hooks.started?.();
  if (stopping) {
    stopping = false;
    await stop();
    return -1;
  }
  process.send!({ kdns: 'worker.started', lines: listenLines(server) } satisfies ControlMessage);
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Primary

export interface PrimaryOptions {
  workers: number;
  log: Logger;
  quiet: boolean;
  /** The banner, given the `zone:port` lines of the configuration the workers run. */
  banner(lines: string[]): string;
}

/** How long a worker must have run for its slot's restart backoff to start over. */
const HEALTHY_MS = 30_000;

interface Slot {
  index: number;
  worker: Worker | null;
  channel: Channel | null;
  backoff: Backoff;
  startedAt: number;
  timer: NodeJS.Timeout | null;
}

/** Fork `workers` workers, serve them the informers, relay signals. Resolves -1 (keeps running);
 *  the process exits from here: 0 after a clean shutdown, 1 when startup failed. */
export async function runPrimary(opts: PrimaryOptions): Promise<number> {
  const { log } = opts;
  const informers = createInformers({ log });
  const replicas = serveReplicas(informers, log);
  const slots: Slot[] = Array.from({ length: opts.workers }, (_, index) => ({
    index,
    worker: null,
    channel: null,
    backoff: new Backoff(500, 30_000),
    startedAt: 0,
    timer: null,
  }));
  let initialPending = opts.workers; // workers yet to report their first start
  let firstLines: string[] | null = null;
  let stopping = false;
  let failing = false;

  const live = () => slots.filter((s) => s.worker !== null);

  const exitWhenAllGone = (code: number) => {
    if (live().length === 0) process.exit(code);
  };

  /** Startup failed: print the first error once, take every worker down, exit 1. */
  const failStartup = (message: string) => {
    if (failing) return;
    failing = true;
    stopping = true;
    process.stderr.write(`${message}\n`);
    for (const s of slots) {
      if (s.timer) clearTimeout(s.timer);
      s.worker?.process.kill('SIGKILL');
    }
    exitWhenAllGone(1);
  };

  const fork = (slot: Slot) => {
    slot.timer = null;
    const w = cluster.fork({ [WORKER_SLOT_ENV]: String(slot.index) });
    const channel: Channel = {
      send: (msg: ReplicaMessage) => {
        if (w.isConnected()) w.send(msg);
      },
      onMessage(fn) {
        w.on('message', fn);
        return () => w.off('message', fn);
      },
    };
    // A send to a worker that has just died fails (EPIPE) before its 'exit' arrives; the exit
    // handler below restarts it, so the error is only noted. Unhandled, it would end the primary
    // and with it every other worker.
    w.on('error', (e: Error) => log.debug(`worker ${slot.index}: ${e.message}`));
    slot.worker = w;
    slot.channel = channel;
    slot.startedAt = 0;
    replicas.attach(channel);
    serveWorkerMetrics(w);
    let fatal: string | null = null;
    w.on('message', (m: unknown) => {
      if (!isControl(m)) return;
      if (m.kdns === 'worker.fatal') {
        fatal = m.message;
        if (initialPending > 0) failStartup(m.message);
        else log.error(`worker ${slot.index}: ${m.message}`);
      } else if (m.kdns === 'worker.started') {
        slot.startedAt = Date.now();
        if (stopping) {
          w.send({ kdns: 'worker.stop', signal: 'SIGTERM' } satisfies ControlMessage);
          return;
        }
        if (initialPending > 0) {
          firstLines ??= m.lines;
          if (--initialPending === 0 && !opts.quiet) process.stdout.write(opts.banner(firstLines));
        }
      }
    });
    w.on('exit', (code, signal) => {
      replicas.detach(channel);
      slot.worker = null;
      slot.channel = null;
      if (stopping) {
        exitWhenAllGone(failing ? 1 : 0);
        return;
      }
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (initialPending > 0 && slot.startedAt === 0) {
        failStartup(fatal ?? `worker ${slot.index} exited with ${how} during startup`);
        return;
      }
      if (slot.startedAt && Date.now() - slot.startedAt >= HEALTHY_MS) slot.backoff.reset();
      const delay = slot.backoff.next();
      log.error(`worker ${slot.index} (pid ${w.process.pid}) exited with ${how}; restarting in ${delay} ms`);
      slot.timer = setTimeout(() => fork(slot), delay);
    });
  };

  const stopAll = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${sig}: Shutting down`);
    for (const s of slots) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
      if (s.worker?.isConnected()) s.worker.send({ kdns: 'worker.stop', signal: sig } satisfies ControlMessage);
    }
    exitWhenAllGone(0);
  };

  process.on('SIGTERM', () => stopAll('SIGTERM'));
  process.on('SIGINT', () => stopAll('SIGINT'));
  process.on('SIGQUIT', () => {
    for (const s of slots) s.worker?.process.kill('SIGKILL');
    process.exit(0);
  });
  process.on('SIGHUP', () => {});
  process.on('SIGUSR1', () => {
    for (const s of live()) if (s.worker?.isConnected()) s.worker.send({ kdns: 'worker.reload' } satisfies ControlMessage);
  });

  for (const s of slots) fork(s);
  return -1;
}
