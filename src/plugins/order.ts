// The one ordered plugin list (CoreDNS's plugin.cfg). A query enters at the top and moves down;
// the order in the Corefile never matters. This follows CoreDNS v1.14.7, whose relative order
// of every plugin kubeadm uses is the same as in 1.11-1.14 (see shared reference, section 2).
// Names listed here but not implemented by kdns are rejected at startup as unknown directives
// with a message saying kdns does not implement them.

export const PLUGIN_ORDER: readonly string[] = [
  'root', 'metadata', 'geoip', 'cancel', 'proxyproto', 'quic', 'grpc_server', 'https', 'https3',
  'timeouts', 'multisocket', 'reload', 'nsid', 'bufsize', 'bind', 'debug', 'trace', 'ready',
  'health', 'pprof', 'shed', 'prometheus', 'errors', 'log', 'dnstap', 'local', 'dns64', 'any',
  'chaos', 'loadbalance', 'tsig', 'rewrite', 'autopath', 'acl', 'cache', 'header', 'dnssec', 'tls',
  'minimal', 'template', 'transfer', 'hosts', 'route53', 'azure', 'clouddns', 'k8s_external',
  'kubernetes', 'file', 'auto', 'secondary', 'etcd', 'loop', 'forward', 'grpc', 'erratic',
  'whoami', 'on', 'sign', 'view', 'nomad',
];

const RANK = new Map(PLUGIN_ORDER.map((n, i) => [n, i]));

/** Position of a plugin in the chain, or -1 for a name CoreDNS does not know. */
export function pluginRank(name: string): number {
  return RANK.get(name) ?? -1;
}

/** Plugins that may appear more than once in a block (CoreDNS: forward is evaluated in Corefile
 *  order; rewrite, template, hosts-like chains too). Everything else is once per block. */
export const REPEATABLE = new Set(['forward', 'rewrite', 'template', 'acl', 'log', 'import']);
