// rewrite: changes the question before the rest of the chain sees it and maps the reply back so
// the client sees its own question (CoreDNS plugin/rewrite).

import type { Plugin, PluginDefinition, Handler } from '../types.js';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { RCODE } from '../../dns/constants.js';
import { makeQuestion } from '../../dns/request.js';
import { configErrorAt, type Directive } from '../../corefile/types.js';
import { newRule, RuleError, type Rule, type ResponseRule, type QuestionState } from './rules.js';

const EMPTY = Buffer.alloc(0);

/** Names that dns.IsDomainName would reject: empty labels, labels > 63, names > 255 octets. */
function validName(name: string): boolean {
  if (name === '.') return true;
  if (name.length > 255) return false;
  const labels = name.endsWith('.') ? name.slice(0, -1).split('.') : name.split('.');
  return labels.every((l) => l.length > 0 && l.length <= 63);
}

/** Record data fields that hold a name, per type (what `answer value` rewrites). */
function getValue(rr: RR): string | null {
  switch (rr.type) {
    case 'CNAME': case 'NS': case 'PTR': case 'DNAME': return typeof rr.data === 'string' ? rr.data : null;
    case 'SRV': return rr.data?.target ?? null;
    case 'MX': return rr.data?.exchange ?? null;
    case 'SOA': return rr.data?.mname ?? null;
    case 'NAPTR': return rr.data?.replacement ?? null;
    default: return null;
  }
}

function setValue(rr: RR, v: string): RR {
  switch (rr.type) {
    case 'CNAME': case 'NS': case 'PTR': case 'DNAME': return { ...rr, data: v };
    case 'SRV': return { ...rr, data: { ...rr.data, target: v } };
    case 'MX': return { ...rr, data: { ...rr.data, exchange: v } };
    case 'SOA': return { ...rr, data: { ...rr.data, mname: v } };
    case 'NAPTR': return { ...rr, data: { ...rr.data, replacement: v } };
    default: return rr;
  }
}

/** Applies the response rules to one record, last rule first; returns a new object if changed
 *  (the reply may be shared with the cache). */
function revertRecord(rr: RR, rules: ResponseRule[]): RR {
  let out = rr;
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i];
    switch (r.kind) {
      case 'name': {
        const n = r.rewrite(out.name);
        if (n !== out.name) out = { ...out, name: n };
        break;
      }
      case 'value': {
        const v = getValue(out);
        if (v) {
          const nv = r.rewrite(v);
          if (nv !== v) out = setValue(out, nv);
        }
        break;
      }
      case 'ttl':
        if (out.ttl < r.min) out = { ...out, ttl: r.min };
        else if (out.ttl > r.max) out = { ...out, ttl: r.max };
        break;
      case 'rcode':
        break;
    }
  }
  return out;
}

export class Rewrite implements Plugin {
  readonly name = 'rewrite';
  constructor(readonly rules: Rule[]) {}

  /** The first rewrite of the block holds every rule; later directives add to it (see setup). */
  get head(): Rewrite { return this; }

  handle(req: DnsRequest, next: Handler): DnsResponse | Promise<DnsResponse> {
    const orig = req.question;
    const q: QuestionState = { name: orig.name, qtype: orig.qtype, qclass: orig.qclass };
    let responseRules: ResponseRule[] | null = null;
    for (const rule of this.rules) {
      const rr = rule.apply(q);
      if (rr === null) continue;
      if (!validName(q.name)) {
        const res: DnsResponse = { rcode: RCODE.SERVFAIL, answers: [], authorities: [], additionals: [], plugin: 'rewrite' };
        res.error = new Error(`invalid name after rewrite: ${q.name}`);
        return res;
      }
      responseRules = responseRules ? responseRules.concat(rr) : rr;
      if (rule.mode === 'stop') break;
    }
    if (responseRules === null) return next(req);

    const questionChanged = q.name !== orig.name || q.qtype !== orig.qtype || q.qclass !== orig.qclass;
    // A new request object: the original stays intact for the reply. The raw bytes no longer
    // match the question, so they are dropped (consumers re-encode from `question`).
    const inner: DnsRequest = questionChanged
      ? { ...req, raw: EMPTY, question: makeQuestion(q.name, q.qtype, q.qclass) }
      : req;
    const rules = responseRules;
    const out = next(inner);
    const finish = (res: DnsResponse) => this.revert(res, rules, questionChanged ? orig : null);
    return out instanceof Promise ? out.then(finish) : finish(out);
  }

  private revert(res: DnsResponse, rules: ResponseRule[], question: DnsRequest['question'] | null): DnsResponse {
    if (rules.length === 0 && !question) return res;
    const copy: DnsResponse = { ...res };
    if (question) copy.question = question;
    if (rules.length) {
      copy.answers = res.answers.map((rr) => revertRecord(rr, rules));
      copy.authorities = res.authorities.map((rr) => revertRecord(rr, rules));
      copy.additionals = res.additionals.map((rr) => revertRecord(rr, rules));
      for (let i = rules.length - 1; i >= 0; i--) {
        const r = rules[i];
        if (r.kind === 'rcode' && copy.rcode === r.from) copy.rcode = r.to;
      }
    }
    return copy;
  }
}

/** The rule's arguments: the line itself, or for the block form (`rewrite [stop] { ... }`) the
 *  block's tokens flattened into one rule, as CoreDNS does. */
function ruleArgs(d: Directive): string[] {
  if (d.args.length >= 2 || !d.block) {
    if (d.block) throw configErrorAt(d, 'plugin/rewrite: unexpected block after a complete rule');
    return d.args;
  }
  const args = [...d.args];
  for (const sub of d.block) {
    if (sub.block) throw configErrorAt(sub, 'plugin/rewrite: nested blocks are not allowed');
    args.push(sub.name, ...sub.args);
  }
  return args;
}

/** A later `rewrite` line of the same block: its rule lives in the first one's list. */
interface RewriteMember extends Plugin {
  head: Rewrite;
}

export const rewrite: PluginDefinition = {
  name: 'rewrite',
  setup(d, ctx): Plugin {
    let rule: Rule;
    try {
      rule = newRule(ruleArgs(d));
    } catch (e) {
      if (e instanceof RuleError) throw configErrorAt(d, `plugin/rewrite: ${e.message}`);
      throw e;
    }
    // CoreDNS builds one handler from all rewrite lines of a block, so `stop` ends the whole list
    // rather than one line. Later lines join the first handler and add no handler of their own.
    const prev = ctx.peer('rewrite') as Partial<RewriteMember> | undefined;
    if (prev?.head instanceof Rewrite) {
      prev.head.rules.push(rule);
      const member: RewriteMember = { name: 'rewrite', head: prev.head };
      return member;
    }
    return new Rewrite([rule]);
  },
};
