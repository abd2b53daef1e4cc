// forward: proxy queries to upstream resolvers over UDP, TCP or TLS (CoreDNS plugin/forward).

import type { Plugin, PluginDefinition } from '../types.js';
import { parseForward } from './config.js';
import { Forward } from './forward.js';

export const forward: PluginDefinition = {
  name: 'forward',
  setup(d, ctx): Plugin {
    const cfg = parseForward(d, ctx.block.corefile);
    const f = new Forward(cfg, { log: ctx.log });
    // Several forwards in one block run in Corefile order; `next RCODE` hands the query to the
    // one after (CoreDNS only continues to a forward). The previous one is still the block's
    // `forward` peer while this one is being set up.
    const prev = ctx.peer('forward');
    if (prev instanceof Forward) prev.nextIsForward = true;
    return f;
  },
};

export { Forward } from './forward.js';
