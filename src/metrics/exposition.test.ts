import { describe, expect, it } from 'vitest';
import { goLabelOrder } from './exposition.js';

describe('goLabelOrder', () => {
  it('sorts labels by name as CoreDNS prints them', () => {
    expect(goLabelOrder('coredns_dns_requests_total{server="dns://:53",zone=".",view="",proto="udp",family="1",type="A"} 3')).toBe(
      'coredns_dns_requests_total{family="1",proto="udp",server="dns://:53",type="A",view="",zone="."} 3',
    );
  });

  it('puts a histogram bucket le last', () => {
    expect(goLabelOrder('coredns_dns_request_duration_seconds_bucket{le="0.001",server="dns://:53",zone=".",view=""} 1')).toBe(
      'coredns_dns_request_duration_seconds_bucket{server="dns://:53",view="",zone=".",le="0.001"} 1',
    );
  });

  it('keeps escaped quotes, commas and braces inside values', () => {
    const line = 'x{z="a\\"b,c}",a="{q}"} 1';
    expect(goLabelOrder(line)).toBe('x{a="{q}",z="a\\"b,c}"} 1');
  });

  it('leaves comments, unlabelled samples and blank lines alone', () => {
    const text = '# HELP x y\n# TYPE x counter\nx 1\n\ny{b="1",a="2"} 2\n';
    expect(goLabelOrder(text)).toBe('# HELP x y\n# TYPE x counter\nx 1\n\ny{a="2",b="1"} 2\n');
  });
});
