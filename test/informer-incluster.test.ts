// In a pod, with neither `endpoint` nor `kubeconfig`, kdns uses the service account as CoreDNS
// does: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the mounted CA, and the token
// (read again for every request, since the kubelet rotates it).

import { describe, it, expect, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.js';
import { createInformer } from '../src/informer/informer.js';
import type { Informer } from '../src/informer/types.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const quiet = { log: { info() {}, warn() {}, error() {}, debug() {} } };

describe.skipIf(!hasOpenssl)('informer with in-cluster service account credentials', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kdns-sa-'));
  let api: FakeApiServer | null = null;
  let inf: Informer | null = null;
  const saved = { ...process.env };

  afterEach(async () => {
    await inf?.stop();
    await api?.close();
    process.env = { ...saved };
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists over https with the mounted CA and the bearer token, re-reading a rotated token', async () => {
    const key = path.join(dir, 'tls.key');
    const crt = path.join(dir, 'ca.crt');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    expect(r.status).toBe(0);
    writeFileSync(path.join(dir, 'token'), 'first-token\n');
    api = await startFakeApiServer({
      tls: { cert: readFileSync(crt), key: readFileSync(key) },
      objects: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ name: 'https', port: 443, protocol: 'TCP' }] } },
      ],
    });
    process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
    process.env.KUBERNETES_SERVICE_PORT = String(api.port);
    process.env.KDNS_SERVICEACCOUNT_DIR = dir;
    inf = createInformer({ kinds: ['services', 'namespaces', 'endpointslices'] }, quiet);
    expect(await inf.waitForSync(5000)).toBe(true);
    expect(inf.services.get('default/kubernetes')?.clusterIPs).toEqual(['10.96.0.1']);
    expect(api.requests.some((q) => q.authorization === 'Bearer first-token')).toBe(true);
    writeFileSync(path.join(dir, 'token'), 'second-token\n');
    api.cutWatches();
    await expect.poll(() => api!.requests.some((q) => q.authorization === 'Bearer second-token'), { timeout: 5000 }).toBe(true);
  });

  it('fails clearly outside a cluster', () => {
    delete process.env.KUBERNETES_SERVICE_HOST;
    expect(() => createInformer({ kinds: ['services'] }, quiet)).toThrow(/not running in a cluster/);
  });
});
