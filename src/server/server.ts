// The process-level server: Corefile -> Instance -> listeners; reload swaps instances without
// closing sockets that are still wanted; shutdown runs CoreDNS's sequence (shutdown hooks:
// ready stops, health lameduck with DNS still served, then listeners close).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type ServerBlock } from '../corefile/types.js';
import { loadCorefile, parseCorefile } from '../corefile/parser.js';
import type { DnsRequest, DnsResponse } from '../dns/message.js';
import { emptyResponse } from '../dns/message.js';
import { RCODE, TYPE } from '../dns/constants.js';
import { makeRequest } from '../dns/request.js';
import type { Logger, PluginDefinition, ProcessContext } from '../plugins/types.js';
import { createInformers } from '../informer/informer.js';
import type { Informers } from '../informer/types.js';
import { Instance, matchZone, type ListenerGroup } from './instance.js';
import { Listener } from './listeners.js';
import type { DispatchObserver } from './dispatch.js';

export interface ServerOptions {
  /** Path of the Corefile (also the base for imports and relative files). */
  corefile: string;
  /** Corefile text to use instead of reading `corefile` (the built-in default when none exists). */
  corefileText?: string;
  defaultPort: number;
  definitions: Record<string, PluginDefinition>;
  log: Logger;
  informers?: Informers;
  observer?: DispatchObserver;
  /** false: DNS sockets are bound through the cluster primary (`-workers`; see Listener). */
  exclusiveBind?: boolean;
  /** Called when an instance starts serving (first start and every reload): metrics of the
   *  configuration, e.g. coredns_plugin_enabled. */
  onActivate?: (inst: Instance) => void;
}

/** Hash of the parsed blocks, so comment/whitespace edits do not count as changes (as CoreDNS). */
export function corefileHash(blocks: ServerBlock[]): string {
  const canon = JSON.stringify(blocks, (k, v) => (k === 'file' || k === 'line' || k === 'argTokens' ? undefined : v));
  return createHash('sha512').update(canon).digest('hex');
}

export class KdnsServer {
  instance: Instance | null = null;
  private listeners = new Map<string, Listener>();
  private groupsByKey = new Map<string, ListenerGroup>();
  readonly informers: Informers;
  readonly process: ProcessContext = { reloading: false };
  hash = '';
  private stopping = false;

  constructor(private readonly opts: ServerOptions) {
    this.informers = opts.informers ?? createInformers({ log: opts.log });
  }

  private readBlocks(): ServerBlock[] {
    if (this.opts.corefileText !== undefined) {
      return parseCorefile(this.opts.corefileText, this.opts.corefile, { warn: (m: string) => this.opts.log.warn(m) });
    }
    return loadCorefile(this.opts.corefile, { warn: (m: string) => this.opts.log.warn(m) });
  }

  private async build(blocks: ServerBlock[]): Promise<Instance> {
    return Instance.create(blocks, {
      definitions: this.opts.definitions,
      informers: this.informers,
      log: this.opts.log,
      process: this.process,
      corefile: this.opts.corefile,
      defaultPort: this.opts.defaultPort,
      lookup: (name, qtype, from) => this.lookup(name, qtype, from),
      boundPort: (bind, port) => this.listeners.get(`${bind[0] ?? ''}|${port}`)?.udpPort ?? port,
    });
  }

  async start(): Promise<void> {
    let blocks = this.readBlocks();
    if (blocks.length === 0) {
      // CoreDNS (caddy) serves its default configuration when the Corefile has no server blocks.
      this.opts.log.warn(`${this.opts.corefile}: no server blocks; serving the default configuration (whoami, log)`);
      blocks = parseCorefile(DEFAULT_COREFILE, this.opts.corefile, { warn: (m: string) => this.opts.log.warn(m) });
    }
    const inst = await this.build(blocks);
    try {
      await inst.prepare();
      await this.activate(inst);
    } catch (e) {
      await inst.close();
      await this.closeListeners([...this.listeners.keys()]);
      throw e;
    }
    this.hash = corefileHash(blocks);
    this.opts.onActivate?.(inst);
    await inst.start();
  }

  /** Open listeners for the instance's groups (keeping existing ones) and route to it. */
  private async activate(inst: Instance): Promise<string[]> {
    const wanted = new Set<string>();
    const opened: string[] = [];
    for (const g of inst.groups.values()) {
      const hosts = g.bind.length ? g.bind : [''];
      for (const host of hosts) {
        const key = `${host}|${g.port}`;
        wanted.add(key);
        if (!this.listeners.has(key)) {
          const l = new Listener({ host, port: g.port, exclusive: this.opts.exclusiveBind }, {
            group: () => this.groupsByKey.get(key),
            log: this.opts.log,
            observer: this.opts.observer ?? {},
          });
          try {
            await l.start();
          } catch (e) {
            await l.close();
            await this.closeListeners(opened);
            throw new Error(`listen ${host || '*'}:${g.port}: ${(e as Error).message}`);
          }
          this.listeners.set(key, l);
          opened.push(key);
        }
      }
    }
    // Swap routing at once for every listener.
    const next = new Map<string, ListenerGroup>();
    for (const g of inst.groups.values()) for (const host of g.bind.length ? g.bind : ['']) next.set(`${host}|${g.port}`, g);
    this.groupsByKey = next;
    this.instance = inst;
    return [...this.listeners.keys()].filter((k) => !wanted.has(k));
  }

  private async closeListeners(keys: string[]) {
    for (const k of keys) {
      const l = this.listeners.get(k);
      this.listeners.delete(k);
      if (l) await l.close();
    }
  }

  /**
   * Re-read the Corefile; apply it if it changed. A broken new Corefile leaves the running one in
   * place. Returns 'unchanged' | 'reloaded'; throws the error of a failed reload.
   */
  async reload(): Promise<'unchanged' | 'reloaded'> {
    if (this.stopping) return 'unchanged';
    const blocks = this.readBlocks();
    // A Corefile without server blocks (empty, comments only, or read half-way through a
    // non-atomic write) would close every listener, and with them the reload plugin that could
    // bring them back: keep the running configuration instead.
    if (blocks.length === 0) throw new ConfigError(`${this.opts.corefile}: no server blocks; keeping the running configuration`);
    const hash = corefileHash(blocks);
    if (hash === this.hash) return 'unchanged';
    this.process.reloading = true;
    const old = this.instance;
    try {
      const inst = await this.build(blocks);
      let stale: string[];
      try {
        await inst.prepare();
        stale = await this.activate(inst);
      } catch (e) {
        await inst.close();
        throw e;
      }
      this.hash = hash;
      this.opts.onActivate?.(inst);
      await this.closeListeners(stale);
      if (old) {
        // Queries in flight keep their chain; give them time before closing the old plugins.
        const t = setTimeout(() => void old.close(), 5000);
        t.unref();
      }
      await inst.start();
      return 'reloaded';
    } finally {
      this.process.reloading = false;
    }
  }

  /** SIGTERM/SIGINT: shutdown hooks (lameduck), then stop listeners and plugins. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const inst = this.instance;
    if (inst) await inst.shutdown();
    await this.closeListeners([...this.listeners.keys()]);
    if (inst) await inst.close();
    await this.informers.closeAll();
  }

  /** Ports actually bound (for tests that listen on port 0). */
  ports(): { udp: number; tcp: number }[] {
    return [...this.listeners.values()].map((l) => ({ udp: l.udpPort, tcp: l.tcpPort }));
  }

  /** Internal resolution through our own chains (CNAME targets, autopath), routed as a query
   *  arriving on the same listener as `from`. */
  async lookup(name: string, qtype: number, from: DnsRequest): Promise<DnsResponse> {
    const req = makeRequest(name, qtype, { ...from, internal: true, meta: undefined });
    let group: ListenerGroup | undefined;
    for (const g of this.groupsByKey.values()) {
      if (g.server === from.server) { group = g; break; }
    }
    group ??= this.groupsByKey.values().next().value;
    const routed = group ? matchZone(group.zones, req.question.lname, qtype === TYPE.DS) : null;
    if (!routed) return emptyResponse(RCODE.REFUSED);
    req.zone = routed.zone;
    req.server = group!.server;
    return routed.block.chain(req);
  }
}

/** The Corefile CoreDNS runs when none is found: whoami and log on port 53. */
export const DEFAULT_COREFILE = '. {\n    whoami\n    log\n}\n';

export function readCorefileText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
