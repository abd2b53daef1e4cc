import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, it, expect } from 'vitest';

import { checkDuplicates, parseCorefile } from './parser.js';
import type { Directive } from './types.js';
import { configErrorOf as errorOf } from './testing.test-helper.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/corefile');

const parse = (text: string, env: Record<string, string> = {}) => parseCorefile(text, 'Corefile', { env });

/** name + args (+ block) without positions, for compact expectations. */
interface Shape {
  name: string;
  args: string[];
  block?: Shape[];
}
const shape = (ds: Directive[]): Shape[] =>
  ds.map((d) => (d.block ? { name: d.name, args: d.args, block: shape(d.block) } : { name: d.name, args: d.args }));

describe('parseCorefile: the kubeadm Corefile', () => {
  const file = path.join(fixtures, 'Corefile.kubeadm');
  const blocks = parseCorefile(fs.readFileSync(file, 'utf8'), file, { env: {} });

  it('has one server block for the root zone on port 53', () => {
    expect(blocks).toHaveLength(1);
    expect(blocks[0]!.keys).toEqual([{ raw: '.:53', scheme: 'dns', zones: ['.'], port: 53, file, line: 6 }]);
    expect(blocks[0]!.line).toBe(6);
  });

  it('yields every directive with its arguments and sub-blocks in order', () => {
    expect(shape(blocks[0]!.directives)).toEqual([
      { name: 'errors', args: [] },
      { name: 'health', args: [], block: [{ name: 'lameduck', args: ['5s'] }] },
      { name: 'ready', args: [] },
      {
        name: 'kubernetes',
        args: ['cluster.local', 'in-addr.arpa', 'ip6.arpa'],
        block: [
          { name: 'pods', args: ['insecure'] },
          { name: 'fallthrough', args: ['in-addr.arpa', 'ip6.arpa'] },
          { name: 'ttl', args: ['30'] },
        ],
      },
      { name: 'prometheus', args: [':9153'] },
      { name: 'forward', args: ['.', '/etc/resolv.conf'], block: [{ name: 'max_concurrent', args: ['1000'] }] },
      {
        name: 'cache',
        args: ['30'],
        block: [
          { name: 'disable', args: ['success', 'cluster.local'] },
          { name: 'disable', args: ['denial', 'cluster.local'] },
        ],
      },
      { name: 'loop', args: [] },
      { name: 'reload', args: [] },
      { name: 'loadbalance', args: [] },
    ]);
  });

  it('records file and line for directives and argument tokens', () => {
    const k8s = blocks[0]!.directives[3]!;
    expect(k8s).toMatchObject({ file, line: 12 });
    expect(k8s.argTokens.map((t) => [t.text, t.line])).toEqual([
      ['cluster.local', 12],
      ['in-addr.arpa', 12],
      ['ip6.arpa', 12],
    ]);
    expect(k8s.block![2]).toMatchObject({ name: 'ttl', line: 15 });
    expect(blocks[0]!.directives[0]!.block).toBeNull();
  });
});

describe('parseCorefile: server blocks and keys', () => {
  it('gives a block several keys separated by spaces', () => {
    const [b] = parse('example.org:1053 org {\n  whoami\n}');
    expect(b!.keys.map((k) => [k.raw, k.zones, k.port])).toEqual([
      ['example.org:1053', ['example.org.'], 1053],
      ['org', ['org.'], null],
    ]);
  });

  it('accepts comma-separated keys, continuing on the next line after a trailing comma', () => {
    const [b] = parse('a.org, b.org,c.org,\n  d.org {\n  whoami\n}');
    expect(b!.keys.map((k) => k.zones[0])).toEqual(['a.org.', 'b.org.', 'c.org.', 'd.org.']);
  });

  it('parses several server blocks in order', () => {
    const blocks = parse('example.org {\n  whoami\n}\n\n.:5353 {\n  log\n  errors\n}\n');
    expect(blocks.map((b) => [b.keys[0]!.raw, b.line, shape(b.directives)])).toEqual([
      ['example.org', 1, [{ name: 'whoami', args: [] }]],
      ['.:5353', 5, [{ name: 'log', args: [] }, { name: 'errors', args: [] }]],
    ]);
  });

  it('keeps schemes and CIDR keys', () => {
    const [b] = parse('tls://example.org 10.0.0.0/23:53 {\n  whoami\n}');
    expect(b!.keys.map((k) => [k.scheme, k.zones, k.port])).toEqual([
      ['tls', ['example.org.'], 853],
      ['dns', ['0.0.10.in-addr.arpa.', '1.0.10.in-addr.arpa.'], 53],
    ]);
  });

  it('accepts the opening brace on the line after the keys', () => {
    const [b] = parse('example.org\n{\n  whoami\n}');
    expect(shape(b!.directives)).toEqual([{ name: 'whoami', args: [] }]);
  });

  it('accepts a single server block without braces, running to the end of the file', () => {
    const [b, ...rest] = parse('.\nwhoami\nlog stdout\n');
    expect(rest).toEqual([]);
    expect(b!.keys[0]!.zones).toEqual(['.']);
    expect(shape(b!.directives)).toEqual([
      { name: 'whoami', args: [] },
      { name: 'log', args: ['stdout'] },
    ]);
  });

  it('accepts a file that is only a key', () => {
    const blocks = parse('example.org:53');
    expect(blocks).toHaveLength(1);
    expect(blocks[0]!.directives).toEqual([]);
  });

  it('returns no blocks for an empty or comment-only file', () => {
    expect(parse('')).toEqual([]);
    expect(parse('# nothing here\n\n')).toEqual([]);
  });

  it('accepts a glued brace after a key or directive', () => {
    const [b] = parse('.:53{\n  health{\n    lameduck 5s\n  }\n}');
    expect(shape(b!.directives)).toEqual([{ name: 'health', args: [], block: [{ name: 'lameduck', args: ['5s'] }] }]);
  });
});

describe('parseCorefile: directives and sub-blocks', () => {
  it('nests sub-blocks inside sub-directives', () => {
    const [b] = parse(`. {
  template IN A example.org {
    match "^(?P<a>[0-9]*)[.]example[.]org[.]$"
    answer "{{ .Name }} 60 IN A 127.0.0.1"
    fallthrough
  }
  view v {
    expr name() == 'x'
    inner {
      deep 1
    }
  }
}`);
    expect(shape(b!.directives)).toEqual([
      {
        name: 'template',
        args: ['IN', 'A', 'example.org'],
        block: [
          { name: 'match', args: ['^(?P<a>[0-9]*)[.]example[.]org[.]$'] },
          { name: 'answer', args: ['{{ .Name }} 60 IN A 127.0.0.1'] },
          { name: 'fallthrough', args: [] },
        ],
      },
      { name: 'view', args: ['v'], block: [{ name: 'expr', args: ['name()', '==', "'x'"] }, { name: 'inner', args: [], block: [{ name: 'deep', args: ['1'] }] }] },
    ]);
  });

  it('gives an empty block as an empty list and no block as null', () => {
    const [b] = parse('. {\n  hosts {\n  }\n  whoami\n}');
    expect(b!.directives.map((d) => d.block)).toEqual([[], null]);
  });

  it('accepts a block closed on the same line', () => {
    const [b] = parse('. {\n  health { lameduck 5s }\n  forward . 1.1.1.1 {\n    max_fails 3 }\n}');
    expect(shape(b!.directives)).toEqual([
      { name: 'health', args: [], block: [{ name: 'lameduck', args: ['5s'] }] },
      { name: 'forward', args: ['.', '1.1.1.1'], block: [{ name: 'max_fails', args: ['3'] }] },
    ]);
  });

  it('accepts a whole server block on one line', () => {
    const [b] = parse('example.org { whoami }\n. { }');
    expect(shape(b!.directives)).toEqual([{ name: 'whoami', args: [] }]);
    expect(parse('example.org { whoami }\n. { }')[1]!.directives).toEqual([]);
  });

  it('ends a directive at the end of its line', () => {
    const [b] = parse('. {\n  forward . 1.1.1.1\n  8.8.8.8\n}');
    expect(shape(b!.directives)).toEqual([
      { name: 'forward', args: ['.', '1.1.1.1'] },
      { name: '8.8.8.8', args: [] },
    ]);
  });

  it('keeps quoted arguments as text and marks their tokens quoted', () => {
    const [b] = parse('. {\n  hosts "{" "a b" c\n}');
    const d = b!.directives[0]!;
    expect(d.args).toEqual(['{', 'a b', 'c']);
    expect(d.block).toBeNull();
    expect(d.argTokens.map((t) => t.quoted ?? false)).toEqual([true, true, false]);
  });

  it('ignores comments between and after directives', () => {
    const [b] = parse('. { # the root\n  # comment line\n  whoami # trailing\n}');
    expect(shape(b!.directives)).toEqual([{ name: 'whoami', args: [] }]);
  });
});

describe('parseCorefile: environment variables', () => {
  it('substitutes {$VAR} and {%VAR%} in keys, names and arguments, also inside quotes', () => {
    const env = { ZONE: 'example.org', PORT: '1053', UP: '8.8.8.8', PLUGIN: 'forward', MSG: 'hi' };
    const [b] = parse('{$ZONE}:{%PORT%} {\n  {$PLUGIN} . {$UP}\n  log "say {$MSG}"\n}', env);
    expect(b!.keys[0]).toMatchObject({ raw: 'example.org:1053', zones: ['example.org.'], port: 1053 });
    expect(shape(b!.directives)).toEqual([
      { name: 'forward', args: ['.', '8.8.8.8'] },
      { name: 'log', args: ['say hi'] },
    ]);
    expect(b!.directives[0]!.argTokens[1]!.text).toBe('8.8.8.8');
  });

  it('replaces an unset variable with the empty string', () => {
    const [b] = parse('. {\n  forward . x{$NOPE}y {%NOPE%}\n}');
    expect(b!.directives[0]!.args).toEqual(['.', 'xy', '']);
  });

  it('leaves malformed references alone', () => {
    const [b] = parse('. {\n  a {$} {%x} {$UNCLOSED\n}', { x: 'no' });
    expect(b!.directives[0]!.args).toEqual(['{$}', '{%x}', '{$UNCLOSED']);
  });

  it('drops a block whose only key is empty after substitution, with a warning', () => {
    const warnings: string[] = [];
    const blocks = parseCorefile('{$UNSET} {\n  whoami\n}\nexample.org {\n  log\n}', 'Corefile', { env: {}, warn: (m) => warnings.push(m) });
    expect(blocks.map((b) => b.keys[0]!.raw)).toEqual(['example.org']);
    expect(warnings).toEqual([expect.stringContaining('Corefile:1 - server block without keys')]);
  });

  it('reads process.env when no env is given', () => {
    process.env['KDNS_PARSER_TEST_ZONE'] = 'from-env.org';
    try {
      const [b] = parseCorefile('{$KDNS_PARSER_TEST_ZONE}\nwhoami', 'Corefile');
      expect(b!.keys[0]!.zones).toEqual(['from-env.org.']);
    } finally {
      delete process.env['KDNS_PARSER_TEST_ZONE'];
    }
  });
});

describe('parseCorefile: errors carry file:line', () => {
  const cases: [string, string, string][] = [
    ['an unterminated quote', '. {\n  log "oops\n}\n', 'Corefile:2 - Error during parsing: Unterminated quoted string'],
    ['a } without {', '. {\n  whoami\n}\n}\n', "Corefile:4 - Error during parsing: Unexpected '}' because no matching opening brace"],
    ['a } closing a brace-less block', '.\nwhoami\n}\n', "Corefile:3 - Error during parsing: Unexpected '}'"],
    ['a missing } of a server block', '. {\n  whoami\n', "Corefile:1 - Error during parsing: Unexpected EOF: this '{' is never closed"],
    ['a missing } of a sub-block', '. {\n  health {\n    lameduck 5s\n', "Corefile:2 - Error during parsing: Unexpected EOF: this '{' is never closed"],
    ['a { on its own line inside a block', '. {\n  forward . 1.1.1.1\n  {\n  }\n}', "Corefile:3 - Error during parsing: Unexpected '{'"],
    ['a { without keys', '{\n  whoami\n}', "Corefile:1 - Error during parsing: Unexpected '{': a server block needs a key"],
    ['a token after a closing }', '. {\n  health { lameduck 5s } extra\n}', "Corefile:2 - Error during parsing: Unexpected 'extra' after '}'"],
    ['a key that is not a domain name', '. {\n}\nexa..mple.org {\n}', 'Corefile:3 - Error during parsing: zone is not a valid domain name: exa..mple.org'],
    ['a bad port', 'example.org:http {\n}', 'Corefile:1 - Error during parsing: invalid port "http"'],
    ['a port out of range', 'example.org:65536 {\n}', 'Corefile:1 - Error during parsing: invalid port 65536'],
    ['a bad CIDR', '\n10.0.0.0/40 {\n}', 'Corefile:2 - Error during parsing: invalid CIDR 10.0.0.0/40'],
    ['an unknown scheme', 'udp://. {\n}', 'Corefile:1 - Error during parsing: unsupported scheme "udp://"'],
    ['a trailing comma before {', 'a.org, {\n}', "Corefile:1 - Error during parsing: Expected another address but had '{' - check for extra comma"],
    ['a trailing comma at the end of the file', 'a.org,', "Corefile:1 - Error during parsing: Unexpected EOF: expecting another server block key after ','"],
  ];
  for (const [what, text, message] of cases) {
    it(`reports ${what}`, () => {
      const e = errorOf(() => parse(text));
      expect(e.message.startsWith(message), e.message).toBe(true);
      expect(e.file).toBe('Corefile');
    });
  }
});

describe('checkDuplicates', () => {
  it('rejects the same zone and port in two blocks with CoreDNS wording', () => {
    const blocks = parse('example.org {\n}\n\nEXAMPLE.org.:53 {\n}');
    const e = errorOf(() => checkDuplicates(blocks, 53));
    expect(e.message).toBe('Corefile:4 - Error during parsing: cannot serve dns://example.org.:53 - it is already defined');
  });

  it('rejects a zone repeated within one block', () => {
    expect(() => checkDuplicates(parse('a.org a.org {\n}'), 53)).toThrow('cannot serve dns://a.org.:53 - it is already defined');
  });

  it('accepts the same zone on different ports or schemes', () => {
    expect(() => checkDuplicates(parse('a.org {\n}\na.org:1053 {\n}\ntls://a.org {\n}'), 53)).not.toThrow();
  });

  it('applies the default port before comparing', () => {
    expect(() => checkDuplicates(parse('a.org {\n}\na.org:1053 {\n}'), 1053)).toThrow('cannot serve dns://a.org.:1053');
  });

  it('overlaps CIDR expansions with explicit reverse zones', () => {
    expect(() => checkDuplicates(parse('10.0.0.0/23 {\n}\n1.0.10.in-addr.arpa {\n}'), 53)).toThrow(
      'cannot serve dns://1.0.10.in-addr.arpa.:53 - it is already defined',
    );
  });
});

describe('parseCorefile with defaultPort', () => {
  it('fills in the port of keys without one and checks duplicates', () => {
    const [b] = parseCorefile('a.org tls://b.org {\n}', 'Corefile', { defaultPort: 1053 });
    expect(b!.keys.map((k) => k.port)).toEqual([1053, 853]);
    expect(() => parseCorefile('a.org {\n}\na.org:1053 {\n}', 'Corefile', { defaultPort: 1053 })).toThrow('it is already defined');
  });
});
