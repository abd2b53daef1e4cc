// A `kubectl get ... -o yaml|json` file as the cluster: read once (synced after the first good
// read), re-read when it changes and applied as a diff. A broken or missing file keeps the last
// good state and logs an error.

import fs from 'node:fs';
import yaml from 'js-yaml';
import { ConvertError, convertObject } from './convert.js';
import { JsonListSplitter } from './json-items.js';
import { matchesSelector, parseSelector, type LabelSelector } from './selector.js';
import type { Sink, Source } from './source.js';
import type { InformerOptions, Kind, RecordOf } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const DEFAULT_SNAPSHOT_POLL_MS = 500;

/** The object's own string labels (records keep only what consumers read). */
function rawLabels(obj: Json): Record<string, string> | undefined {
  const l = obj?.metadata?.labels;
  if (typeof l !== 'object' || l === null || Array.isArray(l)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(l)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Hands every object of a parsed document to `emit` with the API kind it was listed as (typed
 *  lists such as ServiceList carry the kind only on the list; nested lists are flattened). */
function visitObjects(d: Json, hint: string, emit: (obj: Json, kind: string) => void): void {
  if (d === null || d === undefined) return;
  if (Array.isArray(d)) {
    for (const x of d) visitObjects(x, hint, emit);
    return;
  }
  if (typeof d !== 'object') throw new Error(`unexpected ${typeof d} at the top level`);
  const kind = typeof d.kind === 'string' && d.kind ? d.kind : hint;
  if (Array.isArray(d.items) && (kind === '' || kind.endsWith('List'))) {
    const itemHint = listItemKind(kind);
    for (const x of d.items) visitObjects(x, itemHint, emit);
    return;
  }
  emit(d, kind);
}

function listItemKind(listKind: string): string {
  return listKind && listKind !== 'List' ? listKind.slice(0, -'List'.length) : '';
}

/** The objects of a snapshot, each with the API kind it was listed as (typed lists such as
 *  ServiceList carry the kind only on the list). Accepts a v1 List, a typed list, a JSON array,
 *  a multi-document YAML stream or a single object. */
export function parseSnapshot(text: string): { obj: Json; kind: string }[] {
  const head = text.trimStart()[0];
  let docs: unknown[];
  if (head === '{' || head === '[') {
    docs = [JSON.parse(text)];
  } else {
    // js-yaml returns substrings of the whole file (V8 sliced strings would keep the file alive
    // through any record that holds one) and Dates for unquoted timestamps; a JSON round trip
    // gives flat, independent strings in API form.
    docs = JSON.parse(JSON.stringify(yaml.loadAll(text)));
  }
  const out: { obj: Json; kind: string }[] = [];
  for (const d of docs) visitObjects(d, '', (obj, kind) => out.push({ obj, kind }));
  return out;
}

/**
 * Reads a snapshot file and hands each object to `emit` (see parseSnapshot). JSON files are
 * streamed: each list item is parsed when its bytes arrived and dropped after `emit`, so a 30 MB
 * dump never exists as one string or one object graph (YAML is parsed whole). Items without their
 * own `kind` take it from the list's kind, which may come after the items (kubectl prints `items`
 * before `kind`); only those wait for the end.
 */
export async function readSnapshotFile(file: string, emit: (obj: Json, kind: string) => void): Promise<void> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let splitter: JsonListSplitter | null = null;
    let yamlParts: Buffer[] | null = null;
    const kindless: Json[] = [];
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      if (!splitter && !yamlParts) {
        const first = chunk.find((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09);
        if (first === undefined) continue; // leading whitespace only so far
        if (first === 0x7b || first === 0x5b) {
          splitter = new JsonListSplitter((item: Json) => {
            if (item !== null && typeof item === 'object' && !Array.isArray(item) && !(typeof item.kind === 'string' && item.kind)) {
              kindless.push(item);
            } else visitObjects(item, '', emit);
          });
        } else yamlParts = [];
      }
      if (splitter) splitter.push(chunk);
      else yamlParts!.push(Buffer.from(chunk));
    }
    if (yamlParts) {
      for (const { obj, kind } of parseSnapshot(Buffer.concat(yamlParts).toString('utf8'))) emit(obj, kind);
      return;
    }
    if (!splitter) return; // empty file: no objects
    const rest = splitter.end() as Json;
    const isList = rest !== null && typeof rest === 'object' && !Array.isArray(rest) && Array.isArray(rest.items);
    const listKind = isList && typeof rest.kind === 'string' ? rest.kind : '';
    for (const item of kindless) visitObjects(item, listItemKind(listKind), emit);
    if (!isList) visitObjects(rest, '', emit);
  } finally {
    await fh.close();
  }
}

export class SnapshotSource implements Source {
  private readonly kinds = new Set<Kind>();
  private readonly labels: LabelSelector;
  private readonly nsLabels: LabelSelector;
  private readonly pollMs: number;
  private reading: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private watching = false;
  private readonly onChange = () => this.reload();

  constructor(
    private readonly file: string,
    opts: InformerOptions,
    private readonly sink: Sink,
  ) {
    this.labels = parseSelector(opts.labelSelector ?? '');
    this.nsLabels = parseSelector(opts.namespaceLabelSelector ?? '');
    this.pollMs = opts.snapshotPollMs ?? DEFAULT_SNAPSHOT_POLL_MS;
  }

  addKinds(kinds: Kind[]): void {
    let added = false;
    for (const k of kinds) {
      if (!this.kinds.has(k)) {
        this.kinds.add(k);
        added = true;
      }
    }
    if (!added || this.stopped) return;
    if (!this.watching) {
      this.watching = true;
      // watchFile polls stat(), which also follows editors that replace the file by rename and a
      // file that appears later; fs.watch does neither reliably.
      fs.watchFile(this.file, { interval: this.pollMs, persistent: false }, this.onChange);
    }
    this.reload();
  }

  /** Reads and applies the file now (serialised: a change during a read triggers one more read). */
  reload(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        do {
          this.again = false;
          await this.readOnce().catch((e: unknown) => {
            this.sink.log.error(`informer: snapshot ${this.file}: ${(e as Error)?.message ?? e}`);
          });
        } while (this.again && !this.stopped);
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    const byKind = new Map<Kind, RecordOf[Kind][]>();
    for (const k of this.kinds) byKind.set(k, []);
    const legacy: RecordOf['endpointslices'][] = [];
    let haveSlices = false;
    let skipped = 0;
    // Each object is converted as soon as it is parsed and then dropped: only compact records
    // accumulate until the whole file was read (a broken file must not replace the stores).
    const add = (obj: Json, kind: string) => {
      try {
        const c = convertObject(obj, kind);
        if (!c) return;
        const list = byKind.get(c.kind);
        if (!list) return;
        const sel = c.kind === 'namespaces' ? this.nsLabels : c.kind === 'nodes' ? [] : this.labels;
        if (sel.length > 0 && !matchesSelector(sel, rawLabels(obj))) return;
        if ((obj.kind || kind) === 'Endpoints') {
          legacy.push(c.record as RecordOf['endpointslices']);
          return;
        }
        if (c.kind === 'endpointslices') haveSlices = true;
        list.push(c.record);
      } catch (e) {
        if (!(e instanceof ConvertError)) throw e;
        skipped++;
      }
    };
    try {
      await readSnapshotFile(this.file, add);
    } catch (e) {
      this.sink.log.error(`informer: snapshot ${this.file}: ${(e as Error).message}; keeping the last good state`);
      return;
    }
    if (this.stopped) return;
    // Endpoints only stand in for slices, as against an API without discovery.k8s.io/v1; a dump
    // of both would otherwise count every address twice.
    if (!haveSlices) for (const r of legacy) byKind.get('endpointslices')?.push(r);
    if (skipped > 0) this.sink.log.warn(`informer: snapshot ${this.file}: skipped ${skipped} objects without a name`);
    for (const [kind, recs] of byKind) {
      this.sink.replace(kind, recs);
      this.sink.markSynced(kind);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watching) fs.unwatchFile(this.file, this.onChange);
    this.watching = false;
    await this.reading;
  }
}
