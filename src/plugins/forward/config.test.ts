import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseCorefile } from '../../corefile/parser.js';
import { ConfigError } from '../../corefile/types.js';
import { parseForward, parseHostPort } from './config.js';
import { configErrorOf } from '../testing.test-helper.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kdns-forward-'));
const corefile = path.join(dir, 'Corefile');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The forward directive of `.:53 { <body> }`, parsed by the real Corefile parser. */
function parse(body: string) {
  const blocks = parseCorefile(`.:53 {\n${body}\n}\n`, corefile);
  const d = blocks[0].directives.find((x) => x.name === 'forward')!;
  return parseForward(d, corefile);
}

function errorOf(body: string): ConfigError {
  return configErrorOf(() => parse(body));
}

describe('forward setup', () => {
  it('uses CoreDNS defaults when no options are given', () => {
    const c = parse('forward . 8.8.8.8');
    expect(c).toMatchObject({
      from: '.', except: [], forceTcp: false, preferUdp: false, expireMs: 10_000, maxFails: 2,
      policy: 'random', hcIntervalMs: 500, hcRecursionDesired: true, hcDomain: '.', maxConcurrent: 0,
      failfast: false, readTimeoutMs: 2000,
    });
    expect(c.upstreams).toEqual([{ addr: '8.8.8.8:53', host: '8.8.8.8', port: 53, family: 4, tls: false, serverName: undefined }]);
  });

  it('normalises FROM and except names to lower-case absolute names', () => {
    const c = parse('forward Example.ORG 1.2.3.4 {\n except Internal.Example.org b.example.org.\n}');
    expect(c.from).toBe('example.org.');
    expect(c.except).toEqual(['internal.example.org.', 'b.example.org.']);
  });

  it('accepts every TO form: ip, ip:port, [v6]:port, dns://, tls:// with server name and port', () => {
    const c = parse('forward . 1.1.1.1 10.0.0.1:5353 [2001:db8::1]:1053 ::1 dns://9.9.9.9 tls://8.8.4.4%dns.google tls://1.0.0.1:8853');
    expect(c.upstreams.map((u) => [u.addr, u.tls, u.serverName])).toEqual([
      ['1.1.1.1:53', false, undefined],
      ['10.0.0.1:5353', false, undefined],
      ['[2001:db8::1]:1053', false, undefined],
      ['[::1]:53', false, undefined],
      ['9.9.9.9:53', false, undefined],
      ['8.8.4.4:853', true, 'dns.google'],
      ['1.0.0.1:8853', true, undefined],
    ]);
  });

  it('reads nameservers from a resolv.conf-style file relative to the Corefile', () => {
    writeFileSync(path.join(dir, 'resolv.conf'), '# comment\nsearch cluster.local\nnameserver 10.0.0.10\nnameserver fd00::10\noptions ndots:5\n');
    const c = parse('forward . resolv.conf');
    expect(c.upstreams.map((u) => u.addr)).toEqual(['10.0.0.10:53', '[fd00::10]:53']);
  });

  it('parses every option', () => {
    const c = parse(`forward . 1.2.3.4 5.6.7.8 {
      force_tcp
      prefer_udp
      expire 1m30s
      max_idle_conns 4
      max_age 30s
      max_fails 0
      tls_servername dns.example
      policy sequential
      health_check 250ms no_rec domain Probe.Example.
      max_concurrent 100
      next NXDOMAIN servfail
      failover REFUSED
      failfast_all_unhealthy_upstreams
      read_timeout 1s
      max_connect_attempts 3
    }`);
    expect(c).toMatchObject({
      forceTcp: true, preferUdp: true, expireMs: 90_000, maxIdleConns: 4, maxAgeMs: 30_000, maxFails: 0,
      tlsServerName: 'dns.example', policy: 'sequential', hcIntervalMs: 250, hcRecursionDesired: false,
      hcDomain: 'probe.example.', maxConcurrent: 100, nextRcodes: [3, 2], failoverRcodes: [5], failfast: true,
      readTimeoutMs: 1000, maxConnectAttempts: 3,
    });
  });

  it('reports an unknown option at its own line', () => {
    const e = errorOf('forward . 1.2.3.4 {\n  max_fails 3\n  bogus_option 1\n}');
    expect(e.message).toBe(`${corefile}:4 - Error during parsing: plugin/forward: unknown property 'bogus_option'`);
  });

  it.each([
    ['expire soon', 'time: invalid duration "soon"'],
    ['expire -1s', "expire can't be negative: -1s"],
    ['health_check 5', 'time: invalid duration "5"'],
    ['health_check 1s sometimes', 'health_check: unknown option sometimes'],
    ['max_fails two', 'strconv.ParseUint: parsing "two": invalid syntax'],
    ['max_concurrent -1', "max_concurrent can't be negative: -1"],
    ['policy fastest', "unknown policy 'fastest'"],
    ['next NOPE', 'NOPE is not a valid rcode'],
    ['failover NOERROR', 'NoError cannot be used in failover'],
    ['force_tcp yes', "Wrong argument count or unexpected line ending after 'force_tcp'"],
    ['except', "Wrong argument count or unexpected line ending after 'except'"],
    ['tls a b c d', "Wrong argument count or unexpected line ending after 'tls'"],
    ['tls /nonexistent/cert.pem /nonexistent/key.pem', 'cannot read /nonexistent/cert.pem'],
  ])('rejects "%s" with a message naming the problem and its line', (opt, msg) => {
    const e = errorOf(`forward . 1.2.3.4 {\n  ${opt}\n}`);
    expect(e.message).toContain(`${corefile}:3 - Error during parsing: plugin/forward: ${msg}`);
  });

  it('rejects a TO that is neither an address nor a file', () => {
    expect(errorOf('forward . nosuchfile.conf').message).toContain(`${corefile}:2 - Error during parsing: plugin/forward: not an IP address or file: "nosuchfile.conf"`);
  });

  it('rejects DoH and gRPC upstreams as unsupported protocols', () => {
    expect(errorOf('forward . https://1.1.1.1/dns-query').message).toContain("'https' is not supported as a destination protocol in forward");
    expect(errorOf('forward . grpc://1.1.1.1').message).toContain("'grpc' is not supported");
  });

  it('allows at most 15 upstreams', () => {
    const to = Array.from({ length: 16 }, (_, i) => `10.0.0.${i + 1}`).join(' ');
    expect(errorOf(`forward . ${to}`).message).toContain('more than 15 TOs configured: 16');
    expect(parse(`forward . ${to.split(' ').slice(0, 15).join(' ')}`).upstreams).toHaveLength(15);
  });

  it('needs FROM and at least one TO', () => {
    expect(errorOf('forward .').message).toContain("Wrong argument count or unexpected line ending after 'forward'");
  });
});

describe('upstream addresses', () => {
  it('keeps an IPv6 zone for plain DNS and reads a server name for DoT', () => {
    expect(parseHostPort('fe80::1%eth0')?.addr).toBe('[fe80::1%eth0]:53');
    expect(parseHostPort('tls://[2001:db8::1]%dns.example:8853')).toMatchObject({ addr: '[2001:db8::1]:8853', serverName: 'dns.example', tls: true });
  });

  it('refuses host names and bad ports', () => {
    expect(parseHostPort('dns.google')).toBeNull();
    expect(parseHostPort('1.2.3.4:99999')).toBeNull();
  });
});
