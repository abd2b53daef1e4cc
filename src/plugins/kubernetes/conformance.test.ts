// Every shared conformance case the kubernetes plugin answers on its own, run through the handler
// with the profile's Corefile (cases.json conventions: multisets, TTL 303 = any, serial ignored).

import { describe, expect, it } from 'vitest';

import { checkCase, loadCases, makeHarness } from './conformance-harness.test-helper.js';
import type { Harness } from './conformance-harness.test-helper.js';
import { FakeInformer, HAVE_CONFORMANCE } from './fake-informer.test-helper.js';

const file = loadCases();

// kubeadm adds cache/forward around the plugin; its cases under cluster.local are still answered
// by the plugin alone (ttl 30 = cache 30), the rest belong to the end-to-end suite.
const cases = file.cases.filter((c) => c.profile !== 'kubeadm' || c.qname.toLowerCase().endsWith('cluster.local.'));

describe.skipIf(!HAVE_CONFORMANCE)('conformance cases (kubernetes plugin alone)', () => {
  const harnesses = new Map<string, Promise<Harness>>();
  const harness = (profile: string, unsynced: boolean): Promise<Harness> => {
    const key = `${profile}/${unsynced}`;
    let h = harnesses.get(key);
    if (!h) {
      const informer = FakeInformer.fromConformance();
      if (unsynced) informer.synced = false;
      h = makeHarness({ corefile: file.profiles[profile]!.corefile, informer });
      harnesses.set(key, h);
    }
    return h;
  };

  for (const c of cases) {
    const unsynced = !!c.precondition && /not yet synced|not synced/i.test(c.precondition);
    const skip = !!c.environment_dependent || (!!c.precondition && !unsynced);
    it.skipIf(skip)(`${c.name}: ${c.qname} ${c.qtype} -> ${c.expect.rcode}`, async () => {
      const h = await harness(c.profile, unsynced);
      const res = await h.query(c.qname, c.qtype);
      expect(checkCase(c, res)).toEqual([]);
      expect(res.plugin).toBe('kubernetes');
    });
  }

  it('runs every non-kubeadm case of the sample', () => {
    expect(file.cases.filter((c) => c.profile !== 'kubeadm').every((c) => cases.includes(c))).toBe(true);
  });
});
