import { describe, expect, it } from 'vitest';
import { checkAddress, parseHostPort, splitHostPortError } from './http.js';

describe('listen addresses', () => {
  // Messages checked against Go's net.SplitHostPort.
  it.each([
    ['localhost', 'address localhost: missing port in address'],
    ['8181', 'address 8181: missing port in address'],
    ['[::1]', 'address [::1]: missing port in address'],
    ['[::1]x', 'address [::1]x: missing port in address'],
    ['1:2:3', 'address 1:2:3: too many colons in address'],
    ['::1', 'address ::1: too many colons in address'],
    ['[::1]:80:90', 'address [::1]:80:90: too many colons in address'],
    ['[::1', "address [::1: missing ']' in address"],
    ['a[b]:80', "address a[b]:80: unexpected '[' in address"],
    ['a]:80', "address a]:80: unexpected ']' in address"],
  ])('rejects %j like net.SplitHostPort', (address, message) => {
    expect(splitHostPortError(address)).toBe(message);
    expect(checkAddress(address)).toBe(message);
  });

  it.each([':8080', '127.0.0.1:8080', 'localhost:9153', '[::1]:8080', '[fe80::1%eth0]:8080'])('accepts %j', (address) => {
    expect(checkAddress(address)).toBeNull();
  });

  it('rejects ports it cannot listen on', () => {
    expect(splitHostPortError(':99999')).toBeNull();
    expect(checkAddress(':99999')).toBe('invalid port in address ":99999"');
    expect(checkAddress(':http')).toBe('invalid port in address ":http"');
  });

  it('splits host and port for listening', () => {
    expect(parseHostPort(':8080', 1)).toEqual({ host: '', port: 8080 });
    expect(parseHostPort('[::1]:53', 1)).toEqual({ host: '::1', port: 53 });
    expect(parseHostPort('localhost', 9153)).toEqual({ host: 'localhost', port: 9153 });
  });
});
