// log, errors, bind and loadbalance inside the real server: what a client and the process log see.
import { afterEach, describe, expect, it } from 'vitest';
import { query, startServer, type RunningServer } from '../../../test/harness.js';

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

describe('log and errors in the server', () => {
  it('logs one Common Log Format line per query with the size the client received', async () => {
    running = await startServer('.:0 {\n  bind 127.0.0.1\n  log\n  errors\n  loop\n  whoami\n}\n');
    const reply = await query(running.port, 'Who.Example.org', 'A', { id: 4242, udpSize: 1232 });
    const lines = running.logs.filter((l) => l.includes('"A IN'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\[INFO\] 127\.0\.0\.1:\d+ - 4242 "A IN who\.example\.org\. udp \d+ false 1232" NOERROR qr,aa,rd (\d+) \d+(\.\d+)?s$/,
    );
    expect(reply.rcode).toBe('NOERROR');
  });

  it('logs the error of a block without an answering plugin', async () => {
    running = await startServer('.:0 {\n  errors\n  loadbalance\n}\n');
    const reply = await query(running.port, 'example.org', 'AAAA');
    expect(reply.rcode).toBe('SERVFAIL');
    expect(running.logs).toContain('[ERROR] plugin/errors: 2 example.org. AAAA: no next plugin found');
  });
});
