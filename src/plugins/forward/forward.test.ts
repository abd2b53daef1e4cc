import { describe, it, expect, afterEach } from 'vitest';
import { makeRequest } from '../../dns/request.js';
import { emptyResponse } from '../../dns/message.js';
import { RCODE } from '../../dns/constants.js';
import type { Plugin, SetupContext } from '../types.js';
import { registry } from '../../metrics/registry.js';
import { startFakeUpstream, type FakeUpstream } from '../../../test/fake-upstream.js';
import { forward } from './index.js';
import type { Forward } from './forward.js';
import { directiveOf, fakeContext } from '../testing.test-helper.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

function ctx(peers: Record<string, Plugin> = {}): SetupContext {
  return fakeContext({ block: { corefile: '/tmp/Corefile' }, peer: (n) => peers[n] });
}

function setup(line: string, peers: Record<string, Plugin> = {}): Forward {
  const d = directiveOf(line);
  const f = forward.setup(d, ctx(peers)) as Forward;
  open.push(f);
  return f;
}

async function fake(): Promise<FakeUpstream> {
  const u = await startFakeUpstream({ records: ['ext.test. 60 IN A 1.2.3.4'] });
  open.push(u);
  return u;
}

const nextSays = (tag: string) => () => ({ ...emptyResponse(RCODE.NOERROR), plugin: tag });

async function brokenCount(): Promise<number> {
  return (await registry.getSingleMetric('coredns_forward_healthcheck_broken_total')!.get()).values[0]?.value ?? 0;
}

describe('forward handler', () => {
  it('calls next synchronously for names it does not forward', () => {
    const f = setup('forward example.org 127.0.0.1:9');
    const r = f.handle(makeRequest('example.com', 1), nextSays('next'));
    expect(r).toMatchObject({ plugin: 'next' });
  });

  it('with every upstream down, still tries a random one and counts the broken health check', async () => {
    const up = await fake();
    const f = setup(`forward . ${up.address}`);
    f.upstreams[0].fails = 5;
    const before = await brokenCount();
    const r = await f.handle(makeRequest('ext.test', 1), nextSays('next'));
    expect(r.answers.map((a) => a.data)).toEqual(['1.2.3.4']);
    expect(await brokenCount()).toBe(before + 1);
  });

  it('with failfast_all_unhealthy_upstreams, answers SERVFAIL "no healthy proxies" when all are down', async () => {
    const up = await fake();
    const f = setup(`forward . ${up.address} {\n failfast_all_unhealthy_upstreams\n}`);
    f.upstreams[0].fails = 2;
    const r = await f.handle(makeRequest('ext.test', 1), nextSays('next'));
    expect(r.rcode).toBe(RCODE.SERVFAIL);
    expect(r.error?.message).toBe('no healthy proxies');
    expect(up.queries.udp).toBe(0);
  });

  it('never marks an upstream down with max_fails 0', () => {
    const f = setup('forward . 127.0.0.1:9 {\n max_fails 0\n}');
    f.upstreams[0].fails = 100;
    expect(f.upstreams[0].down(0)).toBe(false);
  });

  it('links a forward to the forward set up before it, for `next`', () => {
    const first = setup('forward . 127.0.0.1:9 {\n next NXDOMAIN\n}');
    setup('forward . 127.0.0.1:10', { forward: first });
    expect(first.nextIsForward).toBe(true);
  });

  it('gives up in-flight queries when closed', async () => {
    const up = await fake();
    up.setMode('silent');
    const f = setup(`forward . ${up.address}`);
    const pending = f.handle(makeRequest('ext.test', 1), nextSays('next'));
    await new Promise((r) => setTimeout(r, 50));
    f.close();
    const r = await pending;
    expect(r.rcode).toBe(RCODE.SERVFAIL);
  });
});
