// k8s_external: serves Services' external addresses (spec.externalIPs and LoadBalancer ingress)
// under an outside zone: `<svc>.<ns>.<zone>` A/AAAA, `_port._proto.<svc>.<ns>.<zone>` SRV, PTR
// for those addresses, and SOA/NS at the apex with the name servers under `dns.<zone>`
// (CoreDNS plugin/k8s_external). Services come from the kubernetes plugin's informer.

import { networkInterfaces } from 'node:os';
import type { Plugin, PluginDefinition, SetupContext, Handler } from '../types.js';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { configErrorAt } from '../../corefile/types.js';
import { zonesFromHost } from '../../corefile/keys.js';
import type { Informer, ServiceRecord, EndpointRecord } from '../../informer/types.js';
import { isIP } from 'node:net';
import { addressFromReverse } from '../../dns/reverse.js';

/** What k8s_external needs from the kubernetes plugin of the same block. */
export interface KubernetesPeer {
  informer: Informer;
  /** `namespaces` option and namespace_labels filter; default: the namespace exists. */
  namespaceExposed?(namespace: string): boolean;
  /** Endpoint label as the kubernetes plugin names it (`endpoint_pod_names`); default: hostname
   *  or the dashed IP. */
  endpointName?(ep: EndpointRecord, address: string): string;
}

export interface ExternalOptions {
  zones: string[];
  apex: string;
  ttl: number;
  headless: boolean;
  fall: string[] | null;
}

/** One backend item: an address (or LB hostname) with a port and the SRV target it belongs to. */
interface Item {
  host: string;
  port: number;
  target: string;
}

function longestZone(zones: readonly string[], lname: string): string {
  let best = '';
  for (const z of zones) if ((z === '.' || lname === z || lname.endsWith(`.${z}`)) && z.length > best.length) best = z;
  return best;
}

function join(...parts: string[]): string {
  return parts.map((p) => (p.endsWith('.') ? p.slice(0, -1) : p)).filter((p) => p !== '').join('.') + '.';
}

const strip = (s: string) => (s.startsWith('_') ? s.slice(1) : s);
const match = (want: string, have: string) => want === '' || want.toLowerCase() === have.toLowerCase();

function dashed(ip: string): string {
  const d = ip.includes(':') ? ip.replace(/:/g, '-') : ip.replace(/\./g, '-');
  return d.endsWith('-') ? `${d}0` : d;
}

/** spec.externalIPs, then each LoadBalancer ingress IP or hostname (CoreDNS's Service.ExternalIPs). */
export function externalAddresses(svc: ServiceRecord): string[] {
  const out = [...svc.externalIPs];
  for (const lb of svc.loadBalancerIngress) {
    const v = lb.ip || lb.hostname;
    if (v) out.push(v);
  }
  return out;
}

const SENTINEL_PORTS = [{ name: '', port: -1, protocol: '' }];

export class External implements Plugin {
  readonly name = 'k8s_external';
  private peer: KubernetesPeer | null = null;
  private resolved = false;

  constructor(
    readonly opts: ExternalOptions,
    private readonly ctx: Pick<SetupContext, 'peer' | 'lookup' | 'log' | 'block'>,
  ) {}

  private kube(): KubernetesPeer | null {
    if (!this.resolved) {
      this.resolved = true;
      const p = this.ctx.peer('kubernetes') as Partial<KubernetesPeer> | undefined;
      if (p?.informer) this.peer = p as KubernetesPeer;
      else this.ctx.log.warn('plugin/k8s_external: no kubernetes plugin with an informer in this server block; queries pass on');
    }
    return this.peer;
  }

  start(): void {
    this.kube();
  }

  handle(req: DnsRequest, next: Handler): DnsResponse | Promise<DnsResponse> {
    const q = req.question;
    const zone = longestZone(this.opts.zones, q.lname);
    if (!zone) return next(req);
    const k = this.kube();
    if (!k) return next(req);

    if (q.lname === zone) return this.serveApex(req, k, zone);
    const apex = join(this.opts.apex, zone);
    if (q.lname === apex || q.lname.endsWith(`.${apex}`)) return this.serveSubApex(req, k, zone);

    const { items, rcode } = this.lookupItems(k, q.lname, q.qtype, zone);
    if (items.length === 0) {
      if (rcode === RCODE.NXDOMAIN && this.opts.fall && longestZone(this.opts.fall, q.lname)) return next(req);
      return this.reply(k, zone, rcode, [], []);
    }
    switch (q.qtype) {
      case TYPE.A:
      case TYPE.AAAA:
        return this.address(req, k, zone, items);
      case TYPE.SRV:
        return this.srv(req, k, zone, items);
      case TYPE.PTR:
        return this.reply(k, zone, RCODE.NOERROR, this.ptr(req, items), []);
      default:
        return this.reply(k, zone, RCODE.NOERROR, [], []);
    }
  }

  /** NOERROR/NXDOMAIN reply; the SOA goes into authority whenever there is no answer. */
  private reply(k: KubernetesPeer, zone: string, rcode: number, answers: RR[], additionals: RR[]): DnsResponse {
    return {
      rcode, aa: true, answers, additionals,
      authorities: answers.length ? [] : [this.soa(k, zone)],
      plugin: 'k8s_external',
    };
  }

  soa(k: KubernetesPeer, zone: string): RR {
    return {
      name: zone, type: 'SOA', class: 'IN', ttl: this.opts.ttl,
      data: {
        mname: join('ns1', this.opts.apex, zone),
        rname: join('hostmaster', this.opts.apex, zone),
        serial: Math.floor(k.informer.lastChange / 1000) >>> 0,
        // CoreDNS's k8s_external code (apex.go); its README shows 14400/3600/604800.
        refresh: 7200, retry: 1800, expire: 86400, minimum: this.opts.ttl,
      },
    };
  }

  private serveApex(req: DnsRequest, k: KubernetesPeer, zone: string): DnsResponse {
    const q = req.question;
    if (q.qtype === TYPE.SOA) return this.reply(k, zone, RCODE.NOERROR, [this.soa(k, zone)], []);
    if (q.qtype === TYPE.NS) {
      const ns: RR = { name: zone, type: 'NS', class: 'IN', ttl: this.opts.ttl, data: join('ns1', this.opts.apex, zone) };
      const glue = this.nameserverAddresses(k).map((ip) => this.addr(join('ns1', this.opts.apex, q.name), ip));
      return this.reply(k, zone, RCODE.NOERROR, [ns], glue);
    }
    return this.reply(k, zone, RCODE.NOERROR, [], []);
  }

  /** `dns.<zone>` is an empty non-terminal; `ns1.dns.<zone>` has our addresses; nothing else exists. */
  private serveSubApex(req: DnsRequest, k: KubernetesPeer, zone: string): DnsResponse {
    const q = req.question;
    const base = q.lname.slice(0, q.lname.length - zone.length - 1);
    const labels = base.split('.');
    if (labels.length === 1) return this.reply(k, zone, RCODE.NOERROR, [], []);
    if (labels.length !== 2 || labels[0] !== 'ns1') return this.reply(k, zone, RCODE.NXDOMAIN, [], []);
    const want = q.qtype === TYPE.A ? 4 : q.qtype === TYPE.AAAA ? 6 : 0;
    const answers = this.nameserverAddresses(k).filter((ip) => isIP(ip) === want).map((ip) => this.addr(q.name, ip));
    return this.reply(k, zone, RCODE.NOERROR, answers, []);
  }

  private addr(name: string, ip: string): RR {
    return { name, type: isIP(ip) === 6 ? 'AAAA' : 'A', class: 'IN', ttl: this.opts.ttl, data: ip };
  }

  private exposed(k: KubernetesPeer, ns: string): boolean {
    if (k.namespaceExposed) return k.namespaceExposed(ns);
    return k.informer.namespaces.get(ns) !== undefined;
  }

  private endpointName(k: KubernetesPeer, ep: EndpointRecord, address: string): string {
    if (k.endpointName) return k.endpointName(ep, address);
    return ep.hostname || dashed(address);
  }

  /** The items a name stands for, or an empty list with NXDOMAIN (name does not exist) or NOERROR. */
  lookupItems(k: KubernetesPeer, lname: string, qtype: number, zone: string): { items: Item[]; rcode: number } {
    const inf = k.informer;
    if (qtype === TYPE.PTR) {
      const ip = addressFromReverse(lname);
      if (ip) {
        const items: Item[] = [];
        for (const svc of inf.services.values()) {
          if (!externalAddresses(svc).includes(ip) || !this.exposed(k, svc.namespace)) continue;
          items.push({ host: `${svc.name}.${svc.namespace}`, port: 0, target: '' });
        }
        return { items, rcode: items.length ? RCODE.NOERROR : RCODE.NXDOMAIN };
      }
      // Not a reverse name: work out NXDOMAIN vs NODATA from the forward name below.
    }
    const segs = lname.slice(0, lname.length - zone.length - 1).split('.');
    let last = segs.length - 1;
    const namespace = segs[last];
    if (!this.exposed(k, namespace)) return { items: [], rcode: RCODE.NXDOMAIN };
    last--;
    if (last < 0) return { items: [], rcode: RCODE.NOERROR };
    const service = segs[last--];
    let endpoint = '';
    let port = '';
    let protocol = '';
    if (last === 0) {
      endpoint = strip(segs[last--]);
    } else if (last === 1) {
      protocol = strip(segs[last]);
      port = strip(segs[last - 1]);
      last -= 2;
    }
    if (last !== -1) return { items: [], rcode: RCODE.NXDOMAIN };

    const items: Item[] = [];
    let rcode: number = RCODE.NXDOMAIN;
    const svcTarget = join(service, namespace, zone);
    for (const svc of inf.services.byIndex('name', service)) {
      if (svc.namespace !== namespace) continue;
      const external = externalAddresses(svc);
      if (this.opts.headless && external.length === 0 && (svc.headless || endpoint !== '')) {
        for (const slice of inf.endpointslices.byIndex('service', `${namespace}/${service}`)) {
          for (const ep of slice.endpoints) {
            if (!ep.ready) continue;
            for (const address of ep.addresses) {
              const label = this.endpointName(k, ep, address);
              if (endpoint !== '' && endpoint.toLowerCase() !== label.toLowerCase()) continue;
              for (const p of slice.ports) {
                if (!match(port, p.name) || !match(protocol, p.protocol)) continue;
                rcode = RCODE.NOERROR;
                items.push({ host: address, port: p.port, target: join(label, svcTarget) });
              }
            }
          }
        }
        continue;
      }
      const ports = svc.ports.length ? svc.ports : SENTINEL_PORTS;
      for (const ip of external) {
        for (const p of ports) {
          if (!match(port, p.name) || !match(protocol, p.protocol)) continue;
          rcode = RCODE.NOERROR;
          items.push({ host: ip, port: p.port, target: svcTarget });
        }
      }
    }
    if (qtype === TYPE.PTR) return { items: [], rcode };
    return { items, rcode };
  }

  private async address(req: DnsRequest, k: KubernetesPeer, zone: string, items: Item[]): Promise<DnsResponse> {
    const q = req.question;
    const family = q.qtype === TYPE.A ? 4 : 6;
    const answers: RR[] = [];
    const seen = new Set<string>();
    let tc = false;
    for (const it of items) {
      const fam = isIP(it.host);
      if (fam === 0) {
        // A LoadBalancer hostname: CNAME to it plus its addresses, resolved through the server.
        const target = it.host.endsWith('.') ? it.host : `${it.host}.`;
        answers.push({ name: q.name, type: 'CNAME', class: 'IN', ttl: this.opts.ttl, data: target });
        try {
          const up = await this.ctx.lookup(target, q.qtype, req);
          answers.push(...up.answers);
          if (up.tc) tc = true;
        } catch {
          // The CNAME alone, as CoreDNS does when the lookup fails.
        }
        continue;
      }
      if (fam !== family || seen.has(it.host)) continue;
      seen.add(it.host);
      answers.push(this.addr(q.name, it.host));
    }
    const res = this.reply(k, zone, RCODE.NOERROR, answers, []);
    if (tc) res.tc = true;
    return res;
  }

  private async srv(req: DnsRequest, k: KubernetesPeer, zone: string, items: Item[]): Promise<DnsResponse> {
    const q = req.question;
    // All items share priority 0 and weight 100: each gets 100/n, at least 1 (computed before
    // dropping duplicates, as CoreDNS does).
    const weight = Math.max(1, Math.floor((100 / (100 * items.length)) * 100));
    const answers: RR[] = [];
    const extra: RR[] = [];
    const seen = new Set<string>();
    for (const it of items) {
      if (it.port === -1) continue;
      const hostname = isIP(it.host) === 0;
      const target = hostname ? (it.host.endsWith('.') ? it.host : `${it.host}.`) : it.target;
      const srvKey = `${target}|${it.port}`;
      if (!seen.has(srvKey)) {
        seen.add(srvKey);
        answers.push({ name: q.name, type: 'SRV', class: 'IN', ttl: this.opts.ttl, data: { priority: 0, weight, port: it.port, target } });
      }
      const addrKey = `${target}|${it.host}`;
      if (seen.has(addrKey)) continue;
      seen.add(addrKey);
      if (!hostname) {
        extra.push(this.addr(target, it.host));
        continue;
      }
      for (const t of [TYPE.A, TYPE.AAAA]) {
        try {
          extra.push(...(await this.ctx.lookup(target, t, req)).answers);
        } catch {
          // No glue for this target.
        }
      }
    }
    return this.reply(k, zone, RCODE.NOERROR, answers, extra);
  }

  private ptr(req: DnsRequest, items: Item[]): RR[] {
    const seen = new Set<string>();
    const out: RR[] = [];
    for (const it of items) {
      if (seen.has(it.host)) continue;
      seen.add(it.host);
      out.push({ name: req.question.name, type: 'PTR', class: 'IN', ttl: this.opts.ttl, data: join(it.host, this.opts.zones[0]) });
    }
    return out;
  }

  /** Addresses for `ns1.dns.<zone>`: the external addresses of the Services whose endpoints are
   *  this server's own IPs; without such endpoints, the local IPs themselves (CoreDNS nsAddrs). */
  nameserverAddresses(k: KubernetesPeer): string[] {
    const inf = k.informer;
    const local = this.localIPs();
    const out: string[] = [];
    let found = false;
    for (const ip of local) {
      for (const slice of inf.endpointslices.byIndex('ip', ip)) {
        found = true;
        const svc = inf.services.get(`${slice.namespace}/${slice.serviceName}`);
        if (!svc) continue;
        if (this.opts.headless && svc.headless) {
          for (const ep of slice.endpoints) out.push(...ep.addresses);
        } else {
          out.push(...externalAddresses(svc).filter((a) => isIP(a) !== 0));
        }
      }
    }
    return found ? [...new Set(out)] : local;
  }

  private localIPs(): string[] {
    if (this.ctx.block.bind.length) return this.ctx.block.bind.filter((a) => isIP(a) !== 0);
    const out: string[] = [];
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (!a.internal) out.push(a.address);
    }
    return out;
  }
}

export const k8s_external: PluginDefinition = {
  name: 'k8s_external',
  setup(d, ctx): Plugin {
    const err = (at: { file: string; line: number }, msg: string) => configErrorAt(at, `plugin/k8s_external: ${msg}`);
    const opts: ExternalOptions = { zones: [...ctx.block.zones], apex: 'dns', ttl: 5, headless: false, fall: null };
    if (d.args.length) {
      try { opts.zones = d.args.flatMap((z) => zonesFromHost(z)); } catch (e) { throw err(d, (e as Error).message); }
    }
    for (const sub of d.block ?? []) {
      switch (sub.name) {
        case 'ttl': {
          if (sub.args.length === 0) throw err(sub, 'Wrong argument count or unexpected line ending after ttl');
          if (!/^-?\d+$/.test(sub.args[0])) throw err(sub, `strconv.Atoi: parsing "${sub.args[0]}": invalid syntax`);
          const t = Number(sub.args[0]);
          if (t < 0 || t > 3600) throw err(sub, `ttl must be in range [0, 3600]: ${t}`);
          opts.ttl = t;
          break;
        }
        case 'apex':
          if (sub.args.length === 0) throw err(sub, 'Wrong argument count or unexpected line ending after apex');
          opts.apex = sub.args[0].toLowerCase();
          break;
        case 'headless':
          opts.headless = true;
          break;
        case 'fallthrough':
          try {
            opts.fall = sub.args.length ? sub.args.flatMap((z) => zonesFromHost(z)) : ['.'];
          } catch (e) { throw err(sub, (e as Error).message); }
          break;
        default:
          throw err(sub, `unknown property '${sub.name}'`);
      }
    }
    return new External(opts, ctx);
  },
};
