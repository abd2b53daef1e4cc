// The cache on the wire: TTL rewrite, countdown, AA and the current query's question on a hit.

import { afterEach, describe, expect, it } from 'vitest';
import { startServer, query, type RunningServer } from './harness.js';
import { PLUGINS } from '../src/plugins/registry.js';
import type { PluginDefinition } from '../src/plugins/types.js';
import { RCODE } from '../src/dns/constants.js';

const ttlOf = (p: { answers?: unknown[] }): number => (p.answers![0] as { ttl: number }).ttl;

/** Stands in for a backend below cache (uses the whoami slot so plugin.cfg puts it after cache). */
function backend(calls: { n: number }): PluginDefinition {
  return {
    name: 'whoami',
    setup: () => ({
      name: 'whoami',
      handle: (req) => {
        calls.n++;
        return {
          rcode: RCODE.NOERROR,
          aa: false,
          answers: [{ name: req.question.name, type: 'TXT', class: 'IN', ttl: 28800, data: '1.1.0' }],
          authorities: [],
          additionals: [],
          plugin: 'backend',
        };
      },
    }),
  };
}

describe('cache on the wire', () => {
  let srv: RunningServer | null = null;
  afterEach(async () => {
    await srv?.close();
    srv = null;
  });

  it('rewrites TTLs to the cache max and answers repeats authoritatively with the asked case', async () => {
    const calls = { n: 0 };
    srv = await startServer('.:0 {\n  cache 30\n  whoami\n}\n', { definitions: { ...PLUGINS, whoami: backend(calls) } });
    const first = await query(srv.port, 'dns-version.cluster.local.', 'TXT');
    expect(ttlOf(first)).toBe(30);
    expect(first.flag_aa).toBe(false);
    const again = await query(srv.port, 'DNS-Version.Cluster.Local.', 'TXT');
    expect(calls.n).toBe(1);
    expect(again.flag_aa).toBe(true);
    expect(again.questions![0].name).toBe('DNS-Version.Cluster.Local');
    expect(ttlOf(again)).toBeLessThanOrEqual(30);
    expect(ttlOf(again)).toBeGreaterThanOrEqual(29);
  });
});
