// hosts: serves A, AAAA and PTR from an /etc/hosts-style file plus inline Corefile entries
// (CoreDNS plugin/hosts). The file is re-read when its mtime or size changes (checked every
// `reload`, default 5s).

import { statSync, readFileSync } from 'node:fs';
import { stat, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Plugin, PluginDefinition, SetupContext, Handler } from '../types.js';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { configErrorAt, type Directive } from '../../corefile/types.js';
import { zonesFromHost } from '../../corefile/keys.js';
import { m } from '../../metrics/registry.js';
import { HostsTable, parseHosts, inZones, emptyHostsMap, normalizeName } from './hostsfile.js';
import { addressFromReverse } from '../../dns/reverse.js';
import { parseGoDuration } from '../../corefile/duration.js';

export interface HostsOptions {
  path: string;
  origins: string[];
  ttl: number;
  autoReverse: boolean;
  reloadMs: number;
  /** null = no fallthrough; [] never happens (no args means ['.']). */
  fall: string[] | null;
  fallUnsupported: boolean;
  inline: string[];
}

function parseOptions(d: Directive, ctx: SetupContext): HostsOptions {
  const err = (at: { file: string; line: number }, msg: string) => configErrorAt(at, `plugin/hosts: ${msg}`);
  const o: HostsOptions = {
    path: '/etc/hosts', origins: [...ctx.block.zones], ttl: 3600, autoReverse: true, reloadMs: 5000,
    fall: null, fallUnsupported: false, inline: [],
  };
  if (d.args.length >= 1) o.path = resolve(d.args[0]);
  if (d.args.length >= 2) {
    o.origins = [];
    for (const z of d.args.slice(1)) {
      try { o.origins.push(...zonesFromHost(z)); } catch (e) { throw err(d, (e as Error).message); }
    }
  }
  for (const sub of d.block ?? []) {
    switch (sub.name) {
      case 'fallthrough':
        o.fall = sub.args.length ? sub.args.map(normalizeName) : ['.'];
        break;
      case 'fallthrough_unsupported':
        if (sub.args.length) throw err(sub, 'fallthrough_unsupported takes no arguments');
        o.fallUnsupported = true;
        break;
      case 'ttl': {
        if (sub.args.length < 1) throw err(sub, 'ttl needs a time in second');
        const n = /^-?\d+$/.test(sub.args[0]) ? Number(sub.args[0]) : NaN;
        if (Number.isNaN(n)) throw err(sub, 'ttl needs a number of second');
        if (n <= 0 || n > 65535) throw err(sub, 'ttl provided is invalid');
        o.ttl = n;
        break;
      }
      case 'no_reverse':
        o.autoReverse = false;
        break;
      case 'reload': {
        if (sub.args.length !== 1) throw err(sub, 'reload needs a duration (zero seconds to disable)');
        const ms = parseGoDuration(sub.args[0]);
        if (ms === null) throw err(sub, `invalid duration for reload '${sub.args[0]}'`);
        if (ms < 0) throw err(sub, `invalid negative duration for reload '${sub.args[0]}'`);
        o.reloadMs = ms;
        break;
      }
      default:
        // Like CoreDNS: any other line before `fallthrough` is an inline hosts entry.
        if (o.fall !== null) throw err(sub, `unknown property '${sub.name}'`);
        if (sub.block) throw err(sub, `unexpected block after '${sub.name}'`);
        o.inline.push([sub.name, ...sub.args].join(' '));
    }
  }
  if (o.fallUnsupported && o.fall === null) throw err(d, 'fallthrough_unsupported requires fallthrough');
  return o;
}

export class Hosts implements Plugin {
  readonly name = 'hosts';
  readonly table: HostsTable;
  private mtimeMs = -1;
  private size = -1;
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly opts: HostsOptions, private readonly log: SetupContext['log']) {
    const inline = opts.inline.length ? parseHosts(opts.inline.join('\n'), opts.origins, opts.autoReverse) : emptyHostsMap();
    this.table = new HostsTable(inline);
  }

  /** Synchronous first read (setup), so the first query already sees the file. */
  loadSync(): void {
    try {
      const st = statSync(this.opts.path);
      if (st.isDirectory()) { this.log.warn(`plugin/hosts: hosts file "${this.opts.path}" is a directory`); return; }
      this.apply(readFileSync(this.opts.path, 'utf8'), st.mtimeMs, st.size);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') this.log.warn(`plugin/hosts: file does not exist: ${this.opts.path}`);
      else this.log.warn(`plugin/hosts: unable to read hosts file '${this.opts.path}': ${(e as Error).message}`);
      this.publish();
    }
  }

  /** Re-read when mtime or size changed. A file that disappeared keeps its last entries (CoreDNS). */
  async reload(): Promise<void> {
    try {
      const st = await stat(this.opts.path);
      if (st.mtimeMs === this.mtimeMs && st.size === this.size) return;
      this.apply(await readFile(this.opts.path, 'utf8'), st.mtimeMs, st.size);
    } catch {
      // Logged once at setup; nothing to do until the file is back.
    }
  }

  private apply(text: string, mtimeMs: number, size: number): void {
    this.table.file = parseHosts(text, this.opts.origins, this.opts.autoReverse);
    this.mtimeMs = mtimeMs;
    this.size = size;
    this.publish();
    m.hostsReloadTimestamp.set(mtimeMs / 1000);
  }

  private publish(): void {
    m.hostsEntries.set(this.table.size);
  }

  start(): void {
    if (this.opts.reloadMs > 0 && !this.timer) {
      this.timer = setInterval(() => void this.reload(), this.opts.reloadMs);
      this.timer.unref();
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private fallsThrough(lname: string): boolean {
    return this.opts.fall !== null && inZones(this.opts.fall, lname) !== '';
  }

  handle(req: DnsRequest, next: Handler): DnsResponse | Promise<DnsResponse> {
    const q = req.question;
    const lname = q.lname;
    // PTR names need not be inside the plugin's zones.
    if (q.qtype !== TYPE.PTR && !inZones(this.opts.origins, lname)) return next(req);

    const ttl = this.opts.ttl;
    let answers: RR[] = [];
    switch (q.qtype) {
      case TYPE.PTR: {
        const ip = addressFromReverse(lname);
        const names = ip ? this.table.names(ip) : [];
        // Unknown addresses always go on, whatever `fallthrough` says (CoreDNS).
        if (names.length === 0) return next(req);
        answers = names.map((n) => ({ name: q.name, type: 'PTR', class: 'IN', ttl, data: n }));
        break;
      }
      case TYPE.A:
        answers = this.table.v4(lname).map((ip) => ({ name: q.name, type: 'A', class: 'IN', ttl, data: ip }));
        break;
      case TYPE.AAAA:
        answers = this.table.v6(lname).map((ip) => ({ name: q.name, type: 'AAAA', class: 'IN', ttl, data: ip }));
        break;
    }

    if (answers.length === 0) {
      if (!this.table.exists(lname)) {
        if (this.fallsThrough(lname)) return next(req);
        // No SOA to add: /etc/hosts has none.
        return { rcode: RCODE.NXDOMAIN, aa: true, answers: [], authorities: [], additionals: [], plugin: 'hosts' };
      }
      const unsupported = q.qtype !== TYPE.A && q.qtype !== TYPE.AAAA && q.qtype !== TYPE.PTR;
      if (unsupported && this.opts.fallUnsupported && this.fallsThrough(lname)) return next(req);
    }
    return { rcode: RCODE.NOERROR, aa: true, answers, authorities: [], additionals: [], plugin: 'hosts' };
  }
}

export const hosts: PluginDefinition = {
  name: 'hosts',
  setup(d, ctx): Plugin {
    const h = new Hosts(parseOptions(d, ctx), ctx.log);
    h.loadSync();
    return h;
  },
};
