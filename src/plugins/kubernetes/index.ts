// kubernetes: serves the Kubernetes DNS schema (services, endpoints, pods, PTR) from the cluster,
// as CoreDNS's kubernetes plugin does. See README.md.

import type { PluginDefinition } from '../types.js';
import { setupKubernetes } from './setup.js';

export const kubernetes: PluginDefinition = {
  name: 'kubernetes',
  setup: setupKubernetes,
};

export { onProgrammingDuration } from './metrics.js';
export type { ProgrammingDurationListener, ServiceKind } from './metrics.js';
export type { KubernetesPlugin } from './setup.js';
export type { KubernetesConfig } from './config.js';
