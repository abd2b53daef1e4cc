// autopath: server-side search path completion (CoreDNS plugin/autopath). A query for
// `<name>.<first search domain>` is tried with every search domain in turn through the rest of the
// chain; the first answer that is not NXDOMAIN is returned with a CNAME from the asked name.

import type { Plugin, PluginDefinition, SetupContext, Handler } from '../types.js';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { RCODE } from '../../dns/constants.js';
import { makeQuestion } from '../../dns/request.js';
import { configErrorAt } from '../../corefile/types.js';
import { zonesFromHost } from '../../corefile/keys.js';
import { m } from '../../metrics/registry.js';
import { readSearch } from './resolvconf.js';

const EMPTY = Buffer.alloc(0);

/** What a plugin named by `@plugin` offers. Either CoreDNS's AutoPather shape: a per-query search
 *  list ending with the '' sentinel, or null for "no autopath"; */
export interface AutoPather {
  autoPath(req: DnsRequest): string[] | null;
}

/** ...or the pieces to build the Kubernetes list here: the plugin's zones and the namespace of the
 *  pod with a client IP (only known with `pods verified`; undefined otherwise). */
export interface PodNamespaceSource {
  zones: readonly string[];
  podNamespaceByIP(ip: string): string | null | undefined;
}

export type SearchFunc = (req: DnsRequest) => string[] | null;

function longestZone(zones: readonly string[], lname: string): string {
  let best = '';
  for (const z of zones) if ((z === '.' || lname === z || lname.endsWith(`.${z}`)) && z.length > best.length) best = z;
  return best;
}

/** The search list CoreDNS's kubernetes plugin hands out: `<ns>.svc.<zone> svc.<zone> <zone>`,
 *  then the host's own search domains, then the '' sentinel (the bare name). */
export function kubernetesSearch(src: PodNamespaceSource, hostSearch: readonly string[]): SearchFunc {
  return (req) => {
    const zone = longestZone(src.zones, req.question.lname);
    if (!zone) return null;
    const ns = src.podNamespaceByIP(req.remoteAddress);
    if (!ns) return null;
    return zone === '.'
      ? [`${ns}.svc.`, 'svc.', '.', ...hostSearch, '']
      : [`${ns}.svc.${zone}`, `svc.${zone}`, zone, ...hostSearch, ''];
  };
}

/** Prepends a CNAME from the asked name to the first answer owned by another name. */
export function cnamer(res: DnsResponse, original: string): DnsResponse {
  const lo = original.toLowerCase();
  const first = res.answers.find((a) => a.name.toLowerCase() !== lo);
  const answers: RR[] = first
    ? [{ name: original, type: 'CNAME', class: 'IN', ttl: first.ttl, data: first.name }, ...res.answers]
    : res.answers;
  const { question: _dropped, ...rest } = res;
  return { ...rest, answers };
}

export class AutoPath implements Plugin {
  readonly name = 'autopath';
  private searchFunc: SearchFunc | null = null;
  private resolved: boolean;

  constructor(
    readonly zones: string[],
    /** Static search list (resolv.conf form), with the '' sentinel; null with `@plugin`. */
    readonly search: string[] | null,
    private readonly pluginName: string | null,
    private readonly ctx: Pick<SetupContext, 'peer' | 'log'>,
    private readonly hostSearch: () => string[],
  ) {
    this.resolved = pluginName === null;
  }

  /** Finds the `@plugin` once the whole block is set up (it comes after autopath in the order). */
  private resolve(): void {
    this.resolved = true;
    const name = this.pluginName!;
    const p = this.ctx.peer(name) as (Partial<AutoPather> & Partial<PodNamespaceSource>) | undefined;
    if (!p) return; // CoreDNS: no such plugin in the block -> autopath stays inactive.
    if (typeof p.autoPath === 'function') {
      this.searchFunc = (req) => p.autoPath!(req);
    } else if (typeof p.podNamespaceByIP === 'function' && Array.isArray(p.zones)) {
      this.searchFunc = kubernetesSearch(p as PodNamespaceSource, this.hostSearch());
    } else {
      throw new Error(`plugin/autopath: ${name} does not implement the AutoPather interface`);
    }
  }

  start(): void {
    if (!this.resolved) this.resolve();
  }

  handle(req: DnsRequest, next: Handler): DnsResponse | Promise<DnsResponse> {
    const q = req.question;
    if (!longestZone(this.zones, q.lname)) return next(req);
    if (!this.resolved) this.resolve();
    const search = this.searchFunc ? this.searchFunc(req) : this.search;
    if (!search || search.length === 0) return next(req);
    const first = search[0];
    // Only names below the client's first search domain. The domain itself has no base name to
    // complete (CoreDNS answers SERVFAIL there; passing it on is what the client would get anyway).
    if (first === '.' || q.lname === first || !q.lname.endsWith(`.${first}`)) return next(req);
    return this.walk(req, next, search, q.name.slice(0, q.name.length - first.length - 1));
  }

  private async walk(req: DnsRequest, next: Handler, search: string[], base: string): Promise<DnsResponse> {
    const q = req.question;
    let firstReply: DnsResponse | null = null;
    for (let i = 0; i < search.length; i++) {
      const s = search[i];
      const name = s === '' || s === '.' ? `${base}.` : `${base}.${s}`;
      const sub: DnsRequest = { ...req, raw: EMPTY, question: makeQuestion(name, q.qtype, q.qclass) };
      const res = await next(sub);
      if (i === 0) firstReply = res;
      // Replies a plugin did not write itself in CoreDNS (SERVFAIL, REFUSED, FORMERR, NOTIMP) and
      // NXDOMAIN mean: try the next domain.
      if (res.rcode === RCODE.NXDOMAIN || res.rcode === RCODE.SERVFAIL || res.rcode === RCODE.REFUSED
        || res.rcode === RCODE.FORMERR || res.rcode === RCODE.NOTIMP) continue;
      m.autopathSuccess.labels({ server: req.server }).inc();
      return cnamer(res, q.name);
    }
    // Nothing found: the reply for the first domain, as the client would have seen it.
    const { question: _dropped, ...rest } = firstReply!;
    return rest;
  }
}

export const autopath: PluginDefinition = {
  name: 'autopath',
  setup(d, ctx): Plugin {
    if (d.block && d.block.length) throw configErrorAt(d.block[0], `plugin/autopath: unknown property '${d.block[0].name}'`);
    if (d.args.length < 1) throw configErrorAt(d, 'plugin/autopath: no resolv-conf specified');
    const resolv = d.args[d.args.length - 1];
    let search: string[] | null = null;
    let pluginName: string | null = null;
    if (resolv.startsWith('@')) {
      pluginName = resolv.slice(1);
    } else {
      try {
        search = [...readSearch(resolv), ''];
      } catch (e) {
        throw configErrorAt(d.argTokens[d.args.length - 1] ?? d, `plugin/autopath: failed to parse "${resolv}": ${(e as Error).message}`);
      }
    }
    let zones = [...ctx.block.zones];
    if (d.args.length > 1) {
      try { zones = d.args.slice(0, -1).flatMap((z) => zonesFromHost(z)); } catch (e) {
        throw configErrorAt(d, `plugin/autopath: ${(e as Error).message}`);
      }
    }
    // The host's search domains follow the cluster ones (CoreDNS's kubernetes plugin reads them
    // from /etc/resolv.conf at setup).
    const hostSearch = () => {
      try { return readSearch('/etc/resolv.conf'); } catch { return []; }
    };
    return new AutoPath(zones, search, pluginName, ctx, hostSearch);
  },
};
