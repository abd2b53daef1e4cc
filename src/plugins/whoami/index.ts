// whoami: answers with the client's address and port (A or AAAA plus an SRV in additional).

import type { PluginDefinition, Plugin } from '../types.js';
import type { DnsRequest, DnsResponse, RR } from '../../dns/message.js';
import { RCODE } from '../../dns/constants.js';
import { configErrorAt } from '../../corefile/types.js';

function handle(req: DnsRequest): DnsResponse {
  const q = req.question;
  const addr: RR = {
    name: q.name,
    type: req.family === 2 ? 'AAAA' : 'A',
    class: 'IN',
    ttl: 0,
    data: req.remoteAddress,
  };
  // CoreDNS puts the SRV owner under `_udp.`/`_tcp.` of the query name.
  const srvName = `_${req.proto}.${q.name === '.' ? '' : q.name}`;
  const srv: RR = {
    name: srvName,
    type: 'SRV',
    class: 'IN',
    ttl: 0,
    data: { priority: 0, weight: 0, port: req.remotePort, target: q.name },
  };
  return { rcode: RCODE.NOERROR, aa: true, answers: [], authorities: [], additionals: [addr, srv], plugin: 'whoami' };
}

export const whoami: PluginDefinition = {
  name: 'whoami',
  setup(d): Plugin {
    if (d.args.length > 0 || d.block) throw configErrorAt(d, `plugin/whoami: this plugin takes no arguments`);
    return { name: 'whoami', handle };
  },
};
