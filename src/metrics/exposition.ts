// CoreDNS's Go Prometheus client writes each sample's labels sorted by name, with a histogram's `le`
// (and a summary's `quantile`) last: `{proto="udp",server="dns://:53",view="",zone=".",le="0.5"}`.
// prom-client keeps the order the labels were given in and puts `le` first. Scrapers do not care,
// but text-level tooling (alert unit tests, grep-based checks written against CoreDNS) does, so the
// /metrics body is rewritten to CoreDNS's order. Runs once per scrape, never per query.

const LAST = new Set(['le', 'quantile']);

/** One sample line's label pairs, or null when the line is not `name{labels} value...`. */
function splitLabels(body: string): [string, string][] | null {
  const pairs: [string, string][] = [];
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('=', i);
    if (eq < 0 || body[eq + 1] !== '"') return null;
    const name = body.slice(i, eq).trim();
    let j = eq + 2;
    while (j < body.length && body[j] !== '"') j += body[j] === '\\' ? 2 : 1;
    if (j >= body.length) return null;
    pairs.push([name, body.slice(eq + 1, j + 1)]);
    i = j + 1;
    if (body[i] === ',') i++;
  }
  return pairs;
}

function orderLine(line: string): string {
  if (line === '' || line[0] === '#') return line;
  const open = line.indexOf('{');
  if (open < 0) return line;
  const close = line.lastIndexOf('}');
  if (close < open) return line;
  const pairs = splitLabels(line.slice(open + 1, close));
  if (!pairs || pairs.length < 2) return line;
  pairs.sort(([a], [b]) => {
    const la = LAST.has(a);
    const lb = LAST.has(b);
    if (la !== lb) return la ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return `${line.slice(0, open)}{${pairs.map(([n, v]) => `${n}=${v}`).join(',')}${line.slice(close)}`;
}

/** The exposition text with every sample's labels in the Go client's order. */
export function goLabelOrder(text: string): string {
  return text.split('\n').map(orderLine).join('\n');
}
