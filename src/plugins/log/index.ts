// log: one line per query on stdout, in CoreDNS's Common Log Format by default:
//   [INFO] 10.244.0.92:48081 - 26946 "A IN x.svc.cluster.local. udp 72 false 512" NXDOMAIN qr,aa,rd 165 0.000076s
// Only queries under the rule's NAMES, and only the selected response classes, are logged.

import type { Directive } from '../../corefile/types.js';
import { configErrorAt } from '../../corefile/types.js';
import type { DnsRequest, DnsResponse } from '../../dns/message.js';
import { emptyResponse } from '../../dns/message.js';
import { RCODE } from '../../dns/constants.js';
import { encodeResponse } from '../../dns/wire.js';
import type { Handler, Logger, Plugin, PluginDefinition, Result } from '../types.js';
import { parseDuration } from '../../corefile/duration.js';
import { classify, type ResponseClass } from '../../dns/classify.js';
import { COMBINED_FORMAT, COMMON_FORMAT, parseFormat, render, type Format } from './format.js';

export interface Rule {
  /** Lower-case absolute name; queries at or below it are logged. */
  scope: string;
  format: Format;
  /** Empty set = all classes. */
  classes: Set<ResponseClass>;
  /** With `minDuration`: also log any query slower than this (ms), whatever its class. */
  minDurationMs: number;
}

const CLASSES = new Set(['all', 'success', 'denial', 'error']);
const DEFAULT_MIN_DURATION = '100ms';

function fqdn(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

export function parseLog(d: Directive): Rule[] {
  let names = [...d.args];
  let formatText = COMMON_FORMAT;
  if (names.length >= 2 && names[names.length - 1].includes('{')) {
    const f = names.pop()!;
    formatText = f === '{common}' ? COMMON_FORMAT : f === '{combined}' ? COMBINED_FORMAT : f;
  }
  if (names.length === 0) names = ['.'];
  const classes = new Set<ResponseClass>();
  let all = false;
  let minDurationMs = 0;
  for (const sub of d.block ?? []) {
    switch (sub.name) {
      case 'class':
        if (sub.args.length === 0) throw configErrorAt(sub, `plugin/log: Wrong argument count or unexpected line ending after 'class'`);
        for (const c of sub.args) {
          if (!CLASSES.has(c)) throw configErrorAt(sub, `plugin/log: invalid Class: ${c}`);
          if (c === 'all') all = true;
          else classes.add(c as ResponseClass);
        }
        break;
      case 'minDuration': {
        if (sub.args.length > 1) throw configErrorAt(sub, `plugin/log: Wrong argument count or unexpected line ending after '${sub.args[0]}'`);
        const text = sub.args[0] ?? DEFAULT_MIN_DURATION;
        try {
          minDurationMs = parseDuration(text);
        } catch {
          throw configErrorAt(sub, `plugin/log: Illegal duration found: '${text}'`);
        }
        break;
      }
      default:
        throw configErrorAt(sub, `plugin/log: unknown property '${sub.name}'`);
    }
  }
  if (all) classes.clear();
  const format = parseFormat(formatText);
  return names.map((n) => ({ scope: fqdn(n), format, classes, minDurationMs }));
}

function inScope(scope: string, lname: string): boolean {
  return scope === '.' || lname === scope || (lname.endsWith(scope) && lname[lname.length - scope.length - 1] === '.');
}

const RULES = Symbol('log rules');

export class LogPlugin implements Plugin {
  readonly name = 'log';
  readonly [RULES]: Rule[];

  constructor(
    rules: Rule[],
    private readonly log: Logger,
  ) {
    this[RULES] = rules;
  }

  handle(req: DnsRequest, next: Handler): Result {
    const rule = this.match(req.question.lname);
    if (!rule) return next(req);
    let res: Result;
    try {
      res = next(req);
    } catch (e) {
      this.write(rule, req, emptyResponse(RCODE.SERVFAIL));
      throw e;
    }
    if (res instanceof Promise) {
      return res.then(
        (r) => {
          this.write(rule, req, r);
          return r;
        },
        (e) => {
          this.write(rule, req, emptyResponse(RCODE.SERVFAIL));
          throw e;
        },
      );
    }
    this.write(rule, req, res);
    return res;
  }

  /** The first rule whose NAMES cover the query (CoreDNS stops at the first match too). */
  private match(lname: string): Rule | undefined {
    for (const r of this[RULES]) if (inScope(r.scope, lname)) return r;
    return undefined;
  }

  private write(rule: Rule, req: DnsRequest, res: DnsResponse) {
    const elapsedNs = process.hrtime.bigint() - req.start;
    let wanted = rule.classes.size === 0 || rule.classes.has(classify(req, res));
    if (!wanted && rule.minDurationMs > 0) wanted = Number(elapsedNs) / 1e6 > rule.minDurationMs;
    if (!wanted) return;
    let wire: Buffer | null = null;
    if (!res.drop) {
      const max = req.proto === 'tcp' ? 65535 : req.edns ? Math.max(512, req.edns.udpSize) : 512;
      try {
        wire = encodeResponse({ id: req.id, opcode: req.opcode, rd: req.rd, cd: req.cd, question: req.question, edns: req.edns }, res, max);
      } catch {
        wire = null;
      }
    }
    this.log.info(render(rule.format, req, { res, wire, elapsedNs }));
  }
}

export const log: PluginDefinition = {
  name: 'log',
  setup(d, ctx): Plugin {
    const rules = parseLog(d);
    // CoreDNS gathers every `log` line of a block into one plugin; the first one set up here
    // does the logging and later ones hand it their rules.
    const first = ctx.peer('log') as Partial<LogPlugin> | undefined;
    const shared = first?.[RULES];
    if (shared) {
      shared.push(...rules);
      return { name: 'log', [RULES]: shared } as Plugin;
    }
    return new LogPlugin(rules, ctx.log);
  },
};
