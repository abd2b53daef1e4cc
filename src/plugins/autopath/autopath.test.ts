import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRequest } from '../../dns/request.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import type { DnsRequest, DnsResponse } from '../../dns/message.js';
import type { Plugin } from '../types.js';
import { m } from '../../metrics/registry.js';
import { autopath, AutoPath, kubernetesSearch } from './index.js';
import { parseSearch } from './resolvconf.js';
import { directiveOf, fakeContext } from '../testing.test-helper.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function resolvConf(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kdns-autopath-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'resolv.conf'), text);
  return join(dir, 'resolv.conf');
}

function setup(line: string, peers: Record<string, Plugin> = {}): AutoPath {
  const d = directiveOf(line, 'Corefile');
  return autopath.setup(d, fakeContext({ peer: (n: string) => peers[n] })) as AutoPath;
}

/** Names that exist in the fake backend; everything else is NXDOMAIN. */
function backend(existing: string[]) {
  const asked: string[] = [];
  const next = (req: DnsRequest): DnsResponse => {
    asked.push(req.question.name);
    if (!existing.includes(req.question.lname)) return { rcode: RCODE.NXDOMAIN, aa: true, answers: [], authorities: [], additionals: [] };
    return { rcode: RCODE.NOERROR, aa: true, answers: [{ name: req.question.name, type: 'A', class: 'IN', ttl: 5, data: '10.0.0.1' }], authorities: [], additionals: [] };
  };
  return { asked, next };
}

describe('autopath', () => {
  it('walks the search path and answers with a CNAME from the asked name', async () => {
    const p = setup(`autopath ${resolvConf('search default.svc.cluster.local svc.cluster.local cluster.local\n')}`);
    const b = backend(['web.svc.cluster.local.']);
    const before = (await m.autopathSuccess.get()).values.find((v) => v.labels.server === 'dns://:53')?.value ?? 0;
    const res = await p.handle(makeRequest('Web.default.svc.cluster.local.', TYPE.A), b.next);
    expect(b.asked).toEqual(['Web.default.svc.cluster.local.', 'Web.svc.cluster.local.']);
    expect(res.answers[0]).toEqual({ name: 'Web.default.svc.cluster.local.', type: 'CNAME', class: 'IN', ttl: 5, data: 'Web.svc.cluster.local.' });
    expect(res.answers[1].name).toBe('Web.svc.cluster.local.');
    const after = (await m.autopathSuccess.get()).values.find((v) => v.labels.server === 'dns://:53')?.value ?? 0;
    expect(after).toBe(before + 1);
  });

  it('tries the bare name last', async () => {
    const p = setup(`autopath ${resolvConf('search a.test b.test\n')}`);
    const b = backend(['example.com.']);
    const res = await p.handle(makeRequest('example.com.a.test.', TYPE.A), b.next);
    expect(b.asked.at(-1)).toBe('example.com.');
    expect(res.answers.map((r) => r.type)).toEqual(['CNAME', 'A']);
  });

  it('returns the reply for the first search domain when every step is NXDOMAIN', async () => {
    const p = setup(`autopath ${resolvConf('search a.test b.test\n')}`);
    const b = backend([]);
    const res = await p.handle(makeRequest('x.a.test.', TYPE.A), b.next);
    expect(res.rcode).toBe(RCODE.NXDOMAIN);
    expect(b.asked).toEqual(['x.a.test.', 'x.b.test.', 'x.']);
  });

  it('leaves names outside the first search domain alone', async () => {
    const p = setup(`autopath ${resolvConf('search a.test b.test\n')}`);
    const b = backend(['x.b.test.']);
    const req = makeRequest('x.b.test.', TYPE.A);
    await p.handle(req, b.next);
    expect(b.asked).toEqual(['x.b.test.']);
  });

  it('uses the search path of the kubernetes plugin for the client', async () => {
    const kube = { name: 'kubernetes', zones: ['cluster.local.'], podNamespaceByIP: (ip: string) => (ip === '10.244.0.5' ? 'team' : undefined) };
    const p = setup('autopath @kubernetes', { kubernetes: kube as unknown as Plugin });
    const b = backend(['db.team.svc.cluster.local.']);
    const hit = await p.handle(makeRequest('db.team.svc.cluster.local.', TYPE.A, { remoteAddress: '10.244.0.5' }), b.next);
    expect(hit.answers).toHaveLength(1);
    const b2 = backend(['api.svc.cluster.local.']);
    const res = await p.handle(makeRequest('api.team.svc.cluster.local.', TYPE.A, { remoteAddress: '10.244.0.5' }), b2.next);
    expect(res.answers[0].data).toBe('api.svc.cluster.local.');
    const b3 = backend([]);
    await p.handle(makeRequest('api.team.svc.cluster.local.', TYPE.A, { remoteAddress: '10.9.9.9' }), b3.next);
    expect(b3.asked).toHaveLength(1);
  });

  it('prefers an autoPath method on the named plugin', async () => {
    const peer = { name: 'kubernetes', autoPath: () => ['ns.svc.z.', 'svc.z.', ''] };
    const p = setup('autopath @kubernetes', { kubernetes: peer as unknown as Plugin });
    const b = backend(['q.svc.z.']);
    const res = await p.handle(makeRequest('q.ns.svc.z.', TYPE.A), b.next);
    expect(res.answers[0].type).toBe('CNAME');
  });

  it('builds the Kubernetes search list like CoreDNS', () => {
    const f = kubernetesSearch({ zones: ['cluster.local.'], podNamespaceByIP: () => 'ns1' }, ['corp.example.']);
    expect(f(makeRequest('x.ns1.svc.cluster.local.', TYPE.A))).toEqual(['ns1.svc.cluster.local.', 'svc.cluster.local.', 'cluster.local.', 'corp.example.', '']);
    expect(f(makeRequest('x.other.', TYPE.A))).toBeNull();
  });

  it('reads search and domain lines from resolv.conf', () => {
    expect(parseSearch('nameserver 1.1.1.1\nsearch A.test b.test.\n')).toEqual(['a.test.', 'b.test.']);
    expect(parseSearch('domain corp.example\n')).toEqual(['corp.example.']);
  });

  it('rejects a missing resolv.conf and a plugin without the interface', () => {
    expect(() => setup('autopath')).toThrow(/no resolv-conf specified/);
    expect(() => setup('autopath /nonexistent/resolv.conf')).toThrow(/Corefile:2 .*failed to parse/);
    const p = setup('autopath @kubernetes', { kubernetes: { name: 'kubernetes' } });
    expect(() => p.start()).toThrow(/does not implement the AutoPather interface/);
  });
});
