// bind: the addresses a server block listens on (default: all interfaces). Arguments are IP
// addresses or interface names (all their addresses except link-local ones); `except` removes
// addresses again. Has no DNS handler: the server reads the list when it opens listeners.

import os from 'node:os';
import net from 'node:net';
import type { Directive } from '../../corefile/types.js';
import { configErrorAt } from '../../corefile/types.js';
import type { Plugin, PluginDefinition } from '../types.js';

type Interfaces = ReturnType<typeof os.networkInterfaces>;

function isLinkLocal(addr: string, family: string): boolean {
  if (family === 'IPv4') return addr.startsWith('169.254.');
  return /^fe[89ab]/i.test(addr) || /^ff[0-9a-f]2:/i.test(addr);
}

/** The addresses an argument stands for, or null if it is neither an interface nor an IP. */
function expand(arg: string, ifaces: Interfaces): string[] | null {
  const list = ifaces[arg];
  if (list) return list.filter((a) => !isLinkLocal(a.address, String(a.family))).map((a) => a.address);
  if (net.isIP(arg)) return [arg];
  return null;
}

export function parseBind(d: Directive, ifaces: Interfaces = os.networkInterfaces()): string[] {
  if (d.args.length === 0) throw configErrorAt(d, `plugin/bind: at least one address or interface name is expected`);
  const except: string[] = [];
  for (const sub of d.block ?? []) {
    if (sub.name !== 'except') throw configErrorAt(sub, `plugin/bind: invalid option "${sub.name}"`);
    if (sub.args.length === 0) throw configErrorAt(sub, `plugin/bind: at least one address or interface must be given to except subdirective`);
    for (const a of sub.args) {
      const addrs = expand(a, ifaces);
      if (!addrs) throw configErrorAt(sub, `plugin/bind: not a valid IP address or interface name: ${a}`);
      except.push(...addrs);
    }
  }
  const out: string[] = [];
  for (const a of d.args) {
    const addrs = expand(a, ifaces);
    if (!addrs) throw configErrorAt(d, `plugin/bind: not a valid IP address or interface name: ${a}`);
    for (const x of addrs) if (!except.includes(x) && !out.includes(x)) out.push(x);
  }
  if (out.length === 0) throw configErrorAt(d, `plugin/bind: no address left to listen on`);
  return out;
}

export const bind: PluginDefinition = {
  name: 'bind',
  setup(d, ctx): Plugin {
    for (const a of parseBind(d)) if (!ctx.block.bind.includes(a)) ctx.block.bind.push(a);
    return { name: 'bind' };
  },
};
