// The search list of a resolv.conf file, as miekg/dns ClientConfigFromFile reads it: the last
// `search` or `domain` line wins; names are normalised (lower case, absolute).

import { readFileSync } from 'node:fs';

export function parseSearch(text: string): string[] {
  let search: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const f = line.split(/\s+/);
    if (f[0] === 'search') search = f.slice(1);
    else if (f[0] === 'domain' && f.length > 1) search = [f[1]];
  }
  return search.map((s) => {
    const l = s.toLowerCase();
    return l.endsWith('.') ? l : `${l}.`;
  });
}

export function readSearch(path: string): string[] {
  return parseSearch(readFileSync(path, 'utf8'));
}
