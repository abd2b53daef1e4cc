// `forward FROM TO... { options }` -> ForwardConfig. Every option is validated here, once, with the
// file:line of the offending line; the handler never re-checks. Mirrors plugin/forward/setup.go
// (CoreDNS 1.12-1.14) including its messages where they are useful.

import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import type { Directive } from '../../corefile/types.js';
import { configErrorAt } from '../../corefile/types.js';
import { zonesFromHost } from '../../corefile/keys.js';
import { parseGoDuration } from '../../corefile/duration.js';

/** At most this many upstreams per forward (CoreDNS `max`). */
export const MAX_UPSTREAMS = 15;

export type PolicyName = 'random' | 'round_robin' | 'sequential';

export interface UpstreamSpec {
  /** `IP:PORT` / `[IPv6]:PORT`: the metrics `to` label and log text. */
  addr: string;
  host: string;
  port: number;
  family: 4 | 6;
  tls: boolean;
  /** From `tls://IP%NAME`; overrides `tls_servername` for this upstream. */
  serverName?: string;
}

export interface TlsClientSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface ForwardConfig {
  from: string;
  except: string[];
  upstreams: UpstreamSpec[];
  forceTcp: boolean;
  preferUdp: boolean;
  expireMs: number;
  maxIdleConns: number;
  maxAgeMs: number;
  maxFails: number;
  tls: TlsClientSettings;
  tlsServerName?: string;
  policy: PolicyName;
  hcIntervalMs: number;
  hcRecursionDesired: boolean;
  hcDomain: string;
  maxConcurrent: number;
  nextRcodes: number[];
  failoverRcodes: number[];
  failfast: boolean;
  readTimeoutMs: number;
  maxConnectAttempts: number;
}

// miekg/dns StringToRcode, which `next` and `failover` accept (case-insensitive).
const RCODES: Record<string, number> = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6,
  YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10, BADSIG: 16, BADVERS: 16, BADKEY: 17,
  BADTIME: 18, BADMODE: 19, BADNAME: 20, BADALG: 21, BADTRUNC: 22, BADCOOKIE: 23,
};

type At = { file: string; line: number };

function fail(at: At, msg: string): never {
  throw configErrorAt(at, `plugin/forward: ${msg}`);
}

function argErr(d: Directive): never {
  fail(d, `Wrong argument count or unexpected line ending after '${d.name}'`);
}

function argAt(d: Directive, i: number): At {
  return d.argTokens[i] ?? d;
}

function oneArg(d: Directive): string {
  if (d.args.length !== 1) argErr(d);
  return d.args[0];
}

function noArgs(d: Directive): void {
  if (d.args.length !== 0) argErr(d);
}

function duration(d: Directive, text: string, what: string): number {
  const ms = parseGoDuration(text);
  if (ms === null) fail(argAt(d, d.args.indexOf(text)), `time: invalid duration "${text}"`);
  if (ms < 0) fail(d, `${what} can't be negative: ${text}`);
  return ms;
}

function uint(d: Directive, text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > 0xffffffff) {
    fail(argAt(d, d.args.indexOf(text)), `strconv.ParseUint: parsing "${text}": invalid syntax`);
  }
  return Number(text);
}

function int(d: Directive, text: string, what: string): number {
  if (!/^-?[0-9]+$/.test(text)) fail(argAt(d, d.args.indexOf(text)), `strconv.Atoi: parsing "${text}": invalid syntax`);
  const n = Number(text);
  if (n < 0) fail(d, `${what} can't be negative: ${n}`);
  return n;
}

function zone(at: At, text: string, what: string): string[] {
  try {
    return zonesFromHost(text);
  } catch {
    fail(at, `unable to normalize '${text}' in ${what}`);
  }
}

function rcodes(d: Directive, noError: boolean): number[] {
  if (d.args.length === 0) argErr(d);
  return d.args.map((a, i) => {
    const rc = RCODES[a.toUpperCase()];
    if (rc === undefined) fail(argAt(d, i), `${a} is not a valid rcode`);
    if (rc === 0 && !noError) fail(argAt(d, i), 'NoError cannot be used in failover');
    return rc;
  });
}

function readFile(at: At, base: string, path: string): Buffer {
  try {
    return readFileSync(resolve(base, path));
  } catch (e) {
    fail(at, `cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Split `[SCHEME://]HOST[:PORT]` into its parts; null when HOST is not an IP address. */
export function parseHostPort(text: string): UpstreamSpec | null {
  let rest = text;
  let isTls = false;
  if (rest.startsWith('tls://')) { isTls = true; rest = rest.slice(6); }
  else if (rest.startsWith('dns://')) rest = rest.slice(6);
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return null;
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after.startsWith('%') && isTls) {
      // tls://[v6]%name:port
      const colon = after.lastIndexOf(':');
      host += colon > 0 ? after.slice(0, colon) : after;
      portText = colon > 0 ? after.slice(colon + 1) : undefined;
    } else if (after !== '') {
      if (!after.startsWith(':')) return null;
      portText = after.slice(1);
    }
  } else if ((rest.match(/:/g) ?? []).length > 1) {
    host = rest; // bare IPv6, no port
  } else {
    const colon = rest.lastIndexOf(':');
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    portText = colon >= 0 ? rest.slice(colon + 1) : undefined;
  }
  let serverName: string | undefined;
  const pct = host.indexOf('%');
  if (pct >= 0 && isTls) {
    serverName = host.slice(pct + 1) || undefined;
    host = host.slice(0, pct);
  }
  const ipOnly = pct >= 0 && !isTls ? host.slice(0, pct) : host;
  const family = net.isIP(ipOnly);
  if (family === 0) return null;
  let port = isTls ? 853 : 53;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) return null;
    port = Number(portText);
  }
  const addr = family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { addr, host, port, family: family as 4 | 6, tls: isTls, serverName };
}

/** `nameserver` lines of a resolv.conf-style file (port 53), or null when it cannot be read. */
function resolvConf(path: string): UpstreamSpec[] | null {
  let text: string;
  try {
    if (!statSync(path).isFile()) return null;
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const out: UpstreamSpec[] = [];
  for (const line of text.split('\n')) {
    const f = line.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (f[0] !== 'nameserver' || f.length < 2) continue;
    const spec = parseHostPort(f[1].includes(':') ? `[${f[1]}]:53` : `${f[1]}:53`);
    if (spec) out.push(spec);
  }
  return out;
}

function parseTo(d: Directive, base: string): UpstreamSpec[] {
  const out: UpstreamSpec[] = [];
  for (let i = 1; i < d.args.length; i++) {
    const text = d.args[i];
    const at = argAt(d, i);
    const scheme = /^([a-z0-9]+):\/\//i.exec(text)?.[1]?.toLowerCase();
    if (scheme && scheme !== 'dns' && scheme !== 'tls') {
      fail(at, `'${scheme}' is not supported as a destination protocol in forward: ${text}`);
    }
    const spec = parseHostPort(text);
    if (spec) { out.push(spec); continue; }
    const fromFile = scheme ? null : resolvConf(resolve(base, text));
    if (fromFile === null) fail(at, `not an IP address or file: "${text}"`);
    out.push(...fromFile);
  }
  if (out.length === 0) fail(d, 'no nameservers found');
  if (out.length > MAX_UPSTREAMS) fail(d, `more than ${MAX_UPSTREAMS} TOs configured: ${out.length}`);
  return out;
}

export function parseForward(d: Directive, corefile: string): ForwardConfig {
  if (d.args.length < 2) argErr(d);
  const base = dirname(corefile);
  const fromZones = zone(argAt(d, 0), d.args[0], 'FROM');
  const cfg: ForwardConfig = {
    from: fromZones[0],
    except: [],
    upstreams: parseTo(d, base),
    forceTcp: false,
    preferUdp: false,
    expireMs: 10_000,
    maxIdleConns: 0,
    maxAgeMs: 0,
    maxFails: 2,
    tls: {},
    policy: 'random',
    hcIntervalMs: 500,
    hcRecursionDesired: true,
    hcDomain: '.',
    maxConcurrent: 0,
    nextRcodes: [],
    failoverRcodes: [],
    failfast: false,
    readTimeoutMs: 2000,
    maxConnectAttempts: 0,
  };
  for (const o of d.block ?? []) {
    if (o.block) fail(o, `unexpected block after '${o.name}'`);
    switch (o.name) {
      case 'except':
        if (o.args.length === 0) argErr(o);
        o.args.forEach((a, i) => cfg.except.push(...zone(argAt(o, i), a, 'except')));
        break;
      case 'force_tcp': noArgs(o); cfg.forceTcp = true; break;
      case 'prefer_udp': noArgs(o); cfg.preferUdp = true; break;
      case 'failfast_all_unhealthy_upstreams': noArgs(o); cfg.failfast = true; break;
      case 'expire': cfg.expireMs = duration(o, oneArg(o), 'expire'); break;
      case 'max_age': cfg.maxAgeMs = duration(o, oneArg(o), 'max_age'); break;
      case 'max_idle_conns': cfg.maxIdleConns = int(o, oneArg(o), 'max_idle_conns'); break;
      case 'max_fails': cfg.maxFails = uint(o, oneArg(o)); break;
      case 'max_concurrent': cfg.maxConcurrent = int(o, oneArg(o), 'max_concurrent'); break;
      case 'max_connect_attempts': cfg.maxConnectAttempts = uint(o, oneArg(o)); break;
      case 'read_timeout': {
        const ms = duration(o, oneArg(o), 'read_timeout');
        if (ms === 0) fail(o, 'read_timeout must be greater than 0');
        cfg.readTimeoutMs = ms;
        break;
      }
      case 'tls': {
        if (o.args.length > 3) argErr(o);
        const [a, b, c] = o.args.map((p) => readFile(o, base, p));
        // CoreDNS pkg/tls: 1 arg = CA; 2 = cert key; 3 = cert key CA.
        cfg.tls = o.args.length === 1 ? { ca: a } : { cert: a, key: b, ca: c };
        try {
          tls.createSecureContext({ ...cfg.tls, minVersion: 'TLSv1.2' });
        } catch (e) {
          fail(o, `tls: ${(e as Error).message}`);
        }
        break;
      }
      case 'tls_servername': cfg.tlsServerName = oneArg(o); break;
      case 'policy': {
        const p = oneArg(o);
        if (p !== 'random' && p !== 'round_robin' && p !== 'sequential') fail(argAt(o, 0), `unknown policy '${p}'`);
        cfg.policy = p;
        break;
      }
      case 'health_check': {
        if (o.args.length === 0) argErr(o);
        cfg.hcIntervalMs = duration(o, o.args[0], 'health_check');
        cfg.hcDomain = '.';
        for (let i = 1; i < o.args.length; i++) {
          const a = o.args[i];
          if (a === 'no_rec') cfg.hcRecursionDesired = false;
          else if (a === 'domain') {
            const name = o.args[++i];
            if (name === undefined) argErr(o);
            let z: string[] = [];
            try { z = zonesFromHost(name); } catch { /* reported below */ }
            if (z.length !== 1) fail(argAt(o, i), `health_check: invalid domain name ${name}`);
            cfg.hcDomain = z[0];
          } else fail(argAt(o, i), `health_check: unknown option ${a}`);
        }
        break;
      }
      case 'next': cfg.nextRcodes = rcodes(o, true); break;
      case 'failover': cfg.failoverRcodes = rcodes(o, false); break;
      default:
        fail(o, `unknown property '${o.name}'`);
    }
  }
  return cfg;
}
