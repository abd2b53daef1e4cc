// errors: logs every error handed back down the chain (a reply with `error` set, or an exception
// thrown by a later plugin, which becomes SERVFAIL) as CoreDNS does:
//   [ERROR] plugin/errors: 2 example.org. A: read udp ...: i/o timeout
// `consolidate` folds errors matching a pattern into one line per period.

import type { Directive } from '../../corefile/types.js';
import { configErrorAt } from '../../corefile/types.js';
import type { DnsRequest, DnsResponse } from '../../dns/message.js';
import { emptyResponse } from '../../dns/message.js';
import { RCODE } from '../../dns/constants.js';
import type { Handler, Logger, Plugin, PluginDefinition, Result } from '../types.js';
import { parseDuration, formatDuration } from '../../corefile/duration.js';

type Level = 'error' | 'warn' | 'info' | 'debug';

interface Pattern {
  periodMs: number;
  re: RegExp;
  /** The REGEXP as written (RegExp.source would escape `/`). */
  source: string;
  level: Level;
  showFirst: boolean;
  count: number;
  timer: NodeJS.Timeout | null;
}

export interface ErrorsConfig {
  stacktrace: boolean;
  patterns: Pattern[];
}

const LEVELS: Record<string, Level> = { warning: 'warn', error: 'error', info: 'info', debug: 'debug' };
const MAX_REGEXP = 10000;

export function parseErrors(d: Directive): ErrorsConfig {
  if (d.args.length > 1 || (d.args.length === 1 && d.args[0] !== 'stdout')) {
    if (d.args.length === 1) throw configErrorAt(d, `plugin/errors: invalid log file: ${d.args[0]}`);
    throw configErrorAt(d, `plugin/errors: Wrong argument count or unexpected line ending after '${d.args[0]}'`);
  }
  const cfg: ErrorsConfig = { stacktrace: false, patterns: [] };
  for (const sub of d.block ?? []) {
    switch (sub.name) {
      case 'stacktrace':
        if (sub.args.length) throw configErrorAt(sub, `plugin/errors: stacktrace takes no arguments`);
        cfg.stacktrace = true;
        break;
      case 'consolidate':
        cfg.patterns.push(parseConsolidate(sub));
        break;
      default:
        throw configErrorAt(sub, `plugin/errors: unknown property '${sub.name}'`);
    }
  }
  return cfg;
}

function parseConsolidate(d: Directive): Pattern {
  const args = [...d.args];
  let showFirst = false;
  if (args.length > 2 && args[args.length - 1] === 'show_first') {
    showFirst = true;
    args.pop();
  }
  if (args.length < 2 || args.length > 3) {
    throw configErrorAt(d, `plugin/errors: consolidate needs DURATION REGEXP [LEVEL] [show_first]`);
  }
  let periodMs: number;
  try {
    periodMs = parseDuration(args[0]);
  } catch (e) {
    throw configErrorAt(d, `plugin/errors: ${(e as Error).message}`);
  }
  if (periodMs <= 0) throw configErrorAt(d, `plugin/errors: consolidate duration must be positive: ${args[0]}`);
  if (args[1].length > MAX_REGEXP) throw configErrorAt(d, `plugin/errors: regex exceeds ${MAX_REGEXP} characters`);
  let re: RegExp;
  try {
    re = new RegExp(args[1]);
  } catch (e) {
    throw configErrorAt(d, `plugin/errors: ${(e as Error).message}`);
  }
  let level: Level = 'error';
  if (args.length === 3) {
    const l = LEVELS[args[2]];
    if (!l) throw configErrorAt(d, `plugin/errors: unknown log level argument in consolidate: ${args[2]}`);
    level = l;
  }
  return { periodMs, re, source: args[1], level, showFirst, count: 0, timer: null };
}

export class ErrorsPlugin implements Plugin {
  readonly name = 'errors';
  /** Only replies without an error are reused, and those need no logging. */
  readonly fastAware = true;
  private stopped = false;

  constructor(
    private readonly cfg: ErrorsConfig,
    private readonly log: Logger,
  ) {}

  handle(req: DnsRequest, next: Handler): Result {
    let res: Result;
    try {
      res = next(req);
    } catch (e) {
      return this.failed(req, e);
    }
    if (res instanceof Promise) {
      return res.then(
        (r) => this.check(req, r),
        (e) => this.failed(req, e),
      );
    }
    return this.check(req, res);
  }

  private check(req: DnsRequest, res: DnsResponse): DnsResponse {
    if (res.error) this.report(res.rcode, req, res.error.message);
    return res;
  }

  private failed(req: DnsRequest, e: unknown): DnsResponse {
    const err = e instanceof Error ? e : new Error(String(e));
    const res = emptyResponse(RCODE.SERVFAIL);
    res.error = err;
    this.report(RCODE.SERVFAIL, req, this.cfg.stacktrace && err.stack ? err.stack : err.message);
    return res;
  }

  private report(rcode: number, req: DnsRequest, text: string) {
    const line = `${rcode} ${req.question.lname} ${req.question.type}: ${text}`;
    for (const p of this.cfg.patterns) {
      if (!p.re.test(text)) continue;
      if (this.stopped) break;
      p.count++;
      if (p.count === 1) {
        p.timer = setTimeout(() => this.flush(p), p.periodMs);
        p.timer.unref();
        if (p.showFirst) this.log[p.level](`plugin/errors: ${line}`);
      }
      return;
    }
    this.log.error(`plugin/errors: ${line}`);
  }

  private flush(p: Pattern) {
    const n = p.count;
    p.count = 0;
    p.timer = null;
    // With show_first a lone error was already printed in full.
    if (n > (p.showFirst ? 1 : 0)) {
      this.log[p.level](`plugin/errors: ${n} errors like '${p.source}' occurred in last ${formatDuration(p.periodMs)}`);
    }
  }

  /** Print what is pending (CoreDNS does this on shutdown) and stop consolidating. */
  close(): void {
    this.stopped = true;
    for (const p of this.cfg.patterns) {
      if (p.timer) {
        clearTimeout(p.timer);
        this.flush(p);
      }
    }
  }
}

export const errors: PluginDefinition = {
  name: 'errors',
  setup(d, ctx): Plugin {
    return new ErrorsPlugin(parseErrors(d), ctx.log);
  },
};
