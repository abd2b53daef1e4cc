// The plugin contract. A plugin is created once per server block from its Corefile directive
// (setup validates every option and throws a ConfigError with file:line), then handles queries:
// answer, or call `next`. Answer synchronously when nothing needs waiting.

import type { Directive } from '../corefile/types.js';
import type { DnsRequest, DnsResponse } from '../dns/message.js';
import type { Informers } from '../informer/types.js';

export type Result = DnsResponse | Promise<DnsResponse>;
export type Handler = (req: DnsRequest) => Result;

export interface Plugin {
  name: string;
  /** DNS handler; omitted by plugins that only run something beside the server (health, ready, reload). */
  handle?(req: DnsRequest, next: Handler): Result;
  /** The plugin is safe on the answer fast path: it either has no per-query side effect or leaves
   *  a replay in `req.fastReplays` (see src/server/fastpath.ts). Others see every query. */
  fastAware?: boolean;
  /** Readiness for the `ready` plugin; plugins without it are not asked. */
  ready?(): boolean;
  /** Called once the whole config is set up and listeners are bound (start HTTP servers, probes). */
  start?(): void | Promise<void>;
  /** start() needs no DNS listener (HTTP endpoints): it runs (Instance.prepare) before the server waits for settle()
   *  and begins serving DNS, as CoreDNS runs health/ready/prometheus startup hooks before the
   *  kubernetes plugin's sync wait (so /health is 200 and /ready 503 while it waits). */
  early?: boolean;
  /** A wait the server observes before it serves DNS with this configuration (CoreDNS's blocking
   *  OnStartup hooks: the kubernetes plugin waits for its informer up to startup_timeout). */
  settle?(): Promise<void>;
  /** First shutdown phase on SIGTERM/SIGINT (CoreDNS OnShutdown hooks run in plugin order). */
  shutdown?(): void | Promise<void>;
  /** Release everything (sockets, timers, watches). Called on shutdown and on reload for the old config. */
  close?(): void | Promise<void>;
}

/** What a server block looks like to its plugins. */
export interface BlockInfo {
  /** All zones of the block (normalised, absolute, lower case). */
  zones: string[];
  /** Listener port of the block. */
  port: number;
  /** Metrics `server` label: `dns://:53`. */
  server: string;
  /** Addresses the block binds to (filled by `bind`; empty = all interfaces). Mutable during setup. */
  bind: string[];
  /** Path of the Corefile (imports and relative files resolve against its directory). */
  corefile: string;
  /** The port actually bound (differs from `port` when the Corefile says 0); valid from start(). */
  boundPort?: () => number;
}

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

export interface SetupContext {
  block: BlockInfo;
  /** Shared Kubernetes informers (one per API connection), for kubernetes, k8s_external, autopath. */
  informers: Informers;
  log: Logger;
  /** Resolve a name through this server's own plugin chains (re-entering zone routing), as CoreDNS
   *  plugins do for CNAME targets. `from` supplies transport/client details of the original query. */
  lookup(name: string, qtype: number, from: DnsRequest): Promise<DnsResponse>;
  /** Other plugins already set up in this block, by name (autopath finds kubernetes this way). */
  peer(name: string): Plugin | undefined;
  /** Every plugin of this block in chain order (complete from start() on; repeated plugins too). */
  peers?(): Plugin[];
  /** Process-wide state that outlives reloads (HTTP listeners shared by address, metrics). */
  process: ProcessContext;
}

export interface ProcessContext {
  /** True while the server is going through a reload (health: no lameduck on reload). */
  reloading: boolean;
  /** Registered by reload: ask the process to reload the Corefile now. */
  requestReload?: () => void;
}

export interface PluginDefinition {
  name: string;
  /** Build the plugin for one server block. May be async (e.g. waiting for an informer sync). */
  setup(d: Directive, ctx: SetupContext): Plugin | Promise<Plugin>;
}
