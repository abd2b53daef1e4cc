// File globbing for `import`, following Go's filepath.Glob (which Caddy uses): `*` matches any run
// of characters other than the path separator, `?` exactly one. Wildcards may appear in any path
// segment; matches come back sorted per directory. Character classes (`[a-z]`) are not supported:
// Caddy rejects them too. Unlike Caddy we allow more than one `*`/`?` per pattern.

import * as fs from 'node:fs';
import * as path from 'node:path';

export function hasGlobMeta(pattern: string): boolean {
  return /[*?[\]]/.test(pattern);
}

/** Existing paths matching an absolute pattern (files and directories alike). */
export function glob(pattern: string): string[] {
  if (!hasGlobMeta(pattern)) return exists(pattern) ? [pattern] : [];
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  const dirs = hasGlobMeta(dir) ? glob(dir) : [dir];
  const re = segmentRegExp(base);
  const out: string[] = [];
  for (const d of dirs) {
    let names: string[];
    try {
      if (!fs.statSync(d).isDirectory()) continue;
      names = fs.readdirSync(d);
    } catch {
      continue;
    }
    names.sort();
    for (const n of names) if (re.test(n)) out.push(path.join(d, n));
  }
  return out;
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function segmentRegExp(segment: string): RegExp {
  let src = '';
  for (const ch of segment) {
    if (ch === '*') src += '[^/]*';
    else if (ch === '?') src += '[^/]';
    else src += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 's');
}
