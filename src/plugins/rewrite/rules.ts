// Rewrite rules (CoreDNS plugin/rewrite): each rule looks at the question as left by the rules
// before it, may change it, and returns the response rules that undo or adjust the reply.

import { typeNumber, RCODE } from '../../dns/constants.js';

/** The question as it travels through the rules. `name` keeps the client's spelling until a rule
 *  replaces it. */
export interface QuestionState {
  name: string;
  qtype: number;
  qclass: number;
}

export type Mode = 'stop' | 'continue';

/** Maps one name to another; returns the input unchanged when it does not apply. */
export type StringRewriter = (src: string) => string;

export type ResponseRule =
  | { kind: 'name'; rewrite: StringRewriter }
  | { kind: 'value'; rewrite: StringRewriter }
  | { kind: 'ttl'; min: number; max: number }
  | { kind: 'rcode'; from: number; to: number };

export interface Rule {
  mode: Mode;
  /** Applies the rule to `q` (mutating it); null when it does not match. */
  apply(q: QuestionState): ResponseRule[] | null;
}

export class RuleError extends Error {}

const MATCH_TYPES = new Set(['exact', 'prefix', 'suffix', 'substring', 'regex']);

/** CoreDNS's plugin.Name(x).Normalize(): lower case, absolute. */
function fqdn(s: string): string {
  const l = s.toLowerCase();
  return l.endsWith('.') ? l : `${l}.`;
}

/** Go RE2 syntax -> JavaScript: named groups `(?P<n>` and a leading `(?i)` flag. */
export function compileGoRegex(src: string): RegExp {
  let s = src.replace(/\(\?P</g, '(?<');
  let flags = '';
  if (s.startsWith('(?i)')) { s = s.slice(4); flags = 'i'; }
  try {
    return new RegExp(s, flags);
  } catch {
    throw new RuleError(`invalid regex matching pattern: ${src}`);
  }
}

function groupCount(re: RegExp): number {
  return (new RegExp(`${re.source}|`, re.flags).exec('')?.length ?? 1) - 1;
}

/** The highest `{n}` a replacement may use must exist in the pattern. */
function checkGroups(re: RegExp, replacement: string, src: string): void {
  const n = groupCount(re);
  let used = 0;
  for (let i = 0; i <= 100; i++) if (replacement.includes(`{${i}}`)) used++;
  if (used > n) {
    throw new RuleError(`the rewrite regex pattern (${replacement}) uses more subexpressions than its corresponding matching regex pattern (${src})`);
  }
}

function substitute(template: string, groups: RegExpExecArray): string {
  let s = template;
  for (let i = 0; i < groups.length; i++) s = s.split(`{${i}}`).join(groups[i] ?? '');
  return s;
}

function regexRewriter(re: RegExp, replacement: string): StringRewriter {
  return (src) => {
    const g = re.exec(src);
    return g ? substitute(replacement, g) : src;
  };
}

/** Maps `orig` (and names below it) back to `replacement`; case-insensitive, as upstream replies
 *  may echo the name in any case. */
function remapRewriter(orig: string, replacement: string): StringRewriter {
  const lo = orig.toLowerCase();
  return (src) => {
    const s = src.toLowerCase();
    if (s === lo) return replacement;
    if (s.endsWith(`.${lo}`)) return src.slice(0, src.length - orig.length) + replacement;
    return src;
  };
}

function suffixRewriter(suffix: string, replacement: string): StringRewriter {
  return (src) => (src.toLowerCase().endsWith(suffix) ? src.slice(0, src.length - suffix.length) + replacement : src);
}

function parseAnswerRules(matchType: string, args: string[]): { auto: boolean; rules: ResponseRule[] } {
  let auto = false;
  let nameRules = 0;
  const rules: ResponseRule[] = [];
  if (args.length < 2) throw new RuleError(`invalid arguments for ${matchType} rule`);
  let i = 0;
  let last = '';
  while (i < args.length) {
    if (last === '' && args[i] !== 'answer') {
      throw new RuleError(`exceeded the number of arguments for a non-answer rule argument for ${matchType} rule`);
    }
    if (args[i] === 'answer') i++;
    if (i >= args.length) throw new RuleError(`type missing for answer rule for ${matchType} rule`);
    last = args[i++];
    switch (last) {
      case 'auto':
        auto = true;
        break;
      case 'name':
      case 'value': {
        if (args.length - i < 2) throw new RuleError(`${last} answer rule for ${matchType} rule: 2 arguments required`);
        const re = compileGoRegex(args[i]);
        checkGroups(re, args[i + 1], args[i]);
        const rw = regexRewriter(re, fqdn(args[i + 1]));
        rules.push(last === 'name' ? { kind: 'name', rewrite: rw } : { kind: 'value', rewrite: rw });
        if (last === 'name') nameRules++;
        i += 2;
        break;
      }
      default:
        throw new RuleError(`invalid type "${last}" for answer rule for ${matchType} rule`);
    }
  }
  if (auto && nameRules > 0) throw new RuleError('auto name answer rule cannot be combined with explicit name answer rules');
  return { auto, rules };
}

function autoRules(rewritten: string, before: string): ResponseRule[] {
  const rw = remapRewriter(rewritten, before);
  return [{ kind: 'name', rewrite: rw }, { kind: 'value', rewrite: rw }];
}

function nameRule(mode: Mode, args: string[]): Rule {
  if (args.length < 2) throw new RuleError('too few arguments for a name rule');
  let matchType = 'exact';
  let from: string;
  let to: string;
  if (args.length === 2) {
    from = fqdn(args[0]);
    to = fqdn(args[1]);
  } else {
    matchType = args[0].toLowerCase();
    from = matchType === 'regex' ? args[1] : fqdn(args[1]);
    to = fqdn(args[2]);
  }
  if (!MATCH_TYPES.has(matchType)) {
    throw new RuleError(`name rule supports only exact, prefix, suffix, substring, and regex name matching, received: ${matchType}`);
  }
  const { auto, rules: answers } = args.length > 3 ? parseAnswerRules(matchType, args.slice(3)) : { auto: false, rules: [] };

  // Each matcher returns the new name or null; `dynamic` builds the auto reverse mapping.
  const make = (rewrite: (lname: string, name: string) => string | null, dynamic: boolean, fixed: ResponseRule[] = []): Rule => ({
    mode,
    apply(q) {
      const before = q.name;
      const next = rewrite(before.toLowerCase(), before);
      if (next === null) return null;
      q.name = next;
      return dynamic ? [...autoRules(next, before), ...answers] : [...fixed, ...answers];
    },
  });

  switch (matchType) {
    case 'exact':
      // Exact rules always map the answer back.
      return make((l) => (l === from ? to : null), true);
    case 'prefix':
      return make((l) => (l.startsWith(from) ? to + l.slice(from.length) : null), auto);
    case 'suffix': {
      // For suffixes CoreDNS reverses the rule itself rather than remapping the full name.
      const back = suffixRewriter(to, from);
      const fixed: ResponseRule[] = auto ? [{ kind: 'name', rewrite: back }, { kind: 'value', rewrite: back }] : [];
      return make((l) => (l.endsWith(from) ? l.slice(0, l.length - from.length) + to : null), false, fixed);
    }
    case 'substring':
      return make((l) => (l.includes(from) ? l.split(from).join(to) : null), auto);
    default: {
      const re = compileGoRegex(from);
      checkGroups(re, to, from);
      return make((l) => {
        const g = re.exec(l);
        return g ? substitute(to, g) : null;
      }, auto);
    }
  }
}

/** Shared by ttl and rcode: `[TYPE] NAME ...` name matchers on the current question. */
function nameMatcher(matchType: string, arg: string, field: string): (lname: string) => boolean {
  switch (matchType) {
    case 'exact': { const f = fqdn(arg); return (l) => l === f; }
    case 'prefix': { const f = fqdn(arg); return (l) => l.startsWith(f); }
    case 'suffix': { const f = fqdn(arg); return (l) => l.endsWith(f); }
    case 'substring': { const f = fqdn(arg); return (l) => l.includes(f); }
    case 'regex': {
      let re: RegExp;
      try { re = compileGoRegex(arg); } catch { throw new RuleError(`invalid regex pattern in a ${field} rule: ${arg}`); }
      return (l) => re.test(l);
    }
    default:
      throw new RuleError(`${field} rule supports only exact, prefix, suffix, substring, and regex name matching`);
  }
}

/** `N` or `MIN-MAX` (either side may be empty, not both). */
export function parseTTL(v: string): { min: number; max: number } | null {
  const num = (s: string) => (/^\d+$/.test(s) && Number(s) <= 0xffffffff ? Number(s) : null);
  const parts = v.split('-');
  if (parts.length === 1) {
    const n = num(parts[0]);
    return n === null ? null : { min: n, max: n };
  }
  if (parts.length !== 2 || (parts[0] === '' && parts[1] === '')) return null;
  const min = parts[0] === '' ? 0 : num(parts[0]);
  const max = parts[1] === '' ? 2147483647 : num(parts[1]);
  if (min === null || max === null || min > max) return null;
  return { min, max };
}

function ttlRule(mode: Mode, args: string[]): Rule {
  if (args.length < 2) throw new RuleError(`too few (${args.length}) arguments for a ttl rule`);
  if (args.length > 3) throw new RuleError('too many arguments for a ttl rule');
  const value = args[args.length - 1];
  const ttl = parseTTL(value);
  if (!ttl) throw new RuleError(`invalid TTL '${value}' for a ttl rule`);
  const match = args.length === 3 ? nameMatcher(args[0].toLowerCase(), args[1], 'ttl') : nameMatcher('exact', args[0], 'ttl');
  const rr: ResponseRule = { kind: 'ttl', ...ttl };
  return { mode, apply: (q) => (match(q.name.toLowerCase()) ? [rr] : null) };
}

const RCODES: Record<string, number> = { ...RCODE, NOTIMPL: RCODE.NOTIMP, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADMODE: 19, BADNAME: 20, BADALG: 21, BADTRUNC: 22, BADCOOKIE: 23 };

function rcodeValue(v: string): number | null {
  if (/^\d+$/.test(v) && Number(v) <= 23) return Number(v);
  return RCODES[v.toUpperCase()] ?? null;
}

function rcodeRule(mode: Mode, args: string[]): Rule {
  if (args.length < 3) throw new RuleError(`too few (${args.length}) arguments for a rcode rule`);
  if (args.length > 4) throw new RuleError('too many arguments for a rcode rule');
  const [oldText, newText] = args.slice(-2);
  const from = rcodeValue(oldText);
  if (from === null) throw new RuleError(`invalid matching RCODE '${oldText}' for a rcode rule`);
  const to = rcodeValue(newText);
  if (to === null) throw new RuleError(`invalid replacement RCODE '${newText}' for a rcode rule`);
  const match = args.length === 4 ? nameMatcher(args[0].toLowerCase(), args[1], 'rcode') : nameMatcher('exact', args[0], 'rcode');
  const rr: ResponseRule = { kind: 'rcode', from, to };
  return { mode, apply: (q) => (match(q.name.toLowerCase()) ? [rr] : null) };
}

function typeRule(mode: Mode, args: string[]): Rule {
  const from = typeNumber(args[0]);
  if (from === undefined) throw new RuleError(`invalid type "${args[0].toUpperCase()}"`);
  const to = typeNumber(args[1]);
  if (to === undefined) throw new RuleError(`invalid type "${args[1].toUpperCase()}"`);
  return { mode, apply: (q) => (q.qtype === from ? ((q.qtype = to), []) : null) };
}

const CLASSES: Record<string, number> = { IN: 1, CH: 3, CHAOS: 3, HS: 4, NONE: 254, ANY: 255 };

function classRule(mode: Mode, args: string[]): Rule {
  const from = CLASSES[args[0].toUpperCase()];
  if (from === undefined) throw new RuleError(`invalid class "${args[0].toUpperCase()}"`);
  const to = CLASSES[args[1].toUpperCase()];
  if (to === undefined) throw new RuleError(`invalid class "${args[1].toUpperCase()}"`);
  return { mode, apply: (q) => (q.qclass === from ? ((q.qclass = to), []) : null) };
}

/** One rule from its flattened arguments (`[continue|stop] FIELD ...`). */
export function newRule(args: string[]): Rule {
  if (args.length === 0) throw new RuleError('no rule type specified for rewrite');
  const first = args[0].toLowerCase();
  let mode: Mode = 'stop';
  let start = 1;
  let field = first;
  if (first === 'continue' || first === 'stop') {
    if (args.length < 2) throw new RuleError(`${first} rule must begin with a rule type`);
    mode = first;
    field = args[1].toLowerCase();
    start = 2;
  }
  const rest = args.slice(start);
  switch (field) {
    case 'answer':
      throw new RuleError('response rewrites must begin with a name rule');
    case 'name':
      return nameRule(mode, rest);
    case 'class':
    case 'type':
      if (rest.length !== 2) throw new RuleError(`${field} rules must have exactly two arguments`);
      return field === 'type' ? typeRule(mode, rest) : classRule(mode, rest);
    case 'ttl':
      return ttlRule(mode, rest);
    case 'rcode':
      return rcodeRule(mode, rest);
    case 'edns0':
    case 'cname':
      throw new RuleError(`the ${field} field is not supported by kdns`);
    default:
      throw new RuleError(`invalid rule type "${args[0]}"`);
  }
}
