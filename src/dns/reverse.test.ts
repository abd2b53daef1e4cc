import { describe, expect, it } from 'vitest';
import { addressFromReverse, canonicalIP, reverseName } from './reverse.js';

const V6_LOOPBACK_REVERSE = `1.${'0.'.repeat(31)}ip6.arpa.`;

describe('canonicalIP', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1', 4],
    ['::1', '::1', 6],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1', 6],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 6],
    ['2001:db8:1:1:1:1:1:1', '2001:db8:1:1:1:1:1:1', 6],
    ['fe80::1%eth0', 'fe80::1', 6],
    ['::ffff:10.0.0.2', '10.0.0.2', 4],
    ['::ffff:a00:2', '10.0.0.2', 4],
  ] as const)('%s -> %s (IPv%d)', (text, ip, family) => expect(canonicalIP(text)).toEqual({ ip, family }));

  it.each(['', 'example.org', '10.0.0', '10.0.0.256', '1::2::3', 'fe80::g'])('rejects %j', (text) => {
    expect(canonicalIP(text)).toBeNull();
  });
});

describe('addressFromReverse', () => {
  it('reads in-addr.arpa. and ip6.arpa. names', () => {
    expect(addressFromReverse('1.0.0.10.in-addr.arpa.')).toBe('10.0.0.1');
    expect(addressFromReverse(V6_LOOPBACK_REVERSE)).toBe('::1');
    expect(addressFromReverse(`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.`)).toBe('2001:db8::1');
  });

  it('returns "" for incomplete or malformed reverse names and for other names', () => {
    for (const name of ['0.10.in-addr.arpa.', 'in-addr.arpa.', '1.0.0.300.in-addr.arpa.', '1.ip6.arpa.', `x.${'0.'.repeat(31)}ip6.arpa.`, 'example.org.']) {
      expect(addressFromReverse(name)).toBe('');
    }
  });
});

describe('reverseName', () => {
  it('builds the reverse name of an address', () => {
    expect(reverseName('10.0.0.1')).toBe('1.0.0.10.in-addr.arpa.');
    expect(reverseName('::ffff:10.0.0.1')).toBe('1.0.0.10.in-addr.arpa.');
    expect(reverseName('::1')).toBe(V6_LOOPBACK_REVERSE);
    expect(reverseName('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.');
    expect(reverseName('not-an-ip')).toBe('');
  });

  it.each(['10.0.0.1', '192.0.2.255', '::1', '2001:db8::1', 'fd00:1:2:3:4:5:6:7'])('round-trips %s', (ip) => {
    expect(addressFromReverse(reverseName(ip))).toBe(ip);
  });
});
