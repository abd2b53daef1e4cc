// One shared string table so that 100k endpoints in one namespace hold one copy of the namespace
// name (and of node names, protocols, port names, label keys ...) instead of one per record.
// Strings are only ever added; the table is dropped when it grows past a bound so that churn of
// unique values (deleted namespaces, renamed nodes) cannot grow it forever.

const MAX_ENTRIES = 200_000;
let table = new Map<string, string>();

export function intern(s: string): string {
  const hit = table.get(s);
  if (hit !== undefined) return hit;
  if (table.size >= MAX_ENTRIES) table = new Map();
  table.set(s, s);
  return s;
}

/** Interns a possibly missing string value; '' for anything that is not a string. */
export function internOr(s: unknown, dflt = ''): string {
  return typeof s === 'string' ? intern(s) : dflt;
}

export function internedCount(): number {
  return table.size;
}
