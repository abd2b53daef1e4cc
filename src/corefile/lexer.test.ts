import { describe, it, expect } from 'vitest';

import { lex } from './lexer.js';
import { ConfigError } from './types.js';

const texts = (src: string): string[] => lex(src, 'Corefile').map((t) => t.text);

describe('lex', () => {
  it('splits on whitespace and records file and line of every token', () => {
    const toks = lex('a b\tc\n\n  d', 'Corefile');
    expect(toks.map((t) => [t.text, t.file, t.line])).toEqual([
      ['a', 'Corefile', 1],
      ['b', 'Corefile', 1],
      ['c', 'Corefile', 1],
      ['d', 'Corefile', 3],
    ]);
  });

  it('marks the first token of each line so that directives end with their line', () => {
    expect(lex('a b\nc', 'F').map((t) => t.lineStart)).toEqual([true, false, true]);
  });

  it('groups double-quoted text into one quoted token', () => {
    const [t] = lex('"hello world"', 'F');
    expect(t).toMatchObject({ text: 'hello world', quoted: true });
    expect(lex('plain', 'F')[0]!.quoted).toBe(false);
  });

  it('keeps an empty quoted token', () => {
    expect(texts('a "" b')).toEqual(['a', '', 'b']);
  });

  it('only unescapes \\" inside quotes and keeps other backslashes', () => {
    expect(texts(String.raw`"say \"hi\"" "a\tb" "c\\d"`)).toEqual(['say "hi"', String.raw`a\tb`, String.raw`c\\d`]);
  });

  it('treats a quote in the middle of a token as an ordinary character', () => {
    expect(texts('foo"bar baz"')).toEqual(['foo"bar', 'baz"']);
  });

  it('lets a quoted token span lines, numbered by its first line, without starting a new line after it', () => {
    const toks = lex('a "x\ny" b\nc', 'F');
    expect(toks.map((t) => [t.text, t.line, t.lineStart])).toEqual([
      ['a', 1, true],
      ['x\ny', 1, false],
      ['b', 2, false],
      ['c', 3, true],
    ]);
  });

  it('drops comments to the end of the line, also in the middle of a token', () => {
    expect(texts('# full line\na b # trailing\nfoo#bar baz\nc')).toEqual(['a', 'b', 'foo', 'c']);
  });

  it('does not treat # inside quotes as a comment', () => {
    expect(texts('"a # b" c')).toEqual(['a # b', 'c']);
  });

  it('has no line continuation: a trailing backslash is an ordinary character', () => {
    const toks = lex('a \\\nb', 'F');
    expect(toks.map((t) => [t.text, t.lineStart])).toEqual([
      ['a', true],
      ['\\', false],
      ['b', true],
    ]);
  });

  it('makes braces that stand alone separate tokens', () => {
    expect(texts('. {\n  whoami\n}')).toEqual(['.', '{', 'whoami', '}']);
  });

  it('splits a { glued to the last token of a line', () => {
    const toks = lex('.:53{\n  health{ # comment\n  }\n}', 'F');
    expect(toks.map((t) => t.text)).toEqual(['.:53', '{', 'health', '{', '}', '}']);
    expect(toks[1]).toMatchObject({ line: 1, lineStart: false });
  });

  it('leaves a { glued inside a line, and a quoted {, as text', () => {
    expect(texts('a{b c')).toEqual(['a{b', 'c']);
    expect(lex('"{"', 'F')[0]).toMatchObject({ text: '{', quoted: true });
    expect(texts('{$VAR} x')).toEqual(['{$VAR}', 'x']);
  });

  it('ignores a byte order mark and carriage returns', () => {
    expect(lex('\ufeffa\r\nb\r\n', 'F').map((t) => [t.text, t.line])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('rejects an unterminated quote with the file and line where it starts', () => {
    expect(() => lex('a\nb "open\nmore', 'Corefile')).toThrow(ConfigError);
    expect(() => lex('a\nb "open\nmore', 'Corefile')).toThrow('Corefile:2 - Error during parsing: Unterminated quoted string');
  });
});
