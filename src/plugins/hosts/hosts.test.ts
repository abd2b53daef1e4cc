import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCorefile } from '../../corefile/parser.js';
import { makeRequest } from '../../dns/request.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { emptyResponse, type DnsResponse } from '../../dns/message.js';
import { reverseName } from '../../dns/reverse.js';
import type { Plugin, SetupContext } from '../types.js';
import { hosts, Hosts } from './index.js';
import { fakeContext, quietLogger } from '../testing.test-helper.js';

const dirs: string[] = [];
const plugins: Plugin[] = [];
afterEach(() => {
  for (const p of plugins.splice(0)) void p.close?.();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kdns-hosts-'));
  dirs.push(dir);
  const f = join(dir, 'hosts');
  writeFileSync(f, text);
  return f;
}

const warnings: string[] = [];
function ctx(zones = ['.']): SetupContext {
  return fakeContext({ block: { zones }, log: { ...quietLogger, warn: (m) => warnings.push(m) } });
}

function setup(corefile: string, zones?: string[]): Hosts {
  const d = parseCorefile(corefile, 'Corefile')[0].directives[0];
  const p = hosts.setup(d, ctx(zones)) as Hosts;
  plugins.push(p);
  return p;
}

const nextMarker = emptyResponse(RCODE.REFUSED, 'next');
const next = () => nextMarker;

function ask(p: Hosts, name: string, type: number): DnsResponse {
  return p.handle(makeRequest(name, type), next) as DnsResponse;
}

const EXAMPLE = `
127.0.0.1 localhost localhost.domain
::1 localhost localhost.domain
10.0.0.1 example.org   # comment
::FFFF:10.0.0.2 example.com
192.168.1.10 *.wild.test
192.168.1.11 a.wild.test
`;

describe('hosts', () => {
  it('answers A and AAAA from the file with the default TTL of 3600', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)}\n}`);
    const a = ask(p, 'example.org.', TYPE.A);
    expect(a.rcode).toBe(RCODE.NOERROR);
    expect(a.aa).toBe(true);
    expect(a.answers).toEqual([{ name: 'example.org.', type: 'A', class: 'IN', ttl: 3600, data: '10.0.0.1' }]);
    expect(ask(p, 'localhost.', TYPE.AAAA).answers.map((r) => r.data)).toEqual(['::1']);
  });

  it('files an IPv4-mapped IPv6 address under A', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)}\n}`);
    expect(ask(p, 'example.com.', TYPE.A).answers.map((r) => r.data)).toEqual(['10.0.0.2']);
  });

  it('echoes the owner name as asked and matches case-insensitively', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)}\n}`);
    expect(ask(p, 'ExAmple.ORG.', TYPE.A).answers[0].name).toBe('ExAmple.ORG.');
  });

  it('generates PTR records for every name of an address', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)}\n}`);
    const r = ask(p, '1.0.0.127.in-addr.arpa.', TYPE.PTR);
    expect(r.answers.map((x) => x.data)).toEqual(['localhost.', 'localhost.domain.']);
    expect(ask(p, reverseName('::1'), TYPE.PTR).answers.map((x) => x.data))
      .toEqual(['localhost.', 'localhost.domain.']);
  });

  it('passes unknown PTR names on even without fallthrough', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)}\n}`);
    expect(ask(p, '9.9.9.9.in-addr.arpa.', TYPE.PTR)).toBe(nextMarker);
  });

  it('does not generate PTR records with no_reverse', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)} {\n no_reverse\n }\n}`);
    expect(ask(p, '1.0.0.10.in-addr.arpa.', TYPE.PTR)).toBe(nextMarker);
  });

  it('answers NODATA for a known name asked for another type', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)}\n}`);
    for (const t of [TYPE.AAAA, TYPE.MX, TYPE.TXT]) {
      const r = ask(p, 'example.org.', t);
      expect(r.rcode).toBe(RCODE.NOERROR);
      expect(r.answers).toEqual([]);
      expect(r.authorities).toEqual([]);
    }
  });

  it('answers NXDOMAIN without SOA for an unknown name, or falls through when configured', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)}\n}`);
    const r = ask(p, 'nope.example.', TYPE.A);
    expect(r.rcode).toBe(RCODE.NXDOMAIN);
    expect(r.authorities).toEqual([]);
    const f = setup(`. {\n hosts ${tempFile(EXAMPLE)} {\n fallthrough\n }\n}`);
    expect(ask(f, 'nope.example.', TYPE.A)).toBe(nextMarker);
  });

  it('limits fallthrough to the listed zones', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)} {\n fallthrough example.net\n }\n}`);
    expect(ask(p, 'x.example.net.', TYPE.A)).toBe(nextMarker);
    expect(ask(p, 'x.example.com.', TYPE.A).rcode).toBe(RCODE.NXDOMAIN);
  });

  it('passes unsupported types of a known name on with fallthrough_unsupported', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)} {\n fallthrough\n fallthrough_unsupported\n }\n}`);
    expect(ask(p, 'example.org.', TYPE.TXT)).toBe(nextMarker);
    expect(ask(p, 'example.org.', TYPE.AAAA).rcode).toBe(RCODE.NOERROR);
  });

  it('serves only its zones and ignores file entries outside them', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)} example.org\n}`);
    expect(ask(p, 'example.org.', TYPE.A).answers).toHaveLength(1);
    expect(ask(p, 'example.com.', TYPE.A)).toBe(nextMarker);
  });

  it('matches a one-label wildcard but prefers explicit names and never the apex', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)}\n}`);
    expect(ask(p, 'apps.wild.test.', TYPE.A).answers.map((r) => r.data)).toEqual(['192.168.1.10']);
    expect(ask(p, 'a.wild.test.', TYPE.A).answers.map((r) => r.data)).toEqual(['192.168.1.11']);
    expect(ask(p, 'wild.test.', TYPE.A).rcode).toBe(RCODE.NXDOMAIN);
    expect(ask(p, 'deep.apps.wild.test.', TYPE.A).rcode).toBe(RCODE.NXDOMAIN);
    expect(ask(p, '10.1.168.192.in-addr.arpa.', TYPE.PTR)).toBe(nextMarker);
  });

  it('merges inline entries after the file entries and applies ttl', () => {
    const p = setup(`. {\n hosts ${tempFile(EXAMPLE)} {\n 10.9.9.9 example.org\n 10.1.1.1 inline.test\n ttl 60\n }\n}`);
    expect(ask(p, 'example.org.', TYPE.A).answers.map((r) => r.data)).toEqual(['10.0.0.1', '10.9.9.9']);
    expect(ask(p, 'inline.test.', TYPE.A).answers[0].ttl).toBe(60);
  });

  it('serves inline entries when the file does not exist', () => {
    const p = setup(`. {\n hosts /nonexistent/kdns/hosts {\n 10.1.1.1 inline.test\n }\n}`);
    expect(ask(p, 'inline.test.', TYPE.A).answers).toHaveLength(1);
    expect(warnings.some((w) => w.includes('does not exist'))).toBe(true);
  });

  it('picks up file changes on reload', async () => {
    const f = tempFile('10.0.0.1 a.test\n');
    const p = setup(`. {\n hosts ${f} {\n reload 0\n }\n}`);
    expect(ask(p, 'b.test.', TYPE.A).rcode).toBe(RCODE.NXDOMAIN);
    writeFileSync(f, '10.0.0.1 a.test\n10.0.0.2 b.test\n');
    utimesSync(f, new Date(), new Date(Date.now() + 5000));
    await p.reload();
    expect(ask(p, 'b.test.', TYPE.A).answers.map((r) => r.data)).toEqual(['10.0.0.2']);
  });

  it('rejects bad options with file:line', () => {
    expect(() => setup(`. {\n hosts {\n ttl 0\n }\n}`)).toThrow(/Corefile:3 .*ttl provided is invalid/);
    expect(() => setup(`. {\n hosts {\n reload -1s\n }\n}`)).toThrow(/invalid negative duration/);
    expect(() => setup(`. {\n hosts {\n reload soon\n }\n}`)).toThrow(/invalid duration for reload/);
    expect(() => setup(`. {\n hosts {\n fallthrough\n 10.0.0.1 x.test\n }\n}`)).toThrow(/unknown property '10.0.0.1'/);
    expect(() => setup(`. {\n hosts {\n fallthrough_unsupported\n }\n}`)).toThrow(/requires fallthrough/);
  });
});
