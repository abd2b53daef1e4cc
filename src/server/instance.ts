// One running configuration: the server blocks of a Corefile turned into plugin chains, grouped
// by listener. A reload builds a new Instance and swaps it in; listeners outlive instances.

import type { ServerBlock } from '../corefile/types.js';
import { ConfigError, configErrorAt } from '../corefile/types.js';
import type { DnsRequest, DnsResponse } from '../dns/message.js';
import { emptyResponse } from '../dns/message.js';
import { RCODE } from '../dns/constants.js';
import type { Handler, Plugin, PluginDefinition, ProcessContext, Result, SetupContext, Logger } from '../plugins/types.js';
import { pluginRank, REPEATABLE } from '../plugins/order.js';
import { FastCache } from './fastpath.js';
import type { Informers } from '../informer/types.js';

export interface Block {
  zones: string[];
  port: number;
  scheme: string;
  bind: string[];
  server: string;
  plugins: Plugin[];
  /** Entry of the plugin chain (plugins with a DNS handler, in plugin.cfg order). */
  chain: Handler;
  /** True if a plugin in this block forwards or answers other classes (CoreDNS: forward/chaos). */
  anyClass: boolean;
}

/** Everything on one listen address: the blocks sharing it and their zones for routing. */
export interface ListenerGroup {
  port: number;
  /** Bind addresses (empty = all interfaces). */
  bind: string[];
  server: string;
  /** Zone -> block, for longest-suffix routing. */
  zones: Map<string, Block>;
  anyClass: boolean;
  /** Reusable replies of this listener's blocks. */
  fast: FastCache;
}

export interface InstanceDeps {
  definitions: Record<string, PluginDefinition>;
  informers: Informers;
  log: Logger;
  process: ProcessContext;
  corefile: string;
  defaultPort: number;
  /** Entry for internal lookups (set once the instance exists: routes through the live instance). */
  lookup: (name: string, qtype: number, from: DnsRequest) => Promise<DnsResponse>;
  /** The port a listener for (bind, port) actually bound, once listening. */
  boundPort?: (bind: string[], port: number) => number;
}

const noNext: Handler = () => {
  const r = emptyResponse(RCODE.SERVFAIL);
  r.error = new Error('no next plugin found');
  return r;
};

export function buildChain(plugins: Plugin[]): Handler {
  let next: Handler = noNext;
  for (let i = plugins.length - 1; i >= 0; i--) {
    const p = plugins[i];
    if (!p.handle) continue;
    const after = next;
    const handle = p.handle.bind(p);
    next = p.fastAware
      ? (req: DnsRequest): Result => handle(req, after)
      : (req: DnsRequest): Result => {
          req.noFast = true;
          return handle(req, after);
        };
  }
  return next;
}

function serverLabel(scheme: string, bind: string[], port: number): string {
  const host = bind.length ? bind[0] : '';
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export class Instance {
  readonly groups = new Map<string, ListenerGroup>();
  readonly blocks: Block[] = [];

  private constructor() {}

  static async create(serverBlocks: ServerBlock[], deps: InstanceDeps): Promise<Instance> {
    const inst = new Instance();
    const seen = new Map<string, ServerBlock>();
    try {
      for (const sb of serverBlocks) {
        for (const key of sb.keys) {
          if (key.scheme !== 'dns') {
            throw new ConfigError(`kdns serves plain DNS only; scheme ${key.scheme}:// of "${key.raw}" is not supported`, sb.file, sb.line);
          }
        }
        // One chain per server block (CoreDNS builds one per key, but they share the same config;
        // a single chain also means one cache and one informer per block).
        const zones: string[] = [];
        const ports = new Set<number>();
        for (const key of sb.keys) {
          const port = key.port ?? deps.defaultPort;
          ports.add(port);
          for (const z of key.zones) {
            const id = `${z}:${port}`;
            if (seen.has(id)) {
              throw new ConfigError(`cannot serve dns://${z}:${port} - it is already defined`, sb.file, sb.line);
            }
            seen.set(id, sb);
            if (!zones.includes(z)) zones.push(z);
          }
        }
        for (const port of ports) {
          const block = await inst.setupBlock(sb, zones, port, deps);
          inst.blocks.push(block);
        }
      }
      for (const b of inst.blocks) {
        const gkey = `${b.bind.join(',')}|${b.port}`;
        let g = inst.groups.get(gkey);
        if (!g) {
          g = { port: b.port, bind: b.bind, server: b.server, zones: new Map(), anyClass: false, fast: new FastCache() };
          inst.groups.set(gkey, g);
        }
        for (const z of b.zones) g.zones.set(z, b);
        if (b.anyClass) g.anyClass = true;
      }
    } catch (e) {
      await inst.close();
      throw e;
    }
    return inst;
  }

  private async setupBlock(sb: ServerBlock, zones: string[], port: number, deps: InstanceDeps): Promise<Block> {
    const bind: string[] = [];
    const block: Block = {
      zones,
      port,
      scheme: 'dns',
      bind,
      server: '',
      plugins: [],
      chain: noNext,
      anyClass: false,
    };
    const directives = [...sb.directives].sort((a, b) => pluginRank(a.name) - pluginRank(b.name));
    const counts = new Map<string, number>();
    const byName = new Map<string, Plugin>();
    for (const d of sb.directives) {
      const rank = pluginRank(d.name);
      const def = deps.definitions[d.name];
      if (!def) {
        if (rank >= 0) throw configErrorAt(d, `Unknown directive '${d.name}' (a CoreDNS plugin that kdns does not implement)`);
        throw configErrorAt(d, `Unknown directive '${d.name}'`);
      }
      const n = (counts.get(d.name) ?? 0) + 1;
      counts.set(d.name, n);
      if (n > 1 && !REPEATABLE.has(d.name)) throw configErrorAt(d, `plugin '${d.name}' may only be used once per server block`);
    }
    // Setup runs in plugin order so that a plugin can find the ones before it (bind before the
    // server label is computed, kubernetes before autopath looks it up).
    const info = {
      zones,
      port,
      server: '',
      bind,
      corefile: deps.corefile,
      boundPort: () => deps.boundPort?.(bind, port) ?? port,
    };
    const pending: Plugin[] = [];
    for (const d of directives) {
      const def = deps.definitions[d.name]!;
      info.server = serverLabel('dns', bind, port);
      const ctx: SetupContext = {
        block: info,
        informers: deps.informers,
        log: deps.log,
        lookup: deps.lookup,
        peer: (name) => byName.get(name),
        peers: () => block.plugins,
        process: deps.process,
      };
      try {
        const p = await def.setup(d, ctx);
        pending.push(p);
        block.plugins = pending;
        byName.set(d.name, p);
        if (d.name === 'forward' || d.name === 'chaos') block.anyClass = true;
      } catch (e) {
        if (e instanceof ConfigError) throw e;
        throw configErrorAt(d, `plugin/${d.name}: ${(e as Error).message}`);
      }
    }
    block.server = serverLabel('dns', bind, port);
    info.server = block.server;
    block.chain = buildChain(block.plugins);
    return block;
  }

  /** Before DNS serves this configuration, in CoreDNS's order: the plugins that need no DNS
   *  listener start (HTTP endpoints), then the startup waits run (kubernetes: the informer sync,
   *  bounded by startup_timeout). */
  async prepare(): Promise<void> {
    for (const b of this.blocks) for (const p of b.plugins) if (p.start && p.early) await p.start();
    await Promise.all(this.allPlugins().map((p) => p.settle?.()));
  }

  /** Start the other plugin side tasks (probes, timers) once listeners are up. */
  async start(): Promise<void> {
    for (const b of this.blocks) for (const p of b.plugins) if (p.start && !p.early) await p.start();
  }

  /** First shutdown phase (SIGTERM): ready stops, health sleeps through lameduck. */
  async shutdown(): Promise<void> {
    for (const b of this.blocks) for (const p of b.plugins) if (p.shutdown) await p.shutdown();
  }

  async close(): Promise<void> {
    for (const b of this.blocks) {
      for (const p of b.plugins) {
        try {
          if (p.close) await p.close();
        } catch {
          // Closing is best effort; one plugin failing must not keep others open.
        }
      }
    }
  }

  allPlugins(): Plugin[] {
    return this.blocks.flatMap((b) => b.plugins);
  }
}

/** Longest-suffix zone match on label boundaries; `.` matches everything. DS queries prefer the
 *  parent zone's block (the child zone apex's DS lives in the parent). */
export function matchZone(zones: Map<string, Block>, lname: string, isDS: boolean): { zone: string; block: Block } | null {
  let name = lname;
  let first = true;
  for (;;) {
    const b = zones.get(name);
    if (b && !(isDS && first && name !== '.' && hasParentIn(zones, name))) return { zone: name, block: b };
    first = false;
    if (name === '.') return null;
    const dot = nextLabel(name);
    name = dot < 0 ? '.' : name.slice(dot);
  }
}

function hasParentIn(zones: Map<string, Block>, name: string): boolean {
  let n = name;
  while (n !== '.') {
    const dot = nextLabel(n);
    n = dot < 0 ? '.' : n.slice(dot);
    if (zones.has(n)) return true;
  }
  return false;
}

/** Index just after the first unescaped dot (start of the parent name), or -1 if none left. */
function nextLabel(name: string): number {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) { i++; continue; }
    if (c === 0x2e) return i + 1 < name.length ? i + 1 : -1;
  }
  return -1;
}
