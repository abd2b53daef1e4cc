// The part of Go's text/template that CoreDNS template examples use: `{{ .Field.Sub }}`,
// `{{ index .Match 1 }}`, `{{ index .Group "name" }}`, `{{ parseInt .Group.b 16 8 }}`, pipes
// (`{{ .Group.b | parseInt 16 8 }}`... not valid Go either way, but `x | f` passes x last),
// parentheses, string/number literals, `{{- -}}` trimming and `{{/* comments */}}`. Anything else
// (if/range/with/define, variables) is rejected when the Corefile is read.

export class TemplateSyntaxError extends Error {}
export class TemplateExecError extends Error {}

type Value = string | number | string[] | Record<string, string> | undefined | null | object;

type Node =
  | { kind: 'field'; path: string[] }
  | { kind: 'str'; value: string }
  | { kind: 'num'; value: number }
  | { kind: 'call'; fn: string; args: Node[] };

type Part = string | Node;

export type TemplateData = Record<string, unknown>;

const FUNCS = new Set(['index', 'parseInt', 'printf', 'print', 'len']);

/** Splits one action into tokens: fields, identifiers, strings, numbers, parentheses, pipes. */
function tokenize(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(' || c === ')' || c === '|') { out.push(c); i++; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new TemplateSyntaxError(`unterminated quoted string in "${src}"`);
      out.push(src.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw new TemplateSyntaxError(`unterminated raw string in "${src}"`);
      out.push(`"${src.slice(i + 1, j).replace(/["\\]/g, '\\$&')}"`);
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < src.length && !/[\s()|"]/.test(src[j])) j++;
    out.push(src.slice(i, j));
    i = j;
  }
  return out;
}

class Parser {
  private pos = 0;
  constructor(private readonly toks: string[], private readonly src: string) {}

  parsePipeline(): Node {
    let node = this.parseCommand();
    while (this.peek() === '|') {
      this.pos++;
      const cmd = this.parseCommand();
      if (cmd.kind !== 'call') throw new TemplateSyntaxError(`cannot pipe into a non-function in "${this.src}"`);
      node = { kind: 'call', fn: cmd.fn, args: [...cmd.args, node] };
    }
    return node;
  }

  private peek(): string | undefined { return this.toks[this.pos]; }

  private parseCommand(): Node {
    const first = this.peek();
    if (first === undefined) throw new TemplateSyntaxError(`missing value in "${this.src}"`);
    if (FUNCS.has(first)) {
      this.pos++;
      const args: Node[] = [];
      while (this.peek() !== undefined && this.peek() !== '|' && this.peek() !== ')') args.push(this.parseOperand());
      return { kind: 'call', fn: first, args };
    }
    const op = this.parseOperand();
    if (this.peek() !== undefined && this.peek() !== '|' && this.peek() !== ')') {
      throw new TemplateSyntaxError(`unexpected "${this.peek()}" in "${this.src}"`);
    }
    return op;
  }

  private parseOperand(): Node {
    const t = this.toks[this.pos++];
    if (t === undefined) throw new TemplateSyntaxError(`missing value in "${this.src}"`);
    if (t === '(') {
      const inner = this.parsePipeline();
      if (this.toks[this.pos++] !== ')') throw new TemplateSyntaxError(`unclosed parenthesis in "${this.src}"`);
      return inner;
    }
    if (t.startsWith('"')) return { kind: 'str', value: JSON.parse(t) as string };
    if (/^-?\d+$/.test(t)) return { kind: 'num', value: Number(t) };
    if (t === '.') return { kind: 'field', path: [] };
    if (/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(t)) return { kind: 'field', path: t.slice(1).split('.') };
    if (t.startsWith('$')) throw new TemplateSyntaxError(`template variables are not supported by kdns: "${this.src}"`);
    throw new TemplateSyntaxError(`unsupported template syntax "${t}" in "${this.src}" (kdns implements fields, index and parseInt)`);
  }

  done(): boolean { return this.pos >= this.toks.length; }
}

export interface Template {
  source: string;
  execute(data: TemplateData): string;
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

export function parseTemplate(source: string, allowedFields: ReadonlySet<string>): Template {
  const parts: Part[] = [];
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    if (open < 0) { parts.push(source.slice(i)); break; }
    let text = source.slice(i, open);
    let start = open + 2;
    if (source[start] === '-' && /\s/.test(source[start + 1] ?? '')) { text = text.trimEnd(); start++; }
    const close = source.indexOf('}}', start);
    if (close < 0) throw new TemplateSyntaxError(`unclosed action in "${source}"`);
    let end = close;
    let trimAfter = false;
    if (source[close - 1] === '-' && /\s/.test(source[close - 2] ?? '')) { end = close - 1; trimAfter = true; }
    if (text) parts.push(text);
    const action = source.slice(start, end).trim();
    i = close + 2;
    if (trimAfter) while (i < source.length && /\s/.test(source[i])) i++;
    if (action.startsWith('/*')) {
      if (!action.endsWith('*/')) throw new TemplateSyntaxError(`unclosed comment in "${source}"`);
      continue;
    }
    const toks = tokenize(action);
    if (toks.length === 0) throw new TemplateSyntaxError(`missing value for command in "${source}"`);
    if (KEYWORDS.has(toks[0])) throw new TemplateSyntaxError(`"{{ ${toks[0]} }}" is not supported by kdns templates`);
    const p = new Parser(toks, action);
    const node = p.parsePipeline();
    if (!p.done()) throw new TemplateSyntaxError(`unexpected tokens in "${action}"`);
    checkFields(node, allowedFields, action);
    parts.push(node);
  }
  return {
    source,
    execute(data) {
      let out = '';
      for (const part of parts) out += typeof part === 'string' ? part : print(evaluate(part, data));
      return out;
    },
  };
}

function checkFields(n: Node, allowed: ReadonlySet<string>, src: string): void {
  if (n.kind === 'field' && n.path.length && !allowed.has(n.path[0])) {
    throw new TemplateSyntaxError(`field .${n.path[0]} is not supported by kdns templates in "${src}"`);
  }
  if (n.kind === 'call') n.args.forEach((a) => checkFields(a, allowed, src));
}

function evaluate(n: Node, data: TemplateData): Value {
  switch (n.kind) {
    case 'str': return n.value;
    case 'num': return n.value;
    case 'field': {
      let v: unknown = data;
      for (const k of n.path) {
        if (v === null || v === undefined || typeof v !== 'object') throw new TemplateExecError(`can't evaluate field ${k}`);
        v = (v as Record<string, unknown>)[k];
      }
      // A missing map key is the zero value for Go's map[string]string: the empty string.
      return (v ?? '') as Value;
    }
    case 'call': {
      const args = n.args.map((a) => evaluate(a, data));
      return call(n.fn, args);
    }
  }
}

function call(fn: string, args: Value[]): Value {
  switch (fn) {
    case 'index': {
      let v = args[0];
      for (const key of args.slice(1)) {
        if (Array.isArray(v)) {
          if (typeof key !== 'number') throw new TemplateExecError('index of slice with non-integer');
          if (key < 0 || key >= v.length) throw new TemplateExecError(`index out of range: ${key}`);
          v = v[key];
        } else if (v && typeof v === 'object') {
          v = (v as Record<string, string>)[String(key)] ?? '';
        } else {
          throw new TemplateExecError(`can't index item of type ${typeof v}`);
        }
      }
      return v;
    }
    case 'parseInt': {
      // strconv.ParseUint(s, base, bits)
      if (args.length !== 3) throw new TemplateExecError('wrong number of args for parseInt: want 3');
      const [s, base, bits] = args;
      const b = Number(base);
      const text = String(s);
      const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, b || 10);
      if (!text || ![...text.toLowerCase()].every((c) => digits.includes(c))) {
        throw new TemplateExecError(`strconv.ParseUint: parsing "${text}": invalid syntax`);
      }
      const v = BigInt(parseInt(text, b || 10));
      if (Number(bits) > 0 && v >= 1n << BigInt(Number(bits))) {
        throw new TemplateExecError(`strconv.ParseUint: parsing "${text}": value out of range`);
      }
      return Number(v);
    }
    case 'len': {
      const v = args[0];
      if (typeof v === 'string' || Array.isArray(v)) return v.length;
      if (v && typeof v === 'object') return Object.keys(v).length;
      throw new TemplateExecError('len of unsupported type');
    }
    case 'print':
      return args.map(print).join('');
    case 'printf': {
      const [fmt, ...rest] = args;
      let k = 0;
      return String(fmt).replace(/%[sdv%]/g, (m) => (m === '%%' ? '%' : print(rest[k++])));
    }
    default:
      throw new TemplateExecError(`unknown function ${fn}`);
  }
}

function print(v: Value): string {
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.entries(v as Record<string, string>).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => `${k}:${x}`).join(' ')}]`;
  return String(v);
}
