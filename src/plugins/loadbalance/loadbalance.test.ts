import { describe, expect, it } from 'vitest';
import { emptyResponse, type DnsResponse, type RR } from '../../dns/message.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { makeRequest } from '../../dns/request.js';
import { LoadbalancePlugin, parseLoadbalance } from './index.js';
import { directiveOf as directive } from '../testing.test-helper.js';

const rr = (type: string, data: unknown): RR => ({ name: 'www.example.org.', type, class: 'IN', ttl: 30, data });
const a = (ip: string) => rr('A', ip);

function reply(answers: RR[], rcode: number = RCODE.NOERROR): DnsResponse {
  return { ...emptyResponse(rcode), answers, additionals: [] };
}

const plugin = (body = 'loadbalance') => new LoadbalancePlugin(parseLoadbalance(directive(body)));
const req = makeRequest('www.example.org.', TYPE.A);

describe('loadbalance', () => {
  it('puts CNAMEs first, then other records, then addresses, then MX', () => {
    const cname = rr('CNAME', 'x.example.org.');
    const txt = rr('TXT', 'hello');
    const mx = rr('MX', { preference: 10, exchange: 'mx.example.org.' });
    const aaaa = rr('AAAA', '::1');
    const ip = a('10.0.0.1');
    const out = plugin().handle(req, () => reply([mx, ip, txt, aaaa, cname])) as DnsResponse;
    expect(out.answers[0]).toBe(cname);
    expect(out.answers[1]).toBe(txt);
    expect(new Set(out.answers.slice(2, 4))).toEqual(new Set([ip, aaaa]));
    expect(out.answers[4]).toBe(mx);
  });

  it('shuffles the addresses between replies', () => {
    const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map(a);
    const p = plugin();
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) firsts.add((p.handle(req, () => reply(ips)) as DnsResponse).answers[0].data);
    expect(firsts.size).toBe(4);
  });

  it('never reorders the arrays it was given (they may live in a cache)', () => {
    const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map(a);
    const before = [...ips];
    const original = reply(ips);
    for (let i = 0; i < 20; i++) plugin().handle(req, () => original);
    expect(original.answers).toBe(ips);
    expect(ips).toEqual(before);
  });

  it('leaves other rcodes and zone transfers alone', () => {
    const ips = ['10.0.0.1', '10.0.0.2'].map(a);
    const nx = reply(ips, RCODE.NXDOMAIN);
    expect(plugin().handle(req, () => nx)).toBe(nx);
    const axfr = reply(ips);
    expect(plugin().handle(makeRequest('example.org.', TYPE.AXFR), () => axfr)).toBe(axfr);
  });

  it('balances asynchronous replies too', async () => {
    const cname = rr('CNAME', 'x.example.org.');
    const out = await plugin().handle(req, () => Promise.resolve(reply([a('10.0.0.1'), cname])));
    expect(out.answers[0]).toBe(cname);
  });

  it('moves addresses in preferred subnets to the front, in subnet order', () => {
    const p = plugin('loadbalance round_robin {\n prefer 192.168.0.0/16 10.1.0.0/16\n}');
    const ips = ['10.9.0.1', '10.1.0.1', '192.168.1.1', '10.9.0.2', '192.168.1.2'].map(a);
    for (let i = 0; i < 20; i++) {
      const out = p.handle(req, () => reply(ips)) as DnsResponse;
      const order = out.answers.map((r) => r.data as string);
      expect(new Set(order.slice(0, 2))).toEqual(new Set(['192.168.1.1', '192.168.1.2']));
      expect(order[2]).toBe('10.1.0.1');
    }
  });

  it('rejects weighted, unknown policies and bad subnets', () => {
    expect(() => parseLoadbalance(directive('loadbalance weighted w.txt'))).toThrow(/Corefile:2 - Error during parsing: plugin\/loadbalance: the weighted policy is not supported by kdns/);
    expect(() => parseLoadbalance(directive('loadbalance random'))).toThrow(/unknown policy: random/);
    expect(() => parseLoadbalance(directive('loadbalance round_robin x'))).toThrow(/unknown property for round_robin/);
    expect(() => parseLoadbalance(directive('loadbalance {\n prefer 10.0.0.0/33\n}'))).toThrow(/invalid CIDR "10.0.0.0\/33"/);
    expect(() => parseLoadbalance(directive('loadbalance {\n limit 5\n}'))).toThrow(/unknown property 'limit'/);
  });
});
