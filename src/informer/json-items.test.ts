import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JsonListSplitter } from './json-items.js';
import { readSnapshotFile } from './snapshot-source.js';

/** Splits `text` fed in chunks of `size` bytes; returns the items and the rest. */
function split(text: string, size: number): { items: unknown[]; rest: unknown } {
  const items: unknown[] = [];
  const s = new JsonListSplitter((o) => items.push(o));
  const buf = Buffer.from(text, 'utf8');
  for (let i = 0; i < buf.length; i += size) s.push(buf.subarray(i, i + size));
  return { items, rest: s.end() };
}

describe('JsonListSplitter', () => {
  const list = {
    kind: 'ServiceList',
    apiVersion: 'v1',
    metadata: { resourceVersion: '42', continue: 'abc' },
    items: [
      { metadata: { name: 'a', labels: { 'x/y': 'z]},"' } }, spec: { ports: [{ port: 1 }, { port: 2 }] } },
      { metadata: { name: 'b\\"c', annotations: { 'ü': 'ẞ 😀 \u2028' } }, items: [{ nested: true }] },
      [1, { a: [] }],
      'str,]}',
      12.5,
      null,
      {},
    ],
    after: { items: ['not', 'these'] },
  };

  for (const size of [1, 2, 3, 7, 64, 1 << 20]) {
    it(`yields every item and the rest, in chunks of ${size} bytes`, () => {
      for (const text of [JSON.stringify(list), JSON.stringify(list, null, 2)]) {
        const { items, rest } = split(text, size);
        expect(items).toEqual(list.items);
        expect(rest).toEqual({ ...list, items: [] });
      }
    });
  }

  it('treats the elements of a top-level array as items', () => {
    expect(split(' [ {"a":1} , {"b":[2]} ] \n', 3)).toEqual({ items: [{ a: 1 }, { b: [2] }], rest: [] });
    expect(split('[]', 1)).toEqual({ items: [], rest: [] });
  });

  it('passes objects without items through as the rest', () => {
    expect(split('{"kind":"Service","metadata":{"name":"x"},"spec":{"items":[1]}}', 5)).toEqual({
      items: [],
      rest: { kind: 'Service', metadata: { name: 'x' }, spec: { items: [1] } },
    });
    expect(split('{"items":[],"kind":"List"}', 4)).toEqual({ items: [], rest: { items: [], kind: 'List' } });
  });

  it('rejects truncated and malformed documents', () => {
    expect(() => split('{"items":[{"a":1},{"b"', 4)).toThrow(/end of JSON/);
    expect(() => split('{"items":[{"a":1,}]}', 4)).toThrow(SyntaxError);
    expect(() => split('{} {}', 4)).toThrow(/after the end/);
    expect(() => split('', 4)).toThrow(/empty/);
    expect(() => split('{"items":[1]}]', 4)).toThrow(SyntaxError);
  });
});

describe('readSnapshotFile (streamed JSON)', () => {
  const read = async (text: string) => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kdns-snap-')), 'c.json');
    fs.writeFileSync(f, text);
    const out: [string, string][] = [];
    await readSnapshotFile(f, (o, kind) => out.push([kind, o.metadata?.name]));
    return out;
  };

  it('takes the kind of kindless items from a list kind that follows them', async () => {
    const big = { items: Array.from({ length: 3000 }, (_, i) => ({ metadata: { name: `s${i}` } })), kind: 'ServiceList', metadata: {} };
    const out = await read(JSON.stringify(big));
    expect(out).toHaveLength(3000);
    expect(out[2999]).toEqual(['Service', 's2999']);
  });

  it('handles v1 Lists, nested lists, arrays and single objects', async () => {
    expect(await read('{"apiVersion":"v1","items":[{"kind":"Service","metadata":{"name":"a"}},{"kind":"List","items":[{"kind":"Namespace","metadata":{"name":"n"}}]}],"kind":"List"}'))
      .toEqual([['Service', 'a'], ['Namespace', 'n']]);
    expect(await read('[{"kind":"Pod","metadata":{"name":"p"}}]')).toEqual([['Pod', 'p']]);
    expect(await read('  {"kind":"Node","metadata":{"name":"x"}}')).toEqual([['Node', 'x']]);
  });

  it('rejects a truncated file', async () => {
    await expect(read('{"items":[{"kind":"Service","metadata":{"name":"a"}},{"kind":')).rejects.toThrow(SyntaxError);
  });
});
