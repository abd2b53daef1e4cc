// template: answers queries from Go-style templates (CoreDNS plugin/template). Each `template`
// line is one instance in the chain; a query that does not match an instance's zone, class or
// type goes on to the next instance and finally to the next plugin, which is what CoreDNS's one
// handler with a list of templates does.

import type { Plugin, PluginDefinition, SetupContext, Handler } from '../types.js';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { CLASS, RCODE, TYPE, className, typeName, typeNumber } from '../../dns/constants.js';
import { configErrorAt, type Directive } from '../../corefile/types.js';
import { zonesFromHost } from '../../corefile/keys.js';
import { parseTemplate, TemplateSyntaxError, type Template, type TemplateData } from './gotemplate.js';
import { parseRR } from './rr.js';

const FIELDS = new Set(['Name', 'Zone', 'Class', 'Type', 'Match', 'Group', 'Remote', 'Question']);

const CLASSES: Record<string, number> = { IN: CLASS.IN, CH: CLASS.CH, HS: CLASS.HS, NONE: CLASS.NONE, ANY: CLASS.ANY };

const RCODES: Record<string, number> = {
  NOERROR: RCODE.NOERROR, FORMERR: RCODE.FORMERR, SERVFAIL: RCODE.SERVFAIL, NXDOMAIN: RCODE.NXDOMAIN,
  NOTIMP: RCODE.NOTIMP, REFUSED: RCODE.REFUSED, YXDOMAIN: RCODE.YXDOMAIN, YXRRSET: RCODE.YXRRSET,
  NXRRSET: RCODE.NXRRSET, NOTAUTH: RCODE.NOTAUTH, NOTZONE: RCODE.NOTZONE, BADSIG: 16, BADVERS: 16,
  BADKEY: 17, BADTIME: 18, BADMODE: 19, BADNAME: 20, BADALG: 21, BADTRUNC: 22, BADCOOKIE: 23,
};

/** Go regexp (RE2) -> JavaScript RegExp: named groups `(?P<n>` and a leading `(?i)`. */
function compileRegex(src: string): RegExp {
  let s = src.replace(/\(\?P</g, '(?<');
  let flags = '';
  if (s.startsWith('(?i)')) { s = s.slice(4); flags = 'i'; }
  return new RegExp(s, flags);
}

function longestZone(zones: readonly string[], lname: string): string {
  let best = '';
  for (const z of zones) if ((z === '.' || lname === z || lname.endsWith(`.${z}`)) && z.length > best.length) best = z;
  return best;
}

export interface TemplateConfig {
  qclass: number;
  qtype: number;
  zones: string[];
  regex: RegExp[];
  answer: Template[];
  additional: Template[];
  authority: Template[];
  rcode: number;
  /** null = no fallthrough. */
  fall: string[] | null;
}

function parseConfig(d: Directive, ctx: SetupContext): TemplateConfig {
  const err = (at: { file: string; line: number }, msg: string) => configErrorAt(at, `plugin/template: ${msg}`);
  if (d.args.length < 2) throw err(d, 'Wrong argument count or unexpected line ending after template');
  const qclass = CLASSES[d.args[0]];
  if (qclass === undefined) throw err(d, `invalid query class ${d.args[0]}`);
  const qtype = d.args[1] === 'ANY' ? TYPE.ANY : typeNumber(d.args[1]);
  if (qtype === undefined || d.args[1] !== d.args[1].toUpperCase()) throw err(d, `invalid RR class ${d.args[1]}`);
  const zones: string[] = [];
  if (d.args.length === 2) zones.push(...ctx.block.zones);
  for (const z of d.args.slice(2)) {
    try { zones.push(...zonesFromHost(z)); } catch (e) { throw err(d, (e as Error).message); }
  }
  const c: TemplateConfig = { qclass, qtype, zones, regex: [], answer: [], additional: [], authority: [], rcode: RCODE.NOERROR, fall: null };
  for (const sub of d.block ?? []) {
    const args = sub.args;
    const compile = (list: Template[]) => {
      if (args.length === 0) throw err(sub, 'Wrong argument count or unexpected line ending after ' + sub.name);
      for (const a of args) {
        try { list.push(parseTemplate(a, FIELDS)); } catch (e) {
          if (e instanceof TemplateSyntaxError) throw err(sub, `could not compile template: ${a}, ${e.message}`);
          throw e;
        }
      }
    };
    switch (sub.name) {
      case 'match':
        if (args.length === 0) throw err(sub, 'Wrong argument count or unexpected line ending after match');
        for (const r of args) {
          try { c.regex.push(compileRegex(r)); } catch (e) { throw err(sub, `could not parse regex: ${r}, ${(e as Error).message}`); }
        }
        break;
      case 'answer': compile(c.answer); break;
      case 'additional': compile(c.additional); break;
      case 'authority': compile(c.authority); break;
      case 'rcode': {
        if (args.length !== 1) throw err(sub, 'Wrong argument count or unexpected line ending after rcode');
        const r = RCODES[args[0]];
        if (r === undefined) throw err(sub, `unknown rcode ${args[0]}`);
        c.rcode = r;
        break;
      }
      case 'fallthrough':
        try {
          c.fall = args.length ? args.flatMap((a) => zonesFromHost(a)) : ['.'];
        } catch (e) { throw err(sub, (e as Error).message); }
        break;
      case 'upstream':
        // Deprecated in CoreDNS and ignored: CNAME targets are always resolved.
        break;
      case 'ederror':
        // Extended DNS errors are not carried by kdns replies; accepted so Corefiles still load.
        if (args.length < 1 || !/^\d+$/.test(args[0]) || Number(args[0]) > 24) throw err(sub, `invalid extended DNS error code ${args[0] ?? ''}`);
        ctx.log.warn(`plugin/template: ${sub.file}:${sub.line}: ederror is accepted but not sent (kdns has no EDE support)`);
        break;
      default:
        throw err(sub, `unknown property '${sub.name}'`);
    }
  }
  if (c.regex.length === 0) c.regex.push(/.*/);
  if (c.answer.length === 0 && c.authority.length === 0 && c.rcode === RCODE.NOERROR) {
    throw err(d, 'no answer section for template found');
  }
  return c;
}

export class TemplatePlugin implements Plugin {
  readonly name = 'template';
  constructor(readonly cfg: TemplateConfig, private readonly lookup: SetupContext['lookup']) {}

  handle(req: DnsRequest, next: Handler): DnsResponse | Promise<DnsResponse> {
    const q = req.question;
    const c = this.cfg;
    const zone = longestZone(c.zones, q.lname);
    if (!zone) return next(req);
    if (c.qclass !== CLASS.ANY && q.qclass !== CLASS.ANY && q.qclass !== c.qclass) return next(req);
    if (c.qtype !== TYPE.ANY && q.qtype !== TYPE.ANY && q.qtype !== c.qtype) return next(req);

    let data: TemplateData | null = null;
    for (const re of c.regex) {
      const m = re.exec(q.lname);
      if (!m) continue;
      const group: Record<string, string> = {};
      m.forEach((v, i) => { group[String(i)] = v ?? ''; });
      for (const [k, v] of Object.entries(m.groups ?? {})) group[k] = v ?? '';
      data = {
        Name: q.lname,
        Zone: zone,
        Class: className(q.qclass !== CLASS.ANY ? q.qclass : c.qclass),
        Type: typeName(q.qtype !== TYPE.ANY ? q.qtype : c.qtype),
        Match: Array.from(m, (v) => v ?? ''),
        Group: group,
        Remote: req.remoteAddress,
        Question: { Name: q.name, Qtype: q.qtype, Qclass: q.qclass },
      };
      break;
    }
    if (!data) {
      if (c.fall && longestZone(c.fall, q.lname)) return next(req);
      // CoreDNS: zone matched, no regex did, no fallthrough -> SERVFAIL (coredns#5180).
      return this.fail();
    }
    if (c.rcode === RCODE.SERVFAIL) return this.fail();

    const res: DnsResponse = { rcode: c.rcode, aa: true, answers: [], authorities: [], additionals: [], plugin: 'template' };
    try {
      for (const t of c.answer) res.answers.push(parseRR(t.execute(data)));
      for (const t of c.additional) res.additionals.push(parseRR(t.execute(data)));
      for (const t of c.authority) res.authorities.push(parseRR(t.execute(data)));
    } catch (e) {
      return this.fail(e as Error);
    }
    // A CNAME answer to an address query gets the target's records, looked up through the server.
    const cnames = q.qtype === TYPE.A || q.qtype === TYPE.AAAA ? res.answers.filter((rr) => rr.type === 'CNAME') : [];
    if (cnames.length === 0) return res;
    return this.chase(req, res, cnames);
  }

  private async chase(req: DnsRequest, res: DnsResponse, cnames: RR[]): Promise<DnsResponse> {
    const answers: RR[] = [];
    for (const rr of res.answers) {
      answers.push(rr);
      if (!cnames.includes(rr)) continue;
      try {
        const up = await this.lookup(rr.data as string, req.question.qtype, req);
        if (up.tc) res.tc = true;
        answers.push(...up.answers);
      } catch {
        // Like CoreDNS: a failed upstream lookup leaves the CNAME alone.
      }
    }
    res.answers = answers;
    return res;
  }

  private fail(error?: Error): DnsResponse {
    const res: DnsResponse = { rcode: RCODE.SERVFAIL, answers: [], authorities: [], additionals: [], plugin: 'template' };
    if (error) res.error = error;
    return res;
  }
}

export const template: PluginDefinition = {
  name: 'template',
  setup(d, ctx): Plugin {
    return new TemplatePlugin(parseConfig(d, ctx), ctx.lookup);
  },
};
