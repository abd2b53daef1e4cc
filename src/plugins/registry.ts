// Every plugin kdns implements, by directive name. Execution order comes from order.ts, never
// from this table or the Corefile.

import type { PluginDefinition } from './types.js';
import { whoami } from './whoami/index.js';
import { forward } from './forward/index.js';
import { cache } from './cache/index.js';
import { prometheus } from './prometheus/index.js';
import { errors } from './errors/index.js';
import { log } from './log/index.js';
import { health } from './health/index.js';
import { ready } from './ready/index.js';
import { bind } from './bind/index.js';
import { loadbalance } from './loadbalance/index.js';
import { loop } from './loop/index.js';
import { reload } from './reload/index.js';
import { hosts } from './hosts/index.js';
import { rewrite } from './rewrite/index.js';
import { template } from './template/index.js';
import { autopath } from './autopath/index.js';
import { k8s_external } from './k8s_external/index.js';
import { kubernetes } from './kubernetes/index.js';

export const PLUGINS: Record<string, PluginDefinition> = {
  whoami,
  forward,
  cache,
  prometheus,
  errors,
  log,
  health,
  ready,
  bind,
  loadbalance,
  loop,
  reload,
  hosts,
  rewrite,
  template,
  autopath,
  k8s_external,
  kubernetes,
};

export function pluginNames(): string[] {
  return Object.keys(PLUGINS).sort();
}
