#!/usr/bin/env -S node --max-semi-space-size=4
// (A 4 MB young generation instead of V8's 16 MB default: ~26 MB less RSS for a large cluster,
// within noise on QPS; see bench/results. `npm start` and the image's entrypoint pass it too.)
// kdns command line: flags as CoreDNS (-conf, -dns.port/-p, -version, -plugins, -quiet) and
// -workers, then start the server and wire signals. Nothing else lives here; `-workers N` with N > 1
// runs this same file as the cluster primary and in every worker (src/server/workers.ts).

import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { KdnsServer, DEFAULT_COREFILE } from './server/server.js';
import { PLUGINS, pluginNames } from './plugins/registry.js';
import { createLogger } from './log/logger.js';
import { VERSION, REVISION, RUNTIME } from './version.js';
import { ConfigError } from './corefile/types.js';
import { recordReload } from './plugins/reload/index.js';
import { metricsObserver, markEnabledPlugins } from './plugins/prometheus/index.js';
import { listenLines, resolveWorkers, runPrimary, runWorker, workerInformers } from './server/workers.js';

interface Flags {
  conf: string;
  confGiven: boolean;
  port: number;
  version: boolean;
  plugins: boolean;
  quiet: boolean;
  /** Socket worker processes; 1 = this process serves (default), 0 = one per available CPU. */
  workers: number;
}

const BOOL_FLAGS = new Set(['version', 'plugins', 'quiet']);
const VALUE_FLAGS = new Set(['conf', 'dns.port', 'p', 'pidfile', 'log', 'workers']);

export function parseFlags(argv: string[]): Flags {
  const f: Flags = { conf: 'Corefile', confGiven: false, port: 53, version: false, plugins: false, quiet: false, workers: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) throw new Error(`unexpected argument "${a}"`);
    let name = a.replace(/^--?/, '');
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (BOOL_FLAGS.has(name)) {
      const on = value === undefined ? true : /^(1|t|true|T|TRUE|True)$/.test(value);
      if (name === 'version') f.version = on;
      else if (name === 'plugins') f.plugins = on;
      else f.quiet = on;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new Error(`flag provided but not defined: -${name}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new Error(`flag needs an argument: -${name}`);
      value = argv[++i];
    }
    if (name === 'conf') {
      f.conf = value;
      f.confGiven = true;
    } else if (name === 'dns.port' || name === 'p') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid value "${value}" for flag -${name}: not a port`);
      f.port = n;
    } else if (name === 'workers') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`invalid value "${value}" for flag -${name}: not a number of workers`);
      f.workers = n;
    }
  }
  return f;
}

async function main(): Promise<number> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nUsage: kdns [-conf FILE] [-dns.port PORT] [-version] [-plugins] [-quiet] [-workers N]\n`);
    return 2;
  }
  if (flags.version) {
    process.stdout.write(versionText());
    return 0;
  }
  if (flags.plugins) {
    process.stdout.write(`Server types:\n  dns\n\nCaddyfile loaders:\n  flag\n  default\n\nOther plugins:\n${pluginNames().map((n) => `  dns.${n}\n`).join('')}`);
    return 0;
  }
  const log = createLogger();
  const conf = path.resolve(flags.conf);
  let corefileText: string | undefined;
  if (!existsSync(conf)) {
    if (flags.confGiven) {
      process.stderr.write(`open ${flags.conf}: no such file or directory\n`);
      return 1;
    }
    corefileText = DEFAULT_COREFILE;
  }
  const workers = resolveWorkers(flags.workers);
  if (cluster.isPrimary && workers > 1) {
    process.env.KDNS_DEFAULT_PORT = String(flags.port);
    return runPrimary({ workers, log, quiet: flags.quiet, banner: (lines) => lines.map((l) => `${l}\n`).join('') + versionText() });
  }
  const server = new KdnsServer({
    corefile: conf,
    corefileText,
    defaultPort: flags.port,
    definitions: PLUGINS,
    log,
    observer: metricsObserver,
    onActivate: markEnabledPlugins,
    ...(cluster.isWorker ? { informers: workerInformers(log), exclusiveBind: false } : {}),
  });
  process.env.KDNS_DEFAULT_PORT = String(flags.port);
  if (cluster.isWorker) {
    return runWorker(server, { log, reload: () => void reloadNow(server, log), started: () => recordReload({ hash: server.hash }) });
  }
  try {
    await server.start();
  } catch (e) {
    const msg = e instanceof ConfigError ? e.message : (e as Error).message;
    process.stderr.write(`${msg}\n`);
    await server.stop().catch(() => {});
    return 1;
  }
  recordReload({ hash: server.hash });
  if (!flags.quiet) {
    for (const l of listenLines(server)) process.stdout.write(`${l}\n`);
    process.stdout.write(versionText());
  }
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${sig}: Shutting down`);
    await server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGQUIT', () => process.exit(0));
  process.on('SIGHUP', () => {});
  process.on('SIGUSR1', () => void reloadNow(server, log));
  server.process.requestReload = () => void reloadNow(server, log);
  return -1;
}

function versionText(): string {
  return `kdns-${VERSION}\n${process.platform}/${process.arch}, ${RUNTIME}${REVISION ? `, ${REVISION}` : ''}\n`;
}

let reloading = false;
export async function reloadNow(server: KdnsServer, log: ReturnType<typeof createLogger>) {
  if (reloading) return;
  reloading = true;
  try {
    const r = await server.reload();
    if (r === 'reloaded') {
      recordReload({ hash: server.hash });
      log.info('Reloading');
      log.info(`plugin/reload: Running configuration SHA512 = ${server.hash}`);
      log.info('Reloading complete');
    }
  } catch (e) {
    recordReload({ error: e as Error });
    log.error(`Corefile changed but reload failed: ${(e as Error).message}`);
  } finally {
    reloading = false;
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e) => {
    process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
  },
);
