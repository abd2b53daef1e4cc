import { afterEach, describe, expect, it, vi } from 'vitest';
import { emptyResponse, type DnsResponse } from '../../dns/message.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { makeRequest } from '../../dns/request.js';
import { createLogger } from '../../log/logger.js';
import { ErrorsPlugin, parseErrors } from './index.js';
import { directiveOf as directive } from '../testing.test-helper.js';

function failing(message: string, rcode: number = RCODE.SERVFAIL): () => DnsResponse {
  return () => {
    const r = emptyResponse(rcode);
    r.error = new Error(message);
    return r;
  };
}

function plugin(body = 'errors') {
  const lines: string[] = [];
  const p = new ErrorsPlugin(parseErrors(directive(body)), createLogger({ write: (l) => lines.push(l) }));
  return { p, lines };
}

const req = () => makeRequest('Example.ORG.', TYPE.A);

afterEach(() => {
  vi.useRealTimers();
});

describe('errors', () => {
  it('logs the rcode, lower-cased name, type and error of a failed reply', () => {
    const { p, lines } = plugin();
    const res = p.handle(req(), failing('no next plugin found')) as DnsResponse;
    expect(res.rcode).toBe(RCODE.SERVFAIL);
    expect(lines).toEqual(['[ERROR] plugin/errors: 2 example.org. A: no next plugin found']);
  });

  it('stays quiet for replies without an error', () => {
    const { p, lines } = plugin();
    p.handle(req(), () => emptyResponse(RCODE.NXDOMAIN));
    expect(lines).toEqual([]);
  });

  it('turns an exception thrown by the next plugin into SERVFAIL and logs it', () => {
    const { p, lines } = plugin();
    const res = p.handle(req(), () => {
      throw new Error('boom');
    }) as DnsResponse;
    expect(res.rcode).toBe(RCODE.SERVFAIL);
    expect(res.error?.message).toBe('boom');
    expect(lines).toEqual(['[ERROR] plugin/errors: 2 example.org. A: boom']);
  });

  it('turns a rejected promise into SERVFAIL and logs it', async () => {
    const { p, lines } = plugin();
    const res = await p.handle(req(), () => Promise.reject(new Error('read udp: i/o timeout')));
    expect(res.rcode).toBe(RCODE.SERVFAIL);
    expect(lines).toEqual(['[ERROR] plugin/errors: 2 example.org. A: read udp: i/o timeout']);
  });

  it('logs the stack of a thrown exception with stacktrace', () => {
    const { p, lines } = plugin('errors {\n stacktrace\n}');
    p.handle(req(), () => {
      throw new Error('boom');
    });
    expect(lines[0]).toMatch(/^\[ERROR\] plugin\/errors: 2 example.org. A: Error: boom\n\s+at /);
  });

  it('folds matching errors into one line per period at the chosen level', () => {
    vi.useFakeTimers();
    const { p, lines } = plugin('errors {\n consolidate 2s "^no next" warning\n}');
    for (let i = 0; i < 3; i++) p.handle(req(), failing('no next plugin found'));
    p.handle(req(), failing('something else'));
    expect(lines).toEqual(['[ERROR] plugin/errors: 2 example.org. A: something else']);
    vi.advanceTimersByTime(2000);
    expect(lines[1]).toBe("[WARNING] plugin/errors: 3 errors like '^no next' occurred in last 2s");
    p.handle(req(), failing('no next plugin found'));
    vi.advanceTimersByTime(2000);
    expect(lines[2]).toBe("[WARNING] plugin/errors: 1 errors like '^no next' occurred in last 2s");
  });

  it('uses the first consolidate pattern that matches', () => {
    vi.useFakeTimers();
    const { p, lines } = plugin('errors {\n consolidate 1m "^no" info\n consolidate 1m "next" warning\n}');
    p.handle(req(), failing('no next plugin found'));
    vi.advanceTimersByTime(60_000);
    expect(lines).toEqual(["[INFO] plugin/errors: 1 errors like '^no' occurred in last 1m0s"]);
  });

  it('with show_first prints the first error at once and only summarises repeats', () => {
    vi.useFakeTimers();
    const { p, lines } = plugin('errors {\n consolidate 2s "^no next" info show_first\n}');
    p.handle(req(), failing('no next plugin found'));
    expect(lines).toEqual(['[INFO] plugin/errors: 2 example.org. A: no next plugin found']);
    vi.advanceTimersByTime(2000);
    expect(lines).toHaveLength(1);
    for (let i = 0; i < 3; i++) p.handle(req(), failing('no next plugin found'));
    vi.advanceTimersByTime(2000);
    expect(lines.slice(1)).toEqual([
      '[INFO] plugin/errors: 2 example.org. A: no next plugin found',
      "[INFO] plugin/errors: 3 errors like '^no next' occurred in last 2s",
    ]);
  });

  it('prints pending summaries on close and logs later errors one by one', () => {
    vi.useFakeTimers();
    const { p, lines } = plugin('errors {\n consolidate 5m "timeout$"\n}');
    p.handle(req(), failing('i/o timeout'));
    p.handle(req(), failing('i/o timeout'));
    p.close();
    expect(lines).toEqual(["[ERROR] plugin/errors: 2 errors like 'timeout$' occurred in last 5m0s"]);
    p.handle(req(), failing('i/o timeout'));
    expect(lines[1]).toBe('[ERROR] plugin/errors: 2 example.org. A: i/o timeout');
  });

  it('rejects bad options with the file and line', () => {
    expect(() => parseErrors(directive('errors {\n consolidate 5x "x"\n}'))).toThrow(/Corefile:3 - Error during parsing: plugin\/errors: time: unknown unit/);
    expect(() => parseErrors(directive('errors {\n consolidate 5m "("\n}'))).toThrow(/plugin\/errors:/);
    expect(() => parseErrors(directive('errors {\n consolidate 5m "x" loud\n}'))).toThrow(/unknown log level argument in consolidate: loud/);
    expect(() => parseErrors(directive('errors {\n consolidate 5m\n}'))).toThrow(/consolidate needs/);
    expect(() => parseErrors(directive('errors {\n verbose\n}'))).toThrow(/unknown property 'verbose'/);
    expect(() => parseErrors(directive('errors /var/log/x'))).toThrow(/invalid log file/);
    expect(parseErrors(directive('errors stdout')).patterns).toEqual([]);
  });
});
