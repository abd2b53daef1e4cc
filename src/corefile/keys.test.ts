import { describe, it, expect } from 'vitest';

import { KeyError, parseServerKey, zonesFromHost } from './keys.js';

describe('parseServerKey', () => {
  it('normalises zones to lower case and absolute', () => {
    expect(parseServerKey('Cluster.Local')).toEqual({ raw: 'Cluster.Local', scheme: 'dns', zones: ['cluster.local.'], port: null });
    expect(parseServerKey('example.org.').zones).toEqual(['example.org.']);
    expect(parseServerKey('.').zones).toEqual(['.']);
  });

  it('takes digits after the last colon as the port and leaves the port null otherwise', () => {
    expect(parseServerKey('.:53')).toMatchObject({ zones: ['.'], port: 53 });
    expect(parseServerKey('example.org:1053').port).toBe(1053);
    expect(parseServerKey('example.org').port).toBeNull();
  });

  it('strips the scheme and applies its default port', () => {
    expect(parseServerKey('dns://example.org')).toMatchObject({ scheme: 'dns', zones: ['example.org.'], port: null });
    expect(parseServerKey('tls://example.org')).toMatchObject({ scheme: 'tls', port: 853 });
    expect(parseServerKey('quic://.')).toMatchObject({ scheme: 'quic', port: 853 });
    expect(parseServerKey('https://.')).toMatchObject({ scheme: 'https', port: 443 });
    expect(parseServerKey('https3://.')).toMatchObject({ scheme: 'https3', port: 443 });
    expect(parseServerKey('grpc://.')).toMatchObject({ scheme: 'grpc', port: 443 });
    expect(parseServerKey('tls://.:5353')).toMatchObject({ scheme: 'tls', port: 5353 });
  });

  it('rejects unknown schemes, bad ports and names that are not domain names', () => {
    expect(() => parseServerKey('http://example.org')).toThrow(KeyError);
    expect(() => parseServerKey('http://example.org')).toThrow('unsupported scheme "http://"');
    expect(() => parseServerKey('example.org:')).toThrow('expecting data after last colon');
    expect(() => parseServerKey('example.org:dns')).toThrow('invalid port "dns"');
    expect(() => parseServerKey('example.org:70000')).toThrow('invalid port 70000');
    expect(() => parseServerKey(':53')).toThrow('zone is not a valid domain name');
    expect(() => parseServerKey('a..b')).toThrow('zone is not a valid domain name: a..b');
    expect(() => parseServerKey('(snippet)')).toThrow('zone is not a valid domain name');
    expect(() => parseServerKey(`${'a'.repeat(64)}.org`)).toThrow('zone is not a valid domain name');
  });
});

describe('zonesFromHost', () => {
  it('turns an IPv4 CIDR on an octet boundary into its in-addr.arpa zone', () => {
    expect(zonesFromHost('10.0.0.0/24')).toEqual(['0.0.10.in-addr.arpa.']);
    expect(zonesFromHost('10.0.0.0/8')).toEqual(['10.in-addr.arpa.']);
    expect(zonesFromHost('172.16.0.0/16')).toEqual(['16.172.in-addr.arpa.']);
    expect(zonesFromHost('192.0.2.1/32')).toEqual(['1.2.0.192.in-addr.arpa.']);
    expect(zonesFromHost('0.0.0.0/0')).toEqual(['in-addr.arpa.']);
  });

  it('clears host bits before building the zone', () => {
    expect(zonesFromHost('10.1.2.3/24')).toEqual(['2.1.10.in-addr.arpa.']);
  });

  it('expands an IPv4 CIDR off an octet boundary into every covered zone', () => {
    expect(zonesFromHost('10.0.0.0/23')).toEqual(['0.0.10.in-addr.arpa.', '1.0.10.in-addr.arpa.']);
    expect(zonesFromHost('10.0.4.0/22')).toEqual(['4.0.10.in-addr.arpa.', '5.0.10.in-addr.arpa.', '6.0.10.in-addr.arpa.', '7.0.10.in-addr.arpa.']);
    const z = zonesFromHost('172.16.0.0/12');
    expect(z).toHaveLength(16);
    expect(z[0]).toBe('16.172.in-addr.arpa.');
    expect(z[15]).toBe('31.172.in-addr.arpa.');
  });

  it('turns an IPv6 CIDR into ip6.arpa zones on nibble boundaries', () => {
    expect(zonesFromHost('2001:db8::/32')).toEqual(['8.b.d.0.1.0.0.2.ip6.arpa.']);
    expect(zonesFromHost('fd00::/8')).toEqual(['d.f.ip6.arpa.']);
    expect(zonesFromHost('2001:DB8:1::/48')).toEqual(['1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.']);
    const z = zonesFromHost('2001:db8::/33');
    expect(z).toHaveLength(8);
    expect(z[0]).toBe('0.8.b.d.0.1.0.0.2.ip6.arpa.');
    expect(z[7]).toBe('7.8.b.d.0.1.0.0.2.ip6.arpa.');
  });

  it('rejects malformed CIDRs', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0/24', '300.0.0.0/8', '010.0.0.0/8', '2001:db8::/129', '2001:db8:::/32']) {
      expect(() => zonesFromHost(bad), bad).toThrow(`invalid CIDR ${bad}`);
    }
  });

  it('rejects IPv6 CIDRs starting with : or 0 as CoreDNS does', () => {
    expect(() => zonesFromHost('::/0')).toThrow('invalid CIDR ::/0');
    expect(() => zonesFromHost('0:0::/16')).toThrow('invalid CIDR');
  });

  it('keeps a name with a slash that is not an address, like an RFC 2317 zone', () => {
    expect(zonesFromHost('0/25.2.0.192.in-addr.arpa')).toEqual(['0/25.2.0.192.in-addr.arpa.']);
  });

  it('reads the port after a reverse CIDR', () => {
    expect(parseServerKey('10.0.0.0/24:1053')).toMatchObject({ zones: ['0.0.10.in-addr.arpa.'], port: 1053 });
    expect(parseServerKey('dns://fd00::/8:1053')).toMatchObject({ zones: ['d.f.ip6.arpa.'], port: 1053 });
    expect(parseServerKey('fd00::/8')).toMatchObject({ zones: ['d.f.ip6.arpa.'], port: null });
  });
});
