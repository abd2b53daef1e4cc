import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterEach, beforeEach, describe, it, expect } from 'vitest';

import { loadCorefile, parseCorefile } from './parser.js';
import type { Directive } from './types.js';
import { configErrorOf as errorOf } from './testing.test-helper.js';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-corefile-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes files (relative to the temp dir) and returns the path of the first one. */
function write(files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return path.join(dir, Object.keys(files)[0]!);
}

const names = (ds: Directive[]): string[] => ds.map((d) => [d.name, ...d.args].join(' '));

describe('import of files', () => {
  it('splices a file relative to the Corefile into a server block', () => {
    const corefile = write({ Corefile: '. {\n  errors\n  import conf/plugins.conf\n  log\n}\n', 'conf/plugins.conf': 'whoami\ncache 30\n' });
    const [b] = loadCorefile(corefile, { env: {} });
    expect(names(b!.directives)).toEqual(['errors', 'whoami', 'cache 30', 'log']);
  });

  it('gives imported tokens the imported file path and its own line numbers', () => {
    const corefile = write({ Corefile: '. {\n  import extra\n}\n', extra: '\n\nforward . 1.1.1.1\n' });
    const [b] = loadCorefile(corefile, { env: {} });
    expect(b!.directives[0]).toMatchObject({ name: 'forward', file: path.join(dir, 'extra'), line: 3 });
    expect(b!.directives[0]!.argTokens[1]).toMatchObject({ file: path.join(dir, 'extra'), line: 3 });
  });

  it('imports whole server blocks outside of blocks', () => {
    const corefile = write({ Corefile: 'import zones/a.conf\n. {\n  whoami\n}\n', 'zones/a.conf': 'a.org {\n  log\n}\n' });
    const blocks = loadCorefile(corefile, { env: {} });
    expect(blocks.map((b) => b.keys[0]!.raw)).toEqual(['a.org', '.']);
  });

  it('imports into sub-blocks', () => {
    const corefile = write({ Corefile: '. {\n  forward . 1.1.1.1 {\n    import fwd\n  }\n}\n', fwd: 'max_fails 3\nexpire 5s\n' });
    const [b] = loadCorefile(corefile, { env: {} });
    expect(names(b!.directives[0]!.block!)).toEqual(['max_fails 3', 'expire 5s']);
  });

  it('resolves nested imports relative to the importing file', () => {
    const corefile = write({ Corefile: '. {\n  import sub/a\n}\n', 'sub/a': 'import b\n', 'sub/b': 'whoami\n' });
    expect(names(loadCorefile(corefile, { env: {} })[0]!.directives)).toEqual(['whoami']);
  });

  it('accepts an absolute import path', () => {
    const extra = path.join(dir, 'abs.conf');
    fs.writeFileSync(extra, 'whoami\n');
    expect(names(parseCorefile(`. {\n  import ${extra}\n}`, 'Corefile', { env: {} })[0]!.directives)).toEqual(['whoami']);
  });

  it('substitutes environment variables in the import argument', () => {
    const corefile = write({ Corefile: '. {\n  import {$CONF}.conf\n}\n', 'site.conf': 'whoami\n' });
    expect(names(loadCorefile(corefile, { env: { CONF: 'site' } })[0]!.directives)).toEqual(['whoami']);
  });

  it('treats import in the middle of a line as an ordinary argument', () => {
    const [b] = parseCorefile('. {\n  acl import password\n}', 'Corefile', { env: {} });
    expect(names(b!.directives)).toEqual(['acl import password']);
  });

  it('imports every file a glob matches, in sorted order', () => {
    const corefile = write({
      Corefile: 'import zones/*.conf\n',
      'zones/b.conf': 'b.org {\n  log\n}\n',
      'zones/a.conf': 'a.org {\n  log\n}\n',
      'zones/c.txt': 'c.org {\n  log\n}\n',
      'zones/a1.conf': 'a1.org {\n  log\n}\n',
    });
    const blocks = loadCorefile(corefile, { env: {} });
    expect(blocks.map((b) => b.keys[0]!.raw)).toEqual(['a.org', 'a1.org', 'b.org']);
  });

  it('matches ? as one character and wildcards in directory names', () => {
    const corefile = write({
      Corefile: '. {\n  import d?/p-*\n}\n',
      'd1/p-x': 'one\n',
      'd2/p-y': 'two\n',
      'dd3/p-z': 'three\n',
    });
    expect(names(loadCorefile(corefile, { env: {} })[0]!.directives)).toEqual(['one', 'two']);
  });

  it('only warns when a glob matches nothing', () => {
    const corefile = write({ Corefile: 'import missing/*.conf\n. {\n  whoami\n}\n' });
    const warnings: string[] = [];
    const blocks = loadCorefile(corefile, { env: {}, warn: (m) => warnings.push(m) });
    expect(blocks).toHaveLength(1);
    expect(warnings).toEqual([`${corefile}:1 - No files matching import glob pattern: missing/*.conf`]);
  });

  it('fails when an explicit file is missing', () => {
    const corefile = write({ Corefile: '. {\n  whoami\n  import nope.conf\n}\n' });
    const e = errorOf(() => loadCorefile(corefile, { env: {} }));
    expect(e.message).toContain(`${corefile}:3 - Error during parsing: File to import not found: nope.conf`);
  });

  it('fails when the import names a directory', () => {
    const corefile = write({ Corefile: '. {\n  import sub\n}\n', 'sub/x': 'whoami\n' });
    expect(() => loadCorefile(corefile, { env: {} })).toThrow('is a directory');
  });

  it('rejects import without an argument, with two arguments, or with an empty one', () => {
    expect(() => parseCorefile('. {\n  import\n}', 'Corefile')).toThrow('Corefile:2 - Error during parsing: import needs one argument');
    expect(() => parseCorefile('. {\n  import a b\n}', 'Corefile')).toThrow('Corefile:2 - Error during parsing: Import takes only one argument');
    expect(() => parseCorefile('. {\n  import {$EMPTY}\n}', 'Corefile', { env: {} })).toThrow('Import requires a non-empty filepath');
  });

  it('rejects character classes in patterns', () => {
    expect(() => parseCorefile('import [ab].conf', path.join(dir, 'Corefile'))).toThrow('Character classes');
  });

  it('reports an import cycle between files', () => {
    const corefile = write({ Corefile: '. {\n  import a\n}\n', a: 'import b\n', b: 'whoami\nimport a\n' });
    const e = errorOf(() => loadCorefile(corefile, { env: {} }));
    expect(e.message).toContain(`${path.join(dir, 'b')}:2 - Error during parsing: import cycle: file ${path.join(dir, 'a')} -> file ${path.join(dir, 'b')} -> file ${path.join(dir, 'a')}`);
  });

  it('reports an error inside an imported file at that file and line', () => {
    const corefile = write({ Corefile: '. {\n  import bad\n}\n', bad: 'whoami\nlog "unterminated\n' });
    expect(() => loadCorefile(corefile, { env: {} })).toThrow(`${path.join(dir, 'bad')}:2 - Error during parsing: Unterminated quoted string`);
  });

  it('uses a custom readFile for imported files', () => {
    const files: Record<string, string> = { '/virtual/Corefile': '. {\n  import extra\n}\n', '/virtual/extra': 'whoami\n' };
    const readFile = (p: string): string => {
      const text = files[p];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return text;
    };
    expect(names(loadCorefile('/virtual/Corefile', { env: {}, readFile })[0]!.directives)).toEqual(['whoami']);
  });

  it('reports a Corefile that cannot be read', () => {
    expect(() => loadCorefile(path.join(dir, 'absent'))).toThrow(/unable to read Corefile .*absent/);
  });
});

describe('snippets', () => {
  it('pastes a snippet where it is imported, in any number of blocks', () => {
    const blocks = parseCorefile(
      '(common) {\n  errors\n  cache 30 {\n    disable success\n  }\n}\na.org {\n  import common\n  whoami\n}\nb.org {\n  import common\n}\n',
      'Corefile',
      { env: {} },
    );
    expect(blocks).toHaveLength(2);
    expect(names(blocks[0]!.directives)).toEqual(['errors', 'cache 30', 'whoami']);
    expect(names(blocks[1]!.directives)).toEqual(['errors', 'cache 30']);
    expect(names(blocks[1]!.directives[1]!.block!)).toEqual(['disable success']);
    expect(blocks[0]!.directives[0]).toMatchObject({ file: 'Corefile', line: 2 });
  });

  it('lets a snippet import another snippet and be imported right after {', () => {
    const blocks = parseCorefile('(a) {\n  whoami\n}\n(b) { import a\n  log\n}\n. { import b\n}\n', 'Corefile', { env: {} });
    expect(names(blocks[0]!.directives)).toEqual(['whoami', 'log']);
  });

  it('pastes snippets into sub-blocks', () => {
    const blocks = parseCorefile('(opts) {\n  max_fails 3\n}\n. {\n  forward . 1.1.1.1 {\n    import opts\n  }\n}\n', 'Corefile', { env: {} });
    expect(names(blocks[0]!.directives[0]!.block!)).toEqual(['max_fails 3']);
  });

  it('finds snippets defined in an imported file', () => {
    const corefile = write({ Corefile: 'import snippets.conf\n. {\n  import common\n}\n', 'snippets.conf': '(common) {\n  whoami\n}\n' });
    expect(names(loadCorefile(corefile, { env: {} })[0]!.directives)).toEqual(['whoami']);
  });

  it('rejects a redefinition', () => {
    const e = errorOf(() => parseCorefile('(a) {\n  whoami\n}\n(a) {\n  log\n}\n', 'Corefile'));
    expect(e.message).toBe('Corefile:4 - Error during parsing: redeclaration of previously declared snippet a');
  });

  it('rejects a snippet that imports itself, even unused', () => {
    const e = errorOf(() => parseCorefile('(loop) {\n  whoami\n  import loop\n}\n', 'Corefile'));
    expect(e.message).toBe('Corefile:3 - Error during parsing: snippet loop imports itself');
  });

  it('rejects snippets importing each other', () => {
    const e = errorOf(() => parseCorefile('(a) {\n  import b\n}\n(b) {\n  import a\n}\n. {\n  import a\n}\n', 'Corefile'));
    expect(e.message).toBe('Corefile:5 - Error during parsing: import cycle: snippet a -> snippet b -> snippet a');
  });

  it('treats an unknown snippet name as a missing file', () => {
    expect(() => parseCorefile('. {\n  import nosuch\n}\n', path.join(dir, 'Corefile'))).toThrow(
      `${path.join(dir, 'Corefile')}:2 - Error during parsing: File to import not found: nosuch`,
    );
  });

  it('requires a snippet to be defined before it is imported', () => {
    expect(() => parseCorefile('. {\n  import later\n}\n(later) {\n  whoami\n}\n', path.join(dir, 'Corefile'))).toThrow('File to import not found: later');
  });

  it('rejects a snippet without braces or with a missing }', () => {
    expect(() => parseCorefile('(a)\nwhoami\n', 'Corefile')).toThrow("Corefile:2 - Error during parsing: Unexpected 'whoami': snippet (a) needs a '{' block");
    expect(() => parseCorefile('(a) {\n  whoami\n', 'Corefile')).toThrow("Corefile:1 - Error during parsing: Unexpected EOF: the '{' of snippet (a) is never closed");
  });

  it('caps the number of imports', () => {
    // Each level imports the next one twice: 2 + 4 + 8 + ... expansions.
    const text = '(s0) {\n  whoami\n}\n' + [1, 2, 3, 4, 5].map((i) => `(s${i}) {\n  import s${i - 1}\n  import s${i - 1}\n}\n`).join('') + '. {\n  import s5\n}\n';
    expect(parseCorefile(text, 'Corefile', { env: {} })[0]!.directives).toHaveLength(32);
    expect(() => parseCorefile(text, 'Corefile', { env: {}, maxImports: 40 })).toThrow('maximum number of imports (40) exceeded');
  });
});
