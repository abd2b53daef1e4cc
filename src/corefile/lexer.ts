// Corefile lexer. Mirrors the lexer of CoreDNS's Caddy v1 fork (coredns/caddy caddyfile/lexer.go):
//
// - Tokens are separated by whitespace (Go's unicode.IsSpace). A leading byte order mark is dropped.
// - A token that *starts* with `"` runs to the next unescaped `"` and may span lines; inside it
//   only `\"` is an escape (any other backslash is kept as is). A `"` in the middle of a token is
//   an ordinary character. Unlike Caddy (which silently accepts it) an unterminated quote is an error.
// - `#` outside quotes starts a comment up to the end of the line, even in the middle of a token
//   (`foo#bar` is the token `foo`).
// - Backslashes outside quotes are ordinary characters: there is no line continuation. A directive
//   is exactly one line; only a `{ }` block or a quoted string carries it over several lines.
// - Newlines are not tokens, but each token records whether it is the first on its line
//   (`lineStart`), which is what ends a directive's arguments.
//
// Braces: Caddy only treats a token that is exactly `{` or `}` as a brace. As a convenience we also
// split an unquoted token that ends in `{` and is the last on its line (`health{` -> `health` `{`),
// since such a token can only be a typo for a block opener. Quoted braces (`"{"`) are plain text.

import { ConfigError } from './types.js';
import type { Token } from './types.js';

export interface LexToken extends Token {
  quoted: boolean;
  /** True for the first token on a line (also the first token of a file). */
  lineStart: boolean;
}

export function isSpace(ch: string): boolean {
  // Go's unicode.IsSpace: JS \s minus the BOM, plus NEL.
  return ch === '\u0085' || (ch !== '\ufeff' && /\s/.test(ch));
}

export function lex(input: string, file: string): LexToken[] {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const tokens: LexToken[] = [];
  let line = 1;
  let val = '';
  let inToken = false;
  let quoted = false;
  let escaped = false;
  let comment = false;
  let atLineStart = true;
  let tokLine = 1;
  let tokLineStart = false;

  const emit = (): void => {
    tokens.push({ text: val, file, line: tokLine, quoted, lineStart: tokLineStart });
    val = '';
    inToken = false;
    quoted = false;
  };

  for (const ch of text) {
    if (quoted) {
      if (escaped) {
        if (ch !== '"') val += '\\';
        val += ch;
        escaped = false;
      } else if (ch === '\\') {
        escaped = true;
        continue;
      } else if (ch === '"') {
        emit();
        continue;
      } else {
        val += ch;
      }
      if (ch === '\n') line++;
      continue;
    }
    if (isSpace(ch)) {
      if (inToken) emit();
      if (ch === '\n') {
        line++;
        comment = false;
        atLineStart = true;
      }
      continue;
    }
    if (comment) continue;
    if (ch === '#') {
      if (inToken) emit();
      comment = true;
      continue;
    }
    if (!inToken) {
      inToken = true;
      tokLine = line;
      tokLineStart = atLineStart;
      atLineStart = false;
      if (ch === '"') {
        quoted = true;
        continue;
      }
    }
    val += ch;
  }
  if (quoted) throw new ConfigError('Unterminated quoted string', file, tokLine);
  if (inToken) emit();
  return splitTrailingBraces(tokens);
}

/** `foo{` as the last token of a line becomes `foo` `{` (see the header comment). */
function splitTrailingBraces(tokens: LexToken[]): LexToken[] {
  const out: LexToken[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const lastOnLine = i === tokens.length - 1 || tokens[i + 1]!.lineStart;
    if (lastOnLine && !t.quoted && t.text.length > 1 && t.text.endsWith('{')) {
      out.push({ ...t, text: t.text.slice(0, -1) });
      out.push({ text: '{', file: t.file, line: t.line, quoted: false, lineStart: false });
    } else {
      out.push(t);
    }
  }
  return out;
}

/** An unquoted `{`: opens a block. */
export function isOpenBrace(t: { text: string; quoted?: boolean }): boolean {
  return t.text === '{' && !t.quoted;
}

/** An unquoted `}`: closes a block. */
export function isCloseBrace(t: { text: string; quoted?: boolean }): boolean {
  return t.text === '}' && !t.quoted;
}
