// `kubernetes [ZONES...] { options }` -> KubernetesConfig. Validates every option once, at
// startup, with CoreDNS's messages where it has them (plugin/kubernetes/setup.go ParseStanza).

import * as path from 'node:path';

import type { Directive } from '../../corefile/types.js';
import { configErrorAt } from '../../corefile/types.js';
import { zonesFromHost } from '../../corefile/keys.js';
import { parseSelector } from '../../informer/selector.js';
import type { LabelSelector } from '../../informer/selector.js';
import type { InformerOptions, Kind } from '../../informer/types.js';
import { isReverseName } from './ip.js';

export type PodMode = 'disabled' | 'insecure' | 'verified';

export interface KubernetesConfig {
  /** Lower case, absolute, in Corefile order. */
  zones: string[];
  /** First non-reverse zone (PTR targets). */
  primaryZone: string;
  podMode: PodMode;
  ttl: number;
  /** `namespaces`: empty = all. */
  namespaces: Set<string>;
  namespaceSelector: LabelSelector | null;
  /** `fallthrough` zones (`.` when given without zones); null = off. */
  fallthrough: string[] | null;
  ignoreEmptyService: boolean;
  endpointPodNames: boolean;
  noEndpoints: boolean;
  startupTimeoutMs: number;
  /** How to reach the cluster (shared informer options). */
  informer: InformerOptions;
}

const DEFAULT_TTL = 5;
const DEFAULT_STARTUP_TIMEOUT_MS = 5000;

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Go's time.ParseDuration, in milliseconds; null when invalid. */
export function parseGoDuration(text: string): number | null {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return null;
  let total = 0;
  const re = /^([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m || m[1] === '' || m[1] === '.') return null;
    total += Number(m[1]) * UNITS[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

function normalizeZones(d: { file: string; line: number }, args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    try {
      out.push(...zonesFromHost(a.replace(/^dns:\/\//, '')));
    } catch (e) {
      throw configErrorAt(d, `plugin/kubernetes: ${(e as Error).message}`);
    }
  }
  return out;
}

function argErr(o: Directive): Error {
  return configErrorAt(o, `plugin/kubernetes: Wrong argument count or unexpected line ending after '${o.name}'`);
}

function selectorOf(o: Directive): LabelSelector {
  const text = o.args.join(' ');
  try {
    return parseSelector(text);
  } catch (e) {
    throw configErrorAt(o, `plugin/kubernetes: unable to parse label selector value: '${text}': ${(e as Error).message}`);
  }
}

function isZoneInside(zone: string, blockZones: string[]): boolean {
  return blockZones.some((b) => b === '.' || zone === b || zone.endsWith(`.${b}`));
}

export interface ParseContext {
  blockZones: string[];
  /** Path of the Corefile (relative `snapshot` files resolve against its directory). */
  corefile: string;
  warn(msg: string): void;
}

export function parseKubernetesConfig(d: Directive, ctx: ParseContext): KubernetesConfig {
  const zones = d.args.length > 0 ? normalizeZones(d, d.args) : [...ctx.blockZones];
  for (const z of zones) {
    // CoreDNS accepts these silently; such a zone can never receive a query from this block.
    if (!isZoneInside(z, ctx.blockZones)) ctx.warn(`plugin/kubernetes: zone ${z} is not within the server block's zones (${ctx.blockZones.join(' ')}); it will not be served by this block`);
  }
  const primaryZone = zones.find((z) => !isReverseName(z));
  if (primaryZone === undefined) throw configErrorAt(d, 'plugin/kubernetes: non-reverse zone name must be used');

  const cfg: KubernetesConfig = {
    zones,
    primaryZone,
    podMode: 'disabled',
    ttl: DEFAULT_TTL,
    namespaces: new Set(),
    namespaceSelector: null,
    fallthrough: null,
    ignoreEmptyService: false,
    endpointPodNames: false,
    noEndpoints: false,
    startupTimeoutMs: DEFAULT_STARTUP_TIMEOUT_MS,
    informer: { kinds: [] },
  };
  let labelSelector: string | undefined;
  let namespaceLabelSelector: string | undefined;
  let endpoint: string | undefined;
  let tls: InformerOptions['tls'];
  let kubeconfig: InformerOptions['kubeconfig'];
  let snapshot: string | undefined;
  let namespacesLine: Directive | null = null;

  for (const o of d.block ?? []) {
    const a = o.args;
    switch (o.name) {
      case 'endpoint_pod_names':
        if (a.length > 0 || o.block) throw argErr(o);
        cfg.endpointPodNames = true;
        break;
      case 'pods':
        if (a.length !== 1) throw argErr(o);
        if (a[0] !== 'disabled' && a[0] !== 'insecure' && a[0] !== 'verified') {
          throw configErrorAt(o, `plugin/kubernetes: wrong value for pods: ${a[0]},  must be one of: disabled, verified, insecure`);
        }
        cfg.podMode = a[0];
        break;
      case 'namespaces':
        if (a.length === 0) throw argErr(o);
        for (const ns of a) cfg.namespaces.add(ns);
        namespacesLine = o;
        break;
      case 'endpoint':
        if (a.length === 0) throw argErr(o);
        // Like CoreDNS, only the first URL is used.
        endpoint = a[0];
        break;
      case 'tls':
        if (a.length !== 3) throw argErr(o);
        tls = { cert: a[0], key: a[1], ca: a[2] };
        break;
      case 'labels':
        if (a.length === 0) throw argErr(o);
        selectorOf(o);
        labelSelector = a.join(' ');
        break;
      case 'namespace_labels':
        if (a.length === 0) throw argErr(o);
        cfg.namespaceSelector = selectorOf(o);
        namespaceLabelSelector = a.join(' ');
        break;
      case 'fallthrough':
        cfg.fallthrough = a.length === 0 ? ['.'] : normalizeZones(o, a);
        break;
      case 'ttl': {
        if (a.length !== 1) throw argErr(o);
        if (!/^-?[0-9]+$/.test(a[0]!)) throw configErrorAt(o, `plugin/kubernetes: strconv.Atoi: parsing "${a[0]}": invalid syntax`);
        const t = Number(a[0]);
        if (t < 0 || t > 3600) throw configErrorAt(o, `plugin/kubernetes: ttl must be in range [0, 3600]: ${t}`);
        cfg.ttl = t;
        break;
      }
      case 'noendpoints':
        if (a.length > 0) throw argErr(o);
        cfg.noEndpoints = true;
        break;
      case 'ignore':
        if (a.length === 0) throw argErr(o);
        for (const v of a) {
          if (v !== 'empty_service') throw configErrorAt(o, `plugin/kubernetes: unable to parse ignore value: '${v}'`);
        }
        cfg.ignoreEmptyService = true;
        break;
      case 'kubeconfig':
        if (a.length !== 1 && a.length !== 2) throw argErr(o);
        kubeconfig = { file: a[0]!, context: a[1] };
        break;
      case 'startup_timeout': {
        if (a.length !== 1) throw argErr(o);
        const ms = parseGoDuration(a[0]!);
        if (ms === null || ms < 0) throw configErrorAt(o, `plugin/kubernetes: time: invalid duration "${a[0]}"`);
        cfg.startupTimeoutMs = ms;
        break;
      }
      case 'apiserver_qps':
      case 'apiserver_burst':
      case 'apiserver_max_inflight':
        // Client-side rate limits of client-go: accepted for compatibility, not applied by kdns.
        if (a.length !== 1) throw argErr(o);
        if (!/^[0-9]+(\.[0-9]+)?$/.test(a[0]!)) throw configErrorAt(o, `plugin/kubernetes: invalid value for ${o.name}: '${a[0]}'`);
        break;
      case 'multicluster':
      case 'zonal':
        throw configErrorAt(o, `plugin/kubernetes: option '${o.name}' is not supported by kdns`);
      case 'snapshot':
        // kdns extension: serve a `kubectl get -o yaml|json` List file instead of the API.
        if (a.length !== 1) throw argErr(o);
        snapshot = path.resolve(path.dirname(ctx.corefile), a[0]!);
        break;
      default:
        throw configErrorAt(o, `plugin/kubernetes: unknown property '${o.name}'`);
    }
  }

  if (namespacesLine && cfg.namespaceSelector) {
    throw configErrorAt(namespacesLine, 'plugin/kubernetes: namespaces and namespace_labels cannot both be set');
  }
  if (snapshot !== undefined && (endpoint !== undefined || kubeconfig !== undefined || tls !== undefined)) {
    throw configErrorAt(d, 'plugin/kubernetes: snapshot cannot be combined with endpoint, tls or kubeconfig');
  }

  const kinds: Kind[] = ['services', 'namespaces'];
  if (!cfg.noEndpoints) kinds.push('endpointslices');
  if (cfg.podMode === 'verified') kinds.push('pods');
  cfg.informer = { kinds };
  if (snapshot !== undefined) cfg.informer.snapshot = snapshot;
  if (endpoint !== undefined) cfg.informer.endpoint = endpoint;
  if (tls) cfg.informer.tls = tls;
  if (kubeconfig) cfg.informer.kubeconfig = kubeconfig;
  if (labelSelector !== undefined) cfg.informer.labelSelector = labelSelector;
  if (namespaceLabelSelector !== undefined) cfg.informer.namespaceLabelSelector = namespaceLabelSelector;
  return cfg;
}
