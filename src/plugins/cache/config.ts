// `cache [TTL] [ZONES...] { ... }` -> CacheConfig. Mirrors CoreDNS plugin/cache/setup.go: the same
// options, defaults, limits and error texts (prefixed `plugin/cache:` with the Corefile position).

import type { Directive, Token } from '../../corefile/types.js';
import { configErrorAt } from '../../corefile/types.js';
import { zonesFromHost } from '../../corefile/keys.js';
import { parseGoDuration } from '../../corefile/duration.js';

export interface TtlBounds {
  /** Entries this cache holds (CoreDNS's 256 shards, each at least 4 entries). */
  capacity: number;
  /** Seconds. */
  maxTtl: number;
  minTtl: number;
}

export interface CacheConfig {
  /** Zones this cache answers for (lower case, absolute). */
  zones: string[];
  success: TtlBounds;
  denial: TtlBounds;
  /** Seconds SERVFAIL/NOTIMP replies are cached; 0 = not at all. */
  servfailTtl: number;
  /** Prefetch when an item had `amount` hits without a gap of `windowMs`, and its TTL fell to
   *  `percentage` % of the original. amount 0 = off. */
  prefetch: { amount: number; windowMs: number; percentage: number };
  /** Seconds past expiry an item may still be served (0 = serve_stale off). */
  staleUpTo: number;
  /** serve_stale verify: try the next plugin first, serve stale only if that fails. */
  verifyStale: boolean;
  /** `disable success|denial ZONES`: do not store that class for these zones. */
  successExcept: string[];
  denialExcept: string[];
  keepTtl: boolean;
}

/** CoreDNS asks for 10000 per cache and splits it over 256 shards of at least 4 entries. */
export const SHARDS = 256;
export function effectiveCapacity(requested: number): number {
  return Math.max(4, Math.trunc(requested / SHARDS)) * SHARDS;
}

export const DEFAULTS = {
  capacity: 10000,
  successMaxTtl: 3600,
  denialMaxTtl: 1800,
  minTtl: 5,
  servfailTtl: 5,
  servfailMax: 300,
  prefetchWindowMs: 60_000,
  prefetchPercentage: 10,
  staleUpTo: 3600,
} as const;

export function defaultConfig(zones: string[]): CacheConfig {
  return {
    zones,
    success: { capacity: effectiveCapacity(DEFAULTS.capacity), maxTtl: DEFAULTS.successMaxTtl, minTtl: DEFAULTS.minTtl },
    denial: { capacity: effectiveCapacity(DEFAULTS.capacity), maxTtl: DEFAULTS.denialMaxTtl, minTtl: DEFAULTS.minTtl },
    servfailTtl: DEFAULTS.servfailTtl,
    prefetch: { amount: 0, windowMs: DEFAULTS.prefetchWindowMs, percentage: DEFAULTS.prefetchPercentage },
    staleUpTo: 0,
    verifyStale: false,
    successExcept: [],
    denialExcept: [],
    keepTtl: false,
  };
}

type At = { file: string; line: number };

function fail(at: At, msg: string): never {
  throw configErrorAt(at, `plugin/cache: ${msg}`);
}

function argErr(d: Directive): never {
  fail(d, `Wrong argument count or unexpected line ending after '${d.args.length ? d.args[d.args.length - 1] : d.name}'`);
}

/** strconv.Atoi: optional sign and decimal digits only. */
function atoi(text: string, at: At): number {
  if (!/^[+-]?\d+$/.test(text)) fail(at, `strconv.Atoi: parsing "${text}": invalid syntax`);
  return Number(text);
}

function zonesOf(args: string[], tokens: Token[] | undefined, at: At): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    try {
      for (const z of zonesFromHost(a)) if (!out.includes(z)) out.push(z);
    } catch (e) {
      fail(tokens?.[i] ?? at, (e as Error).message);
    }
  });
  return out;
}

function durationSeconds(text: string, at: At): number {
  const ms = parseGoDuration(text);
  if (ms === null) fail(at, `time: invalid duration "${text}"`);
  return ms / 1000;
}

function bounds(d: Directive, target: TtlBounds) {
  const a = d.args;
  if (a.length === 0 || a.length > 3) argErr(d);
  target.capacity = effectiveCapacity(atoi(a[0], d.argTokens[0] ?? d));
  if (a.length > 1) {
    const ttl = atoi(a[1], d.argTokens[1] ?? d);
    if (ttl <= 0) fail(d, `cache TTL can not be zero or negative: ${ttl}`);
    target.maxTtl = ttl;
  }
  if (a.length > 2) {
    const min = atoi(a[2], d.argTokens[2] ?? d);
    if (min < 0) fail(d, `cache min TTL can not be negative: ${min}`);
    target.minTtl = min;
  }
}

export function parseCacheDirective(d: Directive, blockZones: string[]): CacheConfig {
  let args = d.args;
  let tokens = d.argTokens;
  let ttl: number | null = null;
  if (args.length > 0 && /^[+-]?\d+$/.test(args[0])) {
    ttl = Number(args[0]);
    if (ttl <= 0) fail(tokens[0] ?? d, `cache TTL can not be zero or negative: ${ttl}`);
    args = args.slice(1);
    tokens = tokens.slice(1);
  }
  const cfg = defaultConfig(args.length ? zonesOf(args, tokens, d) : [...blockZones]);
  if (ttl !== null) {
    cfg.success.maxTtl = ttl;
    cfg.denial.maxTtl = ttl;
  }

  for (const sub of d.block ?? []) {
    switch (sub.name) {
      case 'success':
        bounds(sub, cfg.success);
        break;
      case 'denial':
        bounds(sub, cfg.denial);
        break;
      case 'prefetch': {
        const a = sub.args;
        if (a.length === 0 || a.length > 3) argErr(sub);
        const amount = atoi(a[0], sub.argTokens[0] ?? sub);
        if (amount < 0) fail(sub, `prefetch amount should be positive: ${amount}`);
        cfg.prefetch.amount = amount;
        if (a.length > 1) {
          const ms = parseGoDuration(a[1]);
          if (ms === null) fail(sub.argTokens[1] ?? sub, `time: invalid duration "${a[1]}"`);
          cfg.prefetch.windowMs = ms;
        }
        if (a.length > 2) {
          const pct = a[2];
          if (!pct.endsWith('%')) fail(sub, `last character of percentage should be \`%\`, but is: '${pct[pct.length - 1]}'`);
          const num = atoi(pct.slice(0, -1), sub.argTokens[2] ?? sub);
          if (num < 10 || num > 90) fail(sub, `percentage should fall in range [10, 90]: ${num}`);
          cfg.prefetch.percentage = num;
        }
        break;
      }
      case 'serve_stale': {
        const a = sub.args;
        if (a.length > 2) argErr(sub);
        cfg.staleUpTo = DEFAULTS.staleUpTo;
        if (a.length > 0) {
          const s = durationSeconds(a[0], sub.argTokens[0] ?? sub);
          if (s < 0) fail(sub, 'invalid negative duration for serve_stale');
          cfg.staleUpTo = s;
        }
        cfg.verifyStale = false;
        if (a.length > 1) {
          const mode = a[1].toLowerCase();
          if (mode !== 'immediate' && mode !== 'verify') fail(sub, `invalid value for serve_stale refresh mode: ${mode}`);
          cfg.verifyStale = mode === 'verify';
        }
        break;
      }
      case 'servfail': {
        if (sub.args.length !== 1) argErr(sub);
        const s = durationSeconds(sub.args[0], sub.argTokens[0] ?? sub);
        if (s < 0) fail(sub, 'invalid negative ttl for servfail');
        if (s > DEFAULTS.servfailMax) fail(sub, 'caching SERVFAIL responses over 5 minutes is not permitted');
        cfg.servfailTtl = s;
        break;
      }
      case 'disable': {
        const a = sub.args;
        if (a.length === 0) argErr(sub);
        const zones = a.length > 1 ? zonesOf(a.slice(1), sub.argTokens.slice(1), sub) : [...blockZones];
        if (a[0] === 'success') cfg.successExcept = zones;
        else if (a[0] === 'denial') cfg.denialExcept = zones;
        else fail(sub, `cache type for disable must be "success" or "denial"`);
        break;
      }
      case 'keepttl':
        if (sub.args.length !== 0) argErr(sub);
        cfg.keepTtl = true;
        break;
      default:
        fail(sub, `unknown property '${sub.name}'`);
    }
  }
  return cfg;
}
