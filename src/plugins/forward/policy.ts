// Upstream selection order per query (CoreDNS forward/policy.go).

import type { PolicyName } from './config.js';

export interface Policy {
  list<T>(pool: readonly T[]): readonly T[];
}

/** A random order; the common one- and two-upstream cases without allocating a shuffle. */
class Random implements Policy {
  list<T>(pool: readonly T[]): readonly T[] {
    switch (pool.length) {
      case 1: return pool;
      case 2: return Math.random() < 0.5 ? pool : [pool[1], pool[0]];
      default: {
        const out = pool.slice();
        for (let i = out.length - 1; i > 0; i--) {
          const j = Math.floor(Math.random() * (i + 1));
          const t = out[i]; out[i] = out[j]; out[j] = t;
        }
        return out;
      }
    }
  }
}

/** Each query starts at the next upstream; the others follow in configured order. */
class RoundRobin implements Policy {
  private robin = 0;
  list<T>(pool: readonly T[]): readonly T[] {
    this.robin = (this.robin + 1) >>> 0;
    const i = this.robin % pool.length;
    return [pool[i], ...pool.slice(0, i), ...pool.slice(i + 1)];
  }
}

/** Always the configured order. */
class Sequential implements Policy {
  list<T>(pool: readonly T[]): readonly T[] {
    return pool;
  }
}

export function makePolicy(name: PolicyName): Policy {
  switch (name) {
    case 'random': return new Random();
    case 'round_robin': return new RoundRobin();
    case 'sequential': return new Sequential();
  }
}
