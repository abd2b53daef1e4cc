// Kubernetes label selectors in their string form (the `labelSelector` query parameter):
// `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, `a>1`, `a<1`, comma-separated
// (all must hold). The API server filters for us; snapshot files are filtered with this.

export type Requirement =
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; value: number };

export type LabelSelector = Requirement[];

export class SelectorError extends Error {}

/** Splits at commas outside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) throw new SelectorError(`unbalanced ')' in selector '${s}'`);
  }
  if (depth !== 0) throw new SelectorError(`unbalanced '(' in selector '${s}'`);
  out.push(s.slice(start));
  return out;
}

const KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function key(k: string, whole: string): string {
  if (!KEY.test(k)) throw new SelectorError(`invalid label key '${k}' in selector '${whole}'`);
  return k;
}

function value(v: string, whole: string): string {
  if (!VALUE.test(v)) throw new SelectorError(`invalid label value '${v}' in selector '${whole}'`);
  return v;
}

export function parseSelector(sel: string): LabelSelector {
  const reqs: LabelSelector = [];
  if (sel.trim() === '') return reqs;
  for (const raw of splitTop(sel)) {
    const part = raw.trim();
    if (part === '') throw new SelectorError(`empty requirement in selector '${sel}'`);
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^(\S+)\s+(in|notin)\s*\((.*)\)$/))) {
      const values = m[3]!.split(',').map((v) => value(v.trim(), sel));
      reqs.push({ key: key(m[1]!, sel), op: m[2] as 'in' | 'notin', values });
    } else if ((m = part.match(/^([^=!<>\s]+)\s*(==|=|!=)\s*(\S*)$/))) {
      const op = m[2] === '!=' ? 'notin' : 'in';
      reqs.push({ key: key(m[1]!, sel), op, values: [value(m[3]!, sel)] });
    } else if ((m = part.match(/^([^=!<>\s]+)\s*([<>])\s*(-?\d+)$/))) {
      reqs.push({ key: key(m[1]!, sel), op: m[2] === '>' ? 'gt' : 'lt', value: Number(m[3]) });
    } else if ((m = part.match(/^!\s*(\S+)$/))) {
      reqs.push({ key: key(m[1]!, sel), op: 'notexists' });
    } else if (KEY.test(part)) {
      reqs.push({ key: part, op: 'exists' });
    } else {
      throw new SelectorError(`cannot parse requirement '${part}' in selector '${sel}'`);
    }
  }
  return reqs;
}

export function matchesSelector(sel: LabelSelector, labels: Record<string, string> | undefined | null): boolean {
  const l = labels ?? {};
  for (const r of sel) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = has ? l[r.key]! : undefined;
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case 'notexists':
        if (has) return false;
        break;
      case 'in':
        if (v === undefined || !r.values.includes(v)) return false;
        break;
      case 'notin':
        if (v !== undefined && r.values.includes(v)) return false;
        break;
      case 'gt':
      case 'lt': {
        if (v === undefined || !/^-?\d+$/.test(v)) return false;
        const n = Number(v);
        if (r.op === 'gt' ? !(n > r.value) : !(n < r.value)) return false;
        break;
      }
    }
  }
  return true;
}
