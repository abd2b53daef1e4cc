// End-to-end helpers: run a kdns server in-process on an ephemeral port and query it over the wire.

import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { KdnsServer } from '../src/server/server.js';
import { PLUGINS } from '../src/plugins/registry.js';
import { createLogger } from '../src/log/logger.js';
import type { PluginDefinition } from '../src/plugins/types.js';

export interface RunningServer {
  server: KdnsServer;
  /** UDP and TCP port of the first listener. */
  port: number;
  logs: string[];
  close(): Promise<void>;
}

/** Start kdns in this process. Use port 0 in the Corefile keys (`.:0 { ... }`) to get a free port. */
export async function startServer(
  corefile: string,
  opts: { file?: string; port?: number; definitions?: Record<string, PluginDefinition> } = {},
): Promise<RunningServer> {
  const logs: string[] = [];
  const log = createLogger({ write: (l) => logs.push(l) });
  const server = new KdnsServer({
    corefile: opts.file ?? '/tmp/Corefile.test',
    corefileText: opts.file ? undefined : corefile,
    defaultPort: opts.port ?? 0,
    definitions: opts.definitions ?? PLUGINS,
    log,
  });
  await server.start();
  const p = server.ports()[0];
  return { server, port: p.udp, logs, close: () => server.stop() };
}

export interface QueryOptions {
  tcp?: boolean;
  host?: string;
  /** Add an OPT record with this UDP size. */
  udpSize?: number;
  do?: boolean;
  id?: number;
  rd?: boolean;
  timeoutMs?: number;
  qclass?: string;
}

export function buildQuery(name: string, type: string, o: QueryOptions = {}): Buffer {
  const pkt: dnsPacket.Packet = {
    type: 'query',
    id: o.id ?? Math.floor(Math.random() * 65535),
    flags: o.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as any, class: (o.qclass ?? 'IN') as any }],
  };
  if (o.udpSize !== undefined || o.do) {
    pkt.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: o.udpSize ?? 1232, flags: o.do ? dnsPacket.DNSSEC_OK : 0 } as any];
  }
  return dnsPacket.encode(pkt);
}

/** Send raw bytes and return the raw reply (UDP or TCP). */
export function exchangeRaw(port: number, msg: Buffer, o: QueryOptions = {}): Promise<Buffer> {
  const host = o.host ?? '127.0.0.1';
  const timeout = o.timeoutMs ?? 3000;
  if (o.tcp) {
    return new Promise((resolve, reject) => {
      const c = net.connect({ host, port });
      let buf = Buffer.alloc(0);
      const t = setTimeout(() => { c.destroy(); reject(new Error('tcp query timed out')); }, timeout);
      c.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(msg.length);
        c.write(Buffer.concat([len, msg]));
      });
      c.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(t);
          c.destroy();
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        }
      });
      c.on('error', (e) => { clearTimeout(t); reject(e); });
    });
  }
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const t = setTimeout(() => { s.close(); reject(new Error('udp query timed out')); }, timeout);
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve(m); });
    s.on('error', (e) => { clearTimeout(t); s.close(); reject(e); });
    s.send(msg, port, host);
  });
}

/** Query `name`/`type` and decode the reply with dns-packet. */
export async function query(port: number, name: string, type: string, o: QueryOptions = {}): Promise<dnsPacket.Packet & { rcode?: string; flag_aa?: boolean; flag_tc?: boolean }> {
  const raw = await exchangeRaw(port, buildQuery(name, type, o), o);
  return dnsPacket.decode(raw) as any;
}
