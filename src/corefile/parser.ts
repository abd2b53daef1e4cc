// Corefile parser: tokens -> server blocks of directives, with imports, snippets and environment
// variables resolved. Follows CoreDNS's Caddy v1 fork (coredns/caddy caddyfile/parse.go):
//
// - A server block is `KEY [KEY...] { directives }`. Keys end with their line unless a key ends in
//   a comma (then the next one may follow on the next line); `a,b` is also two keys. The `{` may
//   sit on the next line. A file holding a single server block may leave out the braces: then every
//   following line up to the end of the file is a directive of that block.
// - A directive is one line: `name args... [{ sub-directive lines }]`. Sub-blocks nest. As a
//   convenience (Caddy would reject these) a `}` may close a block on the same line as the last
//   directive, so `health { lameduck 5s }` works.
// - `import ARG` as the first token of a line (or right after a `{`) is replaced by the tokens of a
//   snippet named ARG or of the files ARG names (a path or glob, relative to the directory of the
//   file holding the import). It works anywhere: between server blocks, in blocks, in sub-blocks.
//   Like Caddy, imports splice tokens, so they are expanded lazily as the parser reaches them.
// - `(name) { ... }` defines a snippet; its tokens are stored unparsed until imported.
// - `{$VAR}` / `{%VAR%}` are substituted in keys, directive names, arguments and import arguments.
//
// Differences from CoreDNS: import cycles (snippets or files) are reported as such instead of
// running into the expansion cap; a block whose keys are all empty (e.g. an unset `{$ZONE}`) is
// dropped with a warning instead of silently; the `quoted` flag keeps `"{"` from acting as a brace.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { expandEnv } from './env.js';
import type { Env } from './env.js';
import { glob, hasGlobMeta } from './glob.js';
import { KeyError, parseServerKey } from './keys.js';
import { isCloseBrace, isOpenBrace, lex } from './lexer.js';
import type { LexToken } from './lexer.js';
import { ConfigError } from './types.js';
import type { Directive, ServerBlock, ServerKey, Token } from './types.js';

export interface ParseOptions {
  /** Variables for `{$VAR}` / `{%VAR%}`; defaults to process.env. */
  env?: Env;
  /** Reads an imported (or, for loadCorefile, the main) file; defaults to fs.readFileSync utf8.
   *  Glob imports still list directories through node:fs. */
  readFile?: (path: string) => string;
  /** When set, keys without a port get this one and checkDuplicates runs; otherwise `dns://`
   *  keys without a port keep `port: null` for the caller to fill in. */
  defaultPort?: number;
  /** Receives non-fatal problems (an import glob without matches, a block without keys). */
  warn?: (message: string) => void;
  /** Cap on expanded imports (snippets and files together); CoreDNS allows 10000. */
  maxImports?: number;
}

export const MAX_IMPORTS = 10000;

/** Parses Corefile text. `file` names it in errors and anchors relative imports. */
export function parseCorefile(text: string, file: string, opts: ParseOptions = {}): ServerBlock[] {
  const blocks = new Parser(text, file, opts).parseAll();
  if (opts.defaultPort !== undefined) {
    for (const b of blocks) for (const k of b.keys) k.port ??= opts.defaultPort;
    checkDuplicates(blocks, opts.defaultPort);
  }
  return blocks;
}

/** Reads and parses the Corefile at `file`. */
export function loadCorefile(file: string, opts: ParseOptions = {}): ServerBlock[] {
  let text: string;
  try {
    text = opts.readFile ? opts.readFile(file) : fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`unable to read Corefile ${file}: ${(e as Error).message}`);
  }
  return parseCorefile(text, file, opts);
}

/**
 * The same zone on the same scheme and port in two places cannot be served. Throws a ConfigError
 * with CoreDNS's wording: `cannot serve dns://example.org.:53 - it is already defined`.
 */
export function checkDuplicates(blocks: ServerBlock[], defaultPort: number): void {
  const seen = new Set<string>();
  for (const b of blocks) {
    for (const k of b.keys) {
      const port = k.port ?? defaultPort;
      for (const z of k.zones) {
        const id = `${k.scheme}://${z}:${port}`;
        if (seen.has(id)) throw new ConfigError(`cannot serve ${id} - it is already defined`, k.file ?? b.file, k.line ?? b.line);
        seen.add(id);
      }
    }
  }
}

/** A token plus the imports it came through (`snippet "x"`, `file /abs`), for cycle detection. */
interface PTok extends LexToken {
  chain: readonly string[];
}

function fail(at: { file: string; line: number }, message: string): ConfigError {
  return new ConfigError(message, at.file, at.line);
}

class Parser {
  private toks: PTok[];
  private pos = 0;
  private readonly snippets = new Map<string, PTok[]>();
  private imports = 0;
  private readonly env: Env;
  private readonly maxImports: number;

  constructor(
    text: string,
    file: string,
    private readonly opts: ParseOptions,
  ) {
    this.env = opts.env ?? process.env;
    this.maxImports = opts.maxImports ?? MAX_IMPORTS;
    const chain = [`file ${path.resolve(file)}`];
    this.toks = lex(text, file).map((t) => ({ ...t, chain }));
  }

  parseAll(): ServerBlock[] {
    const blocks: ServerBlock[] = [];
    for (;;) {
      this.expandImports();
      const t = this.peek();
      if (!t) return blocks;
      if (isCloseBrace(t)) throw fail(t, "Unexpected '}' because no matching opening brace");
      if (isOpenBrace(t)) throw fail(t, "Unexpected '{': a server block needs a key (zone) before its '{'");
      const b = this.serverBlock();
      if (b) blocks.push(b);
    }
  }

  private peek(): PTok | undefined {
    return this.toks[this.pos];
  }

  private next(): PTok | undefined {
    return this.toks[this.pos++];
  }

  private sub(text: string): string {
    return expandEnv(text, this.env);
  }

  private serverBlock(): ServerBlock | null {
    const first = this.peek()!;
    const keyToks = this.keys();

    if (keyToks.length === 1 && /^\(.*\)$/.test(keyToks[0]!.text)) {
      this.snippet(keyToks[0]!.text.slice(1, -1), keyToks[0]!.tok);
      return null;
    }

    const keys: ServerKey[] = keyToks.map(({ text, tok }) => {
      try {
        return { ...parseServerKey(text), file: tok.file, line: tok.line };
      } catch (e) {
        if (e instanceof KeyError) throw fail(tok, e.message);
        throw e;
      }
    });

    const open = this.peek();
    let directives: Directive[];
    if (open && isOpenBrace(open)) {
      this.pos++;
      directives = this.body(open);
    } else {
      directives = this.bodyToEof();
    }

    if (keys.length === 0) {
      this.opts.warn?.(`${first.file}:${first.line} - server block without keys (empty after environment substitution?) is ignored`);
      return null;
    }
    return { keys, directives, file: first.file, line: first.line };
  }

  /** Keys of a server block (env-substituted, split at commas, empty ones dropped). */
  private keys(): { text: string; tok: PTok }[] {
    const out: { text: string; tok: PTok }[] = [];
    let t = this.next()!;
    for (;;) {
      const text = this.sub(t.text);
      for (const part of text.split(',')) if (part !== '') out.push({ text: part, tok: t });
      // A trailing comma says another key follows, possibly on the next line.
      const expecting = text.endsWith(',');
      if (expecting && this.peek()?.lineStart) this.expandImports();
      const n = this.peek();
      if (!n) {
        if (expecting) throw fail(t, "Unexpected EOF: expecting another server block key after ','");
        return out;
      }
      if (isOpenBrace(n)) {
        if (expecting) throw fail(n, "Expected another address but had '{' - check for extra comma");
        return out;
      }
      if (n.lineStart && !expecting) return out;
      if (isCloseBrace(n)) throw fail(n, "Unexpected '}' because no matching opening brace");
      t = this.next()!;
    }
  }

  /** `(name) { tokens }`: stores the raw tokens; they are parsed where imported. */
  private snippet(name: string, at: PTok): void {
    const open = this.peek();
    if (!open || !isOpenBrace(open)) {
      throw fail(open ?? at, `Unexpected ${open ? `'${open.text}'` : 'EOF'}: snippet (${name}) needs a '{' block`);
    }
    if (this.snippets.has(name)) throw fail(at, `redeclaration of previously declared snippet ${name}`);
    this.pos++;
    const body: PTok[] = [];
    let depth = 1;
    for (;;) {
      const t = this.next();
      if (!t) throw fail(open, `Unexpected EOF: the '{' of snippet (${name}) is never closed`);
      if (isCloseBrace(t) && --depth === 0) break;
      if (isOpenBrace(t)) depth++;
      body.push(t);
    }
    // CoreDNS rejects a snippet that imports itself at definition time, used or not.
    for (let i = 0; i + 1 < body.length; i++) {
      const t = body[i]!;
      const atStart = i === 0 || t.lineStart || isOpenBrace(body[i - 1]!);
      if (atStart && !t.quoted && t.text === 'import' && this.sub(body[i + 1]!.text) === name) {
        throw fail(t, `snippet ${name} imports itself`);
      }
    }
    this.snippets.set(name, body);
  }

  /** Directives up to the `}` matching `open` (already consumed). */
  private body(open: PTok): Directive[] {
    const out: Directive[] = [];
    for (;;) {
      this.expandImports();
      const t = this.next();
      if (!t) throw fail(open, "Unexpected EOF: this '{' is never closed (missing '}')");
      if (isCloseBrace(t)) return out;
      if (isOpenBrace(t)) throw fail(t, "Unexpected '{': a block must follow a directive on the same line");
      out.push(this.directive(t));
    }
  }

  /** Directives of a server block written without braces: up to the end of the input. */
  private bodyToEof(): Directive[] {
    const out: Directive[] = [];
    for (;;) {
      this.expandImports();
      const t = this.next();
      if (!t) return out;
      if (isCloseBrace(t)) throw fail(t, "Unexpected '}' because no matching opening brace");
      if (isOpenBrace(t)) throw fail(t, "Unexpected '{': a block must follow a directive on the same line");
      out.push(this.directive(t));
    }
  }

  /** `name args... [{ ... }]` on one line; `nameTok` is consumed. */
  private directive(nameTok: PTok): Directive {
    const args: string[] = [];
    const argTokens: Token[] = [];
    let block: Directive[] | null = null;
    for (;;) {
      const t = this.peek();
      if (!t || t.lineStart || isCloseBrace(t)) break;
      this.pos++;
      if (isOpenBrace(t)) {
        block = this.body(t);
        const after = this.peek();
        if (after && !after.lineStart && !isCloseBrace(after)) {
          throw fail(after, `Unexpected '${after.text}' after '}': a directive ends with its block`);
        }
        break;
      }
      const text = this.sub(t.text);
      args.push(text);
      argTokens.push(t.quoted ? { text, file: t.file, line: t.line, quoted: true } : { text, file: t.file, line: t.line });
    }
    return { name: this.sub(nameTok.text), args, argTokens, block, file: nameTok.file, line: nameTok.line };
  }

  /** Replaces `import ARG` at the cursor (repeatedly) with what it names. */
  private expandImports(): void {
    for (;;) {
      const t = this.peek();
      if (!t || t.quoted || t.text !== 'import') return;
      const arg = this.toks[this.pos + 1];
      if (!arg || arg.lineStart || isOpenBrace(arg) || isCloseBrace(arg)) {
        throw fail(t, 'import needs one argument: a file, a glob pattern or a snippet name');
      }
      const extra = this.toks[this.pos + 2];
      if (extra && !extra.lineStart && !isCloseBrace(extra)) {
        throw fail(extra, 'Import takes only one argument (glob pattern or file)');
      }
      const pattern = this.sub(arg.text);
      if (pattern === '') throw fail(arg, 'Import requires a non-empty filepath');
      if (++this.imports > this.maxImports) throw fail(t, `maximum number of imports (${this.maxImports}) exceeded`);

      const imported = this.snippets.has(pattern) ? this.snippetTokens(t, pattern) : this.fileTokens(t, arg, pattern);
      this.toks = this.toks.slice(0, this.pos).concat(imported, this.toks.slice(this.pos + 2));
    }
  }

  private snippetTokens(at: PTok, name: string): PTok[] {
    const chain = this.extendChain(at, `snippet ${name}`);
    // The first token starts a line wherever the import sat, so that it begins a directive.
    return this.snippets.get(name)!.map((t, i) => ({ ...t, chain, lineStart: i === 0 || t.lineStart }));
  }

  private fileTokens(at: PTok, arg: PTok, pattern: string): PTok[] {
    const full = path.isAbsolute(pattern) ? pattern : path.join(path.dirname(path.resolve(at.file)), pattern);
    if (full.includes('[')) throw fail(arg, `Character classes ([...]) are not supported in import patterns: ${pattern}`);
    let files: string[];
    if (hasGlobMeta(full)) {
      files = glob(full);
      if (files.length === 0) this.opts.warn?.(`${at.file}:${at.line} - No files matching import glob pattern: ${pattern}`);
    } else {
      files = [full];
    }
    const out: PTok[] = [];
    for (const f of files) {
      const chain = this.extendChain(at, `file ${f}`);
      let text: string;
      try {
        text = this.opts.readFile ? this.opts.readFile(f) : fs.readFileSync(f, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && !hasGlobMeta(full)) {
          throw fail(arg, `File to import not found: ${pattern} (and no snippet of that name is defined before this import)`);
        }
        if (code === 'EISDIR') throw fail(arg, `Could not import ${f}: is a directory`);
        throw fail(arg, `Could not import ${f}: ${(e as Error).message}`);
      }
      for (const t of lex(text, f)) out.push({ ...t, chain });
    }
    return out;
  }

  private extendChain(at: PTok, id: string): readonly string[] {
    if (at.chain.includes(id)) {
      const from = at.chain.indexOf(id);
      const cycle = [...at.chain.slice(from), id].join(' -> ');
      throw fail(at, `import cycle: ${cycle}`);
    }
    return [...at.chain, id];
  }
}
