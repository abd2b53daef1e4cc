// cache: a frontend cache for the rest of the chain (CoreDNS plugin/cache). See README.md.

import type { Plugin, PluginDefinition } from '../types.js';
import { parseCacheDirective } from './config.js';
import { Cache } from './cache.js';

export { Cache } from './cache.js';
export { parseCacheDirective, type CacheConfig } from './config.js';

export const cache: PluginDefinition = {
  name: 'cache',
  setup(d, ctx): Plugin {
    const cfg = parseCacheDirective(d, ctx.block.zones);
    const c = new Cache(cfg, ctx.log);
    return {
      name: 'cache',
      fastAware: true,
      handle: (req, next) => c.handle(req, next),
      close: () => c.close(),
    };
  },
};
