// reload: re-read the Corefile every INTERVAL (± JITTER) and apply it when its parsed form changed.
// The server does the work (read, hash, swap, log, keep the old config on failure); this plugin
// only asks it to. Reload is process-wide, as in CoreDNS: with `reload` in several blocks (or an
// old and a new configuration overlapping during a reload) only the latest started timer runs.

import type { Directive } from '../../corefile/types.js';
import { configErrorAt } from '../../corefile/types.js';
import type { Plugin, PluginDefinition, ProcessContext } from '../types.js';
import { formatDuration, parseDuration } from '../../corefile/duration.js';

const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_JITTER_MS = 15_000;
const MIN_INTERVAL_MS = 2000;
const MIN_JITTER_MS = 1000;

export interface ReloadConfig {
  intervalMs: number;
  /** Full width of the random spread around the interval (0 = none). */
  jitterMs: number;
}

export function parseReload(d: Directive): ReloadConfig {
  if (d.args.length > 2 || d.block) {
    throw configErrorAt(d, `plugin/reload: Wrong argument count or unexpected line ending after '${d.args[2] ?? d.name}'`);
  }
  const dur = (text: string) => {
    try {
      return parseDuration(text);
    } catch (e) {
      throw configErrorAt(d, `plugin/reload: ${(e as Error).message}`);
    }
  };
  const intervalMs = d.args[0] !== undefined ? dur(d.args[0]) : DEFAULT_INTERVAL_MS;
  if (intervalMs < MIN_INTERVAL_MS) {
    throw configErrorAt(d, `plugin/reload: interval value must be greater or equal to ${formatDuration(MIN_INTERVAL_MS)}`);
  }
  let jitterMs = d.args[1] !== undefined ? dur(d.args[1]) : DEFAULT_JITTER_MS;
  if (jitterMs !== 0 && jitterMs < MIN_JITTER_MS) {
    throw configErrorAt(d, `plugin/reload: jitter value must be greater or equal to ${formatDuration(MIN_JITTER_MS)}`);
  }
  if (jitterMs > intervalMs / 2) jitterMs = intervalMs / 2;
  return { intervalMs, jitterMs };
}

/** The next wait: interval plus a uniform offset in [-jitter/2, +jitter/2). */
export function nextDelay(cfg: ReloadConfig, random: () => number = Math.random): number {
  return cfg.intervalMs + (cfg.jitterMs ? random() * cfg.jitterMs - cfg.jitterMs / 2 : 0);
}

const active = new WeakMap<ProcessContext, ReloadPlugin>();

export class ReloadPlugin implements Plugin {
  readonly name = 'reload';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly cfg: ReloadConfig,
    private readonly proc: ProcessContext,
  ) {}

  start(): void {
    active.get(this.proc)?.stop();
    active.set(this.proc, this);
    this.schedule();
  }

  private schedule() {
    this.timer = setTimeout(() => {
      this.timer = null;
      // The server swaps in a new configuration whose own reload plugin takes over on its start.
      this.proc.requestReload?.();
      if (active.get(this.proc) === this) this.schedule();
    }, nextDelay(this.cfg));
    this.timer.unref();
  }

  private stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  close(): void {
    this.stop();
    if (active.get(this.proc) === this) active.delete(this.proc);
  }
}

export const reload: PluginDefinition = {
  name: 'reload',
  setup(d, ctx): Plugin {
    return new ReloadPlugin(parseReload(d), ctx.process);
  },
};

export { recordReload } from './metrics.js';
