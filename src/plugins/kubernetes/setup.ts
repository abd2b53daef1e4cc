// Builds the kubernetes plugin for one server block: parse the directive, get the shared informer,
// precompute the cluster view, wait up to startup_timeout for the initial sync (then serve anyway).

import type { FastMark } from '../../server/fastpath.js';
import * as os from 'node:os';

import type { Informer } from '../../informer/types.js';
import type { Directive } from '../../corefile/types.js';
import type { Plugin, SetupContext } from '../types.js';
import { parseKubernetesConfig } from './config.js';
import type { KubernetesConfig } from './config.js';
import { KubernetesHandler } from './handler.js';
import { isLoopback, parseIP } from './ip.js';
import type { ParsedIP } from './ip.js';
import { ClusterView } from './records.js';

/** The addresses CoreDNS calls "bound IPs": the `bind` addresses of the block, or every interface
 *  address; loopback excluded. Used for the apex NS record and `ns.dns.<zone>`. */
export function boundIPs(bind: string[]): ParsedIP[] {
  const raw: string[] = [];
  if (bind.length > 0) raw.push(...bind);
  else for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) raw.push(a.address);
  const out: ParsedIP[] = [];
  for (const r of raw) {
    const ip = parseIP(r);
    if (ip && !isLoopback(ip)) out.push(ip);
  }
  return out;
}

export interface KubernetesPlugin extends Plugin {
  readonly config: KubernetesConfig;
  readonly view: ClusterView;
  /** The shared informer (k8s_external reads Services from it). */
  readonly informer: Informer;
  /** The plugin's zones, primary first (autopath builds search paths from them). */
  readonly zones: string[];
  /** Namespace of the pod with this IP (`pods verified` only), for autopath @kubernetes. */
  podNamespaceByIP(ip: string): string | undefined;
}

const REUSABLE: FastMark = { until: Infinity };

export async function setupKubernetes(d: Directive, ctx: SetupContext): Promise<KubernetesPlugin> {
  const cfg = parseKubernetesConfig(d, {
    blockZones: ctx.block.zones,
    corefile: ctx.block.corefile,
    warn: (m) => ctx.log.warn(m),
  });
  const informer = ctx.informers.get(cfg.informer);
  const view = new ClusterView(informer, {
    endpointPodNames: cfg.endpointPodNames,
    primaryZone: cfg.primaryZone,
    pods: cfg.podMode === 'verified',
    endpoints: !cfg.noEndpoints,
    namespaceSelector: cfg.namespaceSelector,
  });
  const handler = new KubernetesHandler(cfg, view, informer, ctx.lookup, () => boundIPs(ctx.block.bind));

  view.flush();

  return {
    name: 'kubernetes',
    config: cfg,
    view,
    // Used by k8s_external (services with external IPs) and autopath @kubernetes.
    informer,
    zones: cfg.zones,
    podNamespaceByIP: (ip: string) => {
      // CoreDNS's autopath only knows the client's pod with `pods verified` (a pod watch).
      if (cfg.podMode !== 'verified') return undefined;
      for (const p of informer.pods.byIndex('ip', ip)) if (!p.hostNetwork && !p.deleting) return p.namespace;
      return undefined;
    },
    fastAware: true,
    handle: (req, next) => {
      const r = handler.handle(req, next);
      // A synchronous answer of ours is a pure function of the question and the cluster data
      // (whose changes bump the fast-path epoch): it may be reused. Fallthrough replies are not ours.
      if (!(r instanceof Promise) && r.plugin === 'kubernetes' && informer.synced) r.fast = REUSABLE;
      return r;
    },
    ready: () => informer.synced,
    // The server waits for this before serving DNS; health, ready and prometheus are already up.
    settle: async () => {
      if (informer.synced) return;
      const ok = await informer.waitForSync(cfg.startupTimeoutMs);
      if (!ok) ctx.log.warn('plugin/kubernetes: starting server with unsynced Kubernetes API');
      view.flush();
    },
    start: () => {
      // Like CoreDNS, the addresses are taken once the listeners are bound.
      handler.resetLocalIPs();
    },
    close: () => view.close(),
  };
}
