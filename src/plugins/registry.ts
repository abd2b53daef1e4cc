// Every plugin kdns implements, by directive name. Execution order comes from order.ts, never
// from this table or the Corefile.

import type { PluginDefinition } from './types.js';
import { whoami } from './whoami/index.js';

export const PLUGINS: Record<string, PluginDefinition> = {
  whoami,
};

export function pluginNames(): string[] {
  return Object.keys(PLUGINS).sort();
}
