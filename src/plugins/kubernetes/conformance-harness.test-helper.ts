// Builds kubernetes plugins from the shared conformance profiles and compares replies by the
// conventions of /work/shared/conformance/cases.json.

import * as fs from 'node:fs';

import type { Directive } from '../../corefile/types.js';
import { RCODE, TYPE, rcodeName, typeNumber } from '../../dns/constants.js';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { emptyResponse } from '../../dns/message.js';
import { makeRequest } from '../../dns/request.js';
import type { Handler, SetupContext } from '../types.js';
import { parseIP } from './ip.js';
import { setupKubernetes } from './setup.js';
import type { KubernetesPlugin } from './setup.js';
import { CONFORMANCE_DIR, FakeInformer, FakeInformers, HAVE_CONFORMANCE } from './fake-informer.test-helper.js';

export interface Case {
  name: string;
  profile: string;
  qname: string;
  qtype: string;
  environment_dependent?: boolean;
  precondition?: string;
  case_sensitive_names?: boolean;
  expect: { rcode: string; answer?: string[]; authority?: string[]; additional?: string[]; aa?: boolean | null };
}

export interface CasesFile {
  profiles: Record<string, { corefile: string }>;
  upstream: { records: string[] };
  cases: Case[];
}

export function loadCases(): CasesFile {
  if (!HAVE_CONFORMANCE) return { profiles: {}, upstream: { records: [] }, cases: [] };
  return JSON.parse(fs.readFileSync(`${CONFORMANCE_DIR}cases.json`, 'utf8')) as CasesFile;
}

/** Minimal Corefile reading for tests: the directive named `name` (with its sub-block) from the
 *  first server block. Good enough for the profiles (one directive per line, braces at line ends). */
export function directiveFromCorefile(text: string, name: string, file = '/etc/kdns/Corefile'): Directive {
  const lines = text.split('\n');
  const stack: Directive[][] = [];
  let top: Directive[] = [];
  let depth = 0;
  let found: Directive | null = null;
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    if (line === '}') {
      depth--;
      if (stack.length) top = stack.pop()!;
      return;
    }
    const opens = line.endsWith('{');
    const tokens = (opens ? line.slice(0, -1) : line).trim().split(/\s+/);
    if (depth === 0) {
      // server block key line
      depth++;
      return;
    }
    const d: Directive = {
      name: tokens[0]!,
      args: tokens.slice(1),
      argTokens: tokens.slice(1).map((t) => ({ text: t, file, line: i + 1 })),
      block: opens ? [] : null,
      file,
      line: i + 1,
    };
    top.push(d);
    if (depth === 1 && d.name === name) found = d;
    if (opens) {
      stack.push(top);
      top = d.block!;
      depth++;
    }
  });
  if (!found) throw new Error(`no ${name} directive`);
  return found;
}

/** Parses `name ttl class type rdata...` zone-file lines (as in cases.json). */
export function parseRRText(line: string): RR {
  const [name, ttl, cls, type, ...rest] = line.trim().split(/\s+/);
  let data: unknown;
  switch (type) {
    case 'SRV':
      data = { priority: Number(rest[0]), weight: Number(rest[1]), port: Number(rest[2]), target: rest[3] };
      break;
    case 'SOA':
      data = { mname: rest[0], rname: rest[1], serial: Number(rest[2]), refresh: Number(rest[3]), retry: Number(rest[4]), expire: Number(rest[5]), minimum: Number(rest[6]) };
      break;
    case 'TXT':
      data = rest.join(' ').replace(/^"|"$/g, '');
      break;
    default:
      data = rest.join(' ');
  }
  return { name: name!, ttl: Number(ttl), class: cls, type: type!, data };
}

function canonName(n: string, caseSensitive: boolean): string {
  return caseSensitive ? n : n.toLowerCase();
}

/** RDATA as zone-file text (`0 100 80 target.` for SRV). */
export function rdataText(rr: RR): string {
  const d = rr.data;
  if (rr.type === 'SRV') return `${d.priority} ${d.weight} ${d.port} ${d.target}`;
  if (rr.type === 'SOA') return `${d.mname} ${d.rname} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
  return String(d);
}

/** A comparable string for an RR; TTL 303 and SOA serials become wildcards. */
export function rrKey(rr: RR, caseSensitive: boolean, anyTtl = false): string {
  const n = (x: string): string => canonName(x, caseSensitive);
  let data: string;
  switch (rr.type) {
    case 'A':
    case 'AAAA':
      data = parseIP(String(rr.data))?.text ?? String(rr.data);
      break;
    case 'SRV':
      data = `${rr.data.priority} ${rr.data.weight} ${rr.data.port} ${n(rr.data.target)}`;
      break;
    case 'SOA':
      data = `${n(rr.data.mname)} ${n(rr.data.rname)} * ${rr.data.refresh} ${rr.data.retry} ${rr.data.expire} ${rr.data.minimum}`;
      break;
    case 'TXT':
      data = Array.isArray(rr.data) ? rr.data.map(String).join('') : String(rr.data);
      break;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      data = n(String(rr.data));
      break;
    default:
      data = JSON.stringify(rr.data);
  }
  return `${n(rr.name)} ${anyTtl ? '*' : rr.ttl} ${rr.type} ${data}`;
}

/** Differences between an expected section (text lines) and the actual RRs, as messages. */
export function compareSection(label: string, expected: string[], actual: RR[], caseSensitive: boolean): string[] {
  const want = expected.map(parseRRText);
  const have = actual.filter((r) => r.type !== 'OPT');
  const remaining = have.map((r) => ({ r, used: false }));
  const errors: string[] = [];
  for (const w of want) {
    const any = w.ttl === 303;
    const key = rrKey(w, caseSensitive, any);
    const hit = remaining.find((x) => !x.used && rrKey(x.r, caseSensitive, any) === key);
    if (hit) hit.used = true;
    else errors.push(`${label}: missing ${key}`);
  }
  for (const x of remaining) if (!x.used) errors.push(`${label}: unexpected ${rrKey(x.r, caseSensitive)}`);
  return errors;
}

/** CNAMEs must come before the records of their targets. */
export function cnameOrderErrors(answers: RR[]): string[] {
  const errors: string[] = [];
  answers.forEach((rr, i) => {
    if (rr.type !== 'CNAME') return;
    const target = String(rr.data).toLowerCase();
    answers.forEach((other, j) => {
      if (j < i && other.name.toLowerCase() === target) errors.push(`answer: ${other.type} for ${target} before its CNAME`);
    });
  });
  return errors;
}

/** Answers `name`/`qtype` from the fake upstream's records (NXDOMAIN for anything else). */
export function upstreamAnswer(records: string[], name: string, qtype: number): DnsResponse {
  const rrs = records.map(parseRRText);
  const lname = name.toLowerCase();
  const owned = rrs.filter((r) => r.name.toLowerCase() === lname);
  if (owned.length === 0) return { ...emptyResponse(RCODE.NXDOMAIN), aa: true };
  return { rcode: RCODE.NOERROR, aa: true, answers: owned.filter((r) => typeNumber(r.type) === qtype), authorities: [], additionals: [] };
}

export interface Harness {
  plugin: KubernetesPlugin;
  informer: FakeInformer;
  lookups: { name: string; qtype: number }[];
  next: Handler;
  /** Replace what ctx.lookup answers (default: the fake upstream). */
  setLookup(fn: (name: string, qtype: number) => Promise<DnsResponse>): void;
  query(name: string, qtype: number | string, from?: Partial<DnsRequest>): Promise<DnsResponse>;
}

export interface HarnessOptions {
  /** Corefile text; the kubernetes directive of its first block is used. */
  corefile: string;
  informer?: FakeInformer;
  upstream?: string[];
  bind?: string[];
  blockZones?: string[];
}

export async function makeHarness(o: HarnessOptions): Promise<Harness> {
  const informer = o.informer ?? FakeInformer.fromConformance();
  const upstream = o.upstream ?? loadCases().upstream.records;
  const lookups: { name: string; qtype: number }[] = [];
  let lookupImpl = async (name: string, qtype: number): Promise<DnsResponse> => upstreamAnswer(upstream, name, qtype);
  const ctx: SetupContext = {
    block: { zones: o.blockZones ?? ['.'], port: 53, server: 'dns://:53', bind: o.bind ?? ['10.99.0.1'], corefile: '/etc/kdns/Corefile' },
    informers: new FakeInformers(informer),
    log: { info() {}, warn() {}, error() {}, debug() {} },
    lookup: async (name, qtype) => {
      lookups.push({ name, qtype });
      return lookupImpl(name, qtype);
    },
    peer: () => undefined,
    process: { reloading: false },
  };
  const plugin = await setupKubernetes(directiveFromCorefile(o.corefile, 'kubernetes'), ctx);
  // What `forward` would do after a fallthrough: answer from the upstream, not authoritative.
  const next: Handler = (req) => ({ ...upstreamAnswer(upstream, req.question.name, req.question.qtype), aa: false, plugin: 'forward' });
  return {
    plugin,
    informer,
    lookups,
    next,
    setLookup: (fn) => {
      lookupImpl = fn;
    },
    query: async (name, qtype, from) => {
      const t = typeof qtype === 'number' ? qtype : typeNumber(qtype)!;
      return plugin.handle!(makeRequest(name, t, from), next);
    },
  };
}

/** Everything wrong with `res` for case `c` (empty = pass). */
export function checkCase(c: Case, res: DnsResponse): string[] {
  const cs = !!c.case_sensitive_names;
  const errors: string[] = [];
  if (rcodeName(res.rcode) !== c.expect.rcode) errors.push(`rcode ${rcodeName(res.rcode)}, want ${c.expect.rcode}`);
  if (c.expect.aa !== undefined && c.expect.aa !== null && !!res.aa !== c.expect.aa) errors.push(`aa ${!!res.aa}, want ${c.expect.aa}`);
  if (res.ra) errors.push('ra set');
  if (c.expect.answer) errors.push(...compareSection('answer', c.expect.answer, res.answers, cs));
  if (c.expect.authority) errors.push(...compareSection('authority', c.expect.authority, res.authorities, cs));
  if (c.expect.additional) errors.push(...compareSection('additional', c.expect.additional, res.additionals, cs));
  errors.push(...cnameOrderErrors(res.answers));
  return errors;
}

export { TYPE };
