import { describe, expect, it } from 'vitest';
import type os from 'node:os';
import type { SetupContext } from '../types.js';
import { bind, parseBind } from './index.js';
import { directiveOf as directive } from '../testing.test-helper.js';

const addr = (address: string, family: 'IPv4' | 'IPv6') =>
  ({ address, family, netmask: '', mac: '', internal: false, cidr: null }) as os.NetworkInterfaceInfo;

const ifaces = {
  lo: [addr('127.0.0.1', 'IPv4'), addr('::1', 'IPv6')],
  eth0: [addr('10.0.0.5', 'IPv4'), addr('169.254.1.1', 'IPv4'), addr('fe80::1', 'IPv6'), addr('fd00::5', 'IPv6')],
};

describe('bind', () => {
  it('takes IP addresses as they are', () => {
    expect(parseBind(directive('bind 127.0.0.1 ::1'), ifaces)).toEqual(['127.0.0.1', '::1']);
  });

  it('expands interface names to their addresses without link-local ones', () => {
    expect(parseBind(directive('bind eth0'), ifaces)).toEqual(['10.0.0.5', 'fd00::5']);
  });

  it('leaves out the addresses listed under except', () => {
    expect(parseBind(directive('bind lo eth0 {\n except ::1 fd00::5\n}'), ifaces)).toEqual(['127.0.0.1', '10.0.0.5']);
    expect(parseBind(directive('bind lo eth0 {\n except eth0\n}'), ifaces)).toEqual(['127.0.0.1', '::1']);
  });

  it('adds the addresses to the block once, and has no DNS handler', () => {
    const block = { zones: ['.'], port: 53, server: 'dns://:53', bind: ['127.0.0.1'], corefile: '' };
    const p = bind.setup(directive('bind 127.0.0.1 127.0.0.2'), { block } as unknown as SetupContext);
    expect(block.bind).toEqual(['127.0.0.1', '127.0.0.2']);
    expect('handle' in p).toBe(false);
  });

  it('rejects what is neither an address nor an interface', () => {
    expect(() => parseBind(directive('bind'), ifaces)).toThrow(/Corefile:2 - Error during parsing: plugin\/bind: at least one address/);
    expect(() => parseBind(directive('bind wlan9'), ifaces)).toThrow(/not a valid IP address or interface name: wlan9/);
    expect(() => parseBind(directive('bind lo {\n except\n}'), ifaces)).toThrow(/except subdirective/);
    expect(() => parseBind(directive('bind lo {\n only ::1\n}'), ifaces)).toThrow(/invalid option "only"/);
    expect(() => parseBind(directive('bind ::1 {\n except lo\n}'), ifaces)).toThrow(/no address left/);
  });
});
