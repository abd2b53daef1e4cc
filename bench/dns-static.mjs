#!/usr/bin/env node
// A bare Node UDP DNS server answering from a Map of prebuilt reply buffers (one per name+type,
// the ID and RD bit patched per query). Two roles in the benchmark:
//   - the ceiling peer: every answer of expect.json (what kdns should answer), unknown -> REFUSED;
//   - the fake upstream for forward: only names under --suffix (the external names), TTL --ttl,
//     everything else NXDOMAIN with an SOA of that suffix.
//
//   node bench/dns-static.mjs --port P --expect expect.json [--suffix example.test] [--ttl 300]

import dgram from 'node:dgram';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dnsPacket = require('dns-packet');

const args = process.argv.slice(2);
const opt = (k, d) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const port = Number(opt('--port', '0'));
const host = opt('--host', '127.0.0.1');
const expectFile = opt('--expect');
const suffix = opt('--suffix', null);
const ttlOverride = opt('--ttl', null);

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const TYPE_NUM = { A: 1, NS: 2, SOA: 6, TXT: 16, AAAA: 28, SRV: 33 };
const AA = 1 << 10;

const data = JSON.parse(fs.readFileSync(expectFile, 'utf8'));
const map = new Map();
const setTtl = (rrs) => (ttlOverride ? rrs.map((r) => ({ ...r, ttl: Number(ttlOverride) })) : rrs);
for (const e of data.entries) {
  if (suffix && !(e.name === suffix || e.name.endsWith('.' + suffix))) continue;
  if (suffix && e.rcode !== 'NOERROR') continue;
  const buf = dnsPacket.encode({
    type: 'response',
    id: 0,
    flags: AA | RCODE[e.rcode],
    questions: [{ name: e.name, type: e.type, class: 'IN' }],
    answers: setTtl(e.answers),
    additionals: setTtl(e.additionals),
    authorities: setTtl(e.authorities),
  });
  map.set(`${e.name.toLowerCase()}\u0000${TYPE_NUM[e.type]}`, buf);
}
const suffixSoa = suffix
  ? {
      name: suffix,
      type: 'SOA',
      ttl: 60,
      data: { mname: `ns.${suffix}`, rname: `hostmaster.${suffix}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60 },
    }
  : null;

const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });

function fallback(msg, qEnd) {
  // Header + question copied from the query; NXDOMAIN with SOA (upstream) or REFUSED (ceiling).
  const q = msg.subarray(12, qEnd);
  let auth = Buffer.alloc(0);
  if (suffixSoa) {
    const p = dnsPacket.encode({ type: 'response', id: 0, flags: 0, questions: [], authorities: [suffixSoa] });
    auth = p.subarray(12);
  }
  const out = Buffer.alloc(12 + q.length + auth.length);
  msg.copy(out, 0, 0, 2);
  out[2] = 0x80 | (msg[2] & 0x79) | 0x04; // QR, opcode, AA, RD
  out[3] = suffixSoa ? RCODE.NXDOMAIN : RCODE.REFUSED;
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(suffixSoa ? 1 : 0, 8);
  q.copy(out, 12);
  auth.copy(out, 12 + q.length);
  return out;
}

let served = 0;
sock.on('message', (msg, rinfo) => {
  if (msg.length < 17 || msg[2] & 0x80) return;
  // Hand-parsed question: labels from offset 12 until the root label.
  let off = 12;
  let name = '';
  while (off < msg.length) {
    const len = msg[off];
    if (len === 0) break;
    if (len > 63) return;
    if (name) name += '.';
    name += msg.toString('latin1', off + 1, off + 1 + len);
    off += len + 1;
  }
  if (off + 5 > msg.length) return;
  const qtype = (msg[off + 1] << 8) | msg[off + 2];
  const tpl = map.get(`${name.toLowerCase()}\u0000${qtype}`);
  let out;
  if (tpl) {
    out = Buffer.allocUnsafe(tpl.length);
    tpl.copy(out);
    out[0] = msg[0];
    out[1] = msg[1];
    out[2] = (tpl[2] & 0xfe) | (msg[2] & 0x01);
  } else {
    out = fallback(msg, off + 5);
  }
  served++;
  sock.send(out, rinfo.port, rinfo.address);
});

sock.bind(port, host, () => {
  console.log(`dns-static listening on ${host}:${sock.address().port} (${map.size} names${suffix ? `, suffix ${suffix}` : ''})`);
});
process.on('SIGTERM', () => {
  console.log(`served ${served}`);
  process.exit(0);
});
