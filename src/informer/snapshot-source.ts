// A `kubectl get ... -o yaml|json` file as the cluster: read once (synced after the first good
// read), re-read when it changes and applied as a diff. A broken or missing file keeps the last
// good state and logs an error.

import fs from 'node:fs';
import yaml from 'js-yaml';
import { ConvertError, convertObject } from './convert.js';
import { matchesSelector, parseSelector, type LabelSelector } from './selector.js';
import type { Sink, Source } from './source.js';
import type { InformerOptions, Kind, RecordOf } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const DEFAULT_SNAPSHOT_POLL_MS = 500;

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
  const visit = (d: Json, hint: string) => {
    if (d === null || d === undefined) return;
    if (Array.isArray(d)) {
      for (const x of d) visit(x, hint);
      return;
    }
    if (typeof d !== 'object') throw new Error(`unexpected ${typeof d} at the top level`);
    const kind = typeof d.kind === 'string' && d.kind ? d.kind : hint;
    if (Array.isArray(d.items) && (kind === '' || kind.endsWith('List'))) {
      const itemHint = kind && kind !== 'List' ? kind.slice(0, -'List'.length) : '';
      for (const x of d.items) visit(x, itemHint);
      return;
    }
    out.push({ obj: d, kind });
  };
  for (const d of docs) visit(d, '');
  return out;
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
    let text: string;
    let objs: { obj: Json; kind: string }[];
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
      objs = parseSnapshot(text);
    } catch (e) {
      this.sink.log.error(`informer: snapshot ${this.file}: ${(e as Error).message}; keeping the last good state`);
      return;
    }
    if (this.stopped) return;
    const byKind = new Map<Kind, RecordOf[Kind][]>();
    for (const k of this.kinds) byKind.set(k, []);
    const legacy: RecordOf['endpointslices'][] = [];
    let haveSlices = false;
    let skipped = 0;
    for (const { obj, kind } of objs) {
      try {
        const c = convertObject(obj, kind);
        if (!c) continue;
        const list = byKind.get(c.kind);
        if (!list) continue;
        const sel = c.kind === 'namespaces' ? this.nsLabels : c.kind === 'nodes' ? [] : this.labels;
        if (sel.length > 0 && !matchesSelector(sel, c.record.labels)) continue;
        if ((obj.kind || kind) === 'Endpoints') {
          legacy.push(c.record as RecordOf['endpointslices']);
          continue;
        }
        if (c.kind === 'endpointslices') haveSlices = true;
        list.push(c.record);
      } catch (e) {
        if (!(e instanceof ConvertError)) throw e;
        skipped++;
      }
    }
    // Endpoints only stand in for slices, as against an API without discovery.k8s.io/v1; a dump
    // of both would otherwise count every address twice.
    if (!haveSlices) byKind.get('endpointslices')?.push(...legacy);
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
