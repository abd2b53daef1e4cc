// ready: `GET /ready` answers 200 `OK` once every plugin with a readiness hook, in the blocks that
// use `ready`, reports ready; otherwise 503 with their sorted names (`kubernetes`). With the default
// `monitor until-ready` a plugin that was ready once is not asked again. On SIGTERM it answers
// 503 `Shutting down` so the endpoint leaves the Service before lameduck ends.

import type { Directive } from '../../corefile/types.js';
import { configErrorAt } from '../../corefile/types.js';
import { acquireHttp, boundPort, listenAddressArg, type HttpHandle } from '../../server/http.js';
import type { Plugin, PluginDefinition, ProcessContext, SetupContext } from '../types.js';

export const DEFAULT_ADDRESS = ':8181';
const DEFAULT_PORT = 8181;

export interface ReadyConfig {
  address: string;
  /** `monitor continuously`: keep asking plugins that were ready before. */
  continuously: boolean;
}

export function parseReady(d: Directive): ReadyConfig {
  const address = listenAddressArg(d, 'ready', DEFAULT_ADDRESS);
  let continuously = false;
  for (const sub of d.block ?? []) {
    if (sub.name !== 'monitor') throw configErrorAt(sub, `plugin/ready: unknown property '${sub.name}'`);
    if (sub.args.length !== 1) throw configErrorAt(sub, `plugin/ready: Wrong argument count or unexpected line ending after 'monitor'`);
    if (sub.args[0] === 'continuously') continuously = true;
    else if (sub.args[0] === 'until-ready') continuously = false;
    else throw configErrorAt(sub, `plugin/ready: monitor must be until-ready or continuously, not '${sub.args[0]}'`);
  }
  return { address, continuously };
}

interface Source {
  name: string;
  plugin: Plugin;
  /** Reported ready once (until-ready mode stops asking). */
  done: boolean;
}

/** All `ready` plugins of one configuration serving one address: their blocks' readiness is
 *  combined in one answer. A newer configuration (reload) replaces the group on its start. */
interface Group {
  generation: number;
  members: Set<ReadyPlugin>;
  shuttingDown: boolean;
}

const groups = new Map<string, Group>();

/** Tells configurations apart: setups that follow a start belong to a new one. */
const generations = new WeakMap<ProcessContext, { current: number; started: boolean }>();

function generationFor(proc: ProcessContext): number {
  let g = generations.get(proc);
  if (!g) {
    g = { current: 1, started: false };
    generations.set(proc, g);
  }
  if (g.started) {
    g.current++;
    g.started = false;
  }
  return g.current;
}

export class ReadyPlugin implements Plugin {
  readonly name = 'ready';
  readonly early = true;
  private http: HttpHandle | null = null;
  private sources: Source[] = [];
  private readonly generation: number;

  constructor(
    readonly cfg: ReadyConfig,
    private readonly ctx: Pick<SetupContext, 'peers' | 'process' | 'log'>,
  ) {
    this.generation = generationFor(ctx.process);
  }

  async start(): Promise<void> {
    const gen = generations.get(this.ctx.process);
    if (gen) gen.started = true;
    // Peers are all set up by now; ask each plugin of this block that has a readiness hook.
    this.sources = [];
    for (const p of this.ctx.peers?.() ?? []) {
      if (p !== (this as Plugin) && typeof p.ready === 'function') this.sources.push({ name: p.name, plugin: p, done: false });
    }
    const h = acquireHttp(this.cfg.address, DEFAULT_PORT);
    this.http = h;
    let g = groups.get(h.address);
    if (!g || g.generation < this.generation) {
      g = { generation: this.generation, members: new Set(), shuttingDown: false };
      groups.set(h.address, g);
    }
    g.members.add(this);
    const key = h.address;
    const log = this.ctx.log;
    h.route('/ready', (_req, res) => {
      const cur = groups.get(key);
      const notReady = cur && !cur.shuttingDown ? pending(cur) : null;
      if (notReady === null) {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Shutting down');
      } else if (notReady.length === 0) {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('OK');
      } else {
        const list = notReady.join(',');
        log.info(`plugin/ready: Plugins not ready: "${list}"`);
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(list);
      }
    });
    await h.listening;
  }

  /** Names of this block's plugins that are not ready now. */
  notReady(): string[] {
    const out: string[] = [];
    for (const s of this.sources) {
      if (s.done) continue;
      if (s.plugin.ready!()) {
        if (!this.cfg.continuously) s.done = true;
      } else out.push(s.name);
    }
    return out;
  }

  /** The port actually bound (for tests with port 0). */
  port(): number | undefined {
    return this.http ? boundPort(this.http) : undefined;
  }

  /** SIGTERM: stop reporting ready before lameduck starts (not on reload). */
  shutdown(): void {
    if (this.ctx.process.reloading || !this.http) return;
    const g = groups.get(this.http.address);
    if (g?.members.has(this)) g.shuttingDown = true;
  }

  async close(): Promise<void> {
    const h = this.http;
    this.http = null;
    if (!h) return;
    const g = groups.get(h.address);
    if (g?.members.delete(this) && g.members.size === 0) groups.delete(h.address);
    await h.release();
  }
}

function pending(g: Group): string[] {
  const names = new Set<string>();
  for (const m of g.members) for (const n of m.notReady()) names.add(n);
  return [...names].sort();
}

export const ready: PluginDefinition = {
  name: 'ready',
  setup(d, ctx): Plugin {
    return new ReadyPlugin(parseReady(d), ctx);
  },
};
