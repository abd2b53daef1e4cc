// Parsing of `kubernetes [ZONES...] { options }` and startup behaviour.

import { describe, expect, it } from 'vitest';

import { ConfigError } from '../../corefile/types.js';
import type { SetupContext } from '../types.js';
import { parseGoDuration, parseKubernetesConfig } from './config.js';
import { directiveFromCorefile } from './conformance-harness.test-helper.js';
import { FakeInformer, FakeInformers } from './fake-informer.test-helper.js';
import { setupKubernetes } from './setup.js';

const corefile = (line: string, opts = ''): string => `.:53 {\n    ${line}${opts ? ` {\n${opts}\n    }` : ''}\n}\n`;
const parse = (line: string, opts = '', blockZones = ['.']) =>
  parseKubernetesConfig(directiveFromCorefile(corefile(line, opts), 'kubernetes'), { blockZones, corefile: '/etc/kdns/Corefile', warn() {} });
const errorOf = (line: string, opts = ''): ConfigError => {
  try {
    parse(line, opts);
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error('no error');
};

describe('kubernetes setup', () => {
  it('uses the block zones and CoreDNS defaults when given nothing', () => {
    const cfg = parse('kubernetes', '', ['cluster.local.']);
    expect(cfg.zones).toEqual(['cluster.local.']);
    expect(cfg.primaryZone).toBe('cluster.local.');
    expect([cfg.ttl, cfg.podMode, cfg.startupTimeoutMs, cfg.fallthrough]).toEqual([5, 'disabled', 5000, null]);
    expect(cfg.informer.kinds.sort()).toEqual(['endpointslices', 'namespaces', 'services']);
  });

  it('normalises zones, expands CIDRs and picks the first non-reverse zone as primary', () => {
    const cfg = parse('kubernetes 10.0.0.0/23 Cluster.Local in-addr.arpa');
    expect(cfg.zones).toEqual(['0.0.10.in-addr.arpa.', '1.0.10.in-addr.arpa.', 'cluster.local.', 'in-addr.arpa.']);
    expect(cfg.primaryZone).toBe('cluster.local.');
  });

  it('rejects a zone list without a forward zone', () => {
    expect(errorOf('kubernetes 10.in-addr.arpa').message).toContain('non-reverse zone name must be used');
  });

  it('parses every option', () => {
    const cfg = parse(
      'kubernetes cluster.local',
      [
        'endpoint https://10.0.0.1:6443 https://10.0.0.2:6443',
        'tls cert.pem key.pem ca.pem',
        'kubeconfig /kube/config prod',
        'labels app=dns, tier!=test',
        'pods verified',
        'endpoint_pod_names',
        'ttl 30',
        'noendpoints',
        'fallthrough in-addr.arpa IP6.ARPA',
        'ignore empty_service',
        'startup_timeout 1m30s',
        'apiserver_qps 50',
        'apiserver_burst 100',
        'apiserver_max_inflight 10',
        'namespaces a b',
      ].join('\n'),
    );
    expect(cfg.informer).toEqual({
      kinds: ['services', 'namespaces', 'pods'],
      endpoint: 'https://10.0.0.1:6443',
      tls: { cert: 'cert.pem', key: 'key.pem', ca: 'ca.pem' },
      kubeconfig: { file: '/kube/config', context: 'prod' },
      labelSelector: 'app=dns, tier!=test',
    });
    expect([cfg.podMode, cfg.endpointPodNames, cfg.ttl, cfg.noEndpoints, cfg.ignoreEmptyService, cfg.startupTimeoutMs]).toEqual(['verified', true, 30, true, true, 90000]);
    expect(cfg.fallthrough).toEqual(['in-addr.arpa.', 'ip6.arpa.']);
    expect([...cfg.namespaces]).toEqual(['a', 'b']);
  });

  it('treats fallthrough without zones as every zone', () => {
    expect(parse('kubernetes cluster.local', 'fallthrough').fallthrough).toEqual(['.']);
  });

  it('resolves a relative snapshot file against the Corefile directory', () => {
    const cfg = parse('kubernetes cluster.local', 'snapshot cluster.yaml');
    expect(cfg.informer.snapshot).toBe('/etc/kdns/cluster.yaml');
  });

  it('reports an unknown option at its file and line', () => {
    const e = errorOf('kubernetes cluster.local', 'pods insecure\nbogus 1');
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe("/etc/kdns/Corefile:4 - Error during parsing: plugin/kubernetes: unknown property 'bogus'");
  });

  it('rejects multicluster and zonal as not supported by kdns, naming the line', () => {
    expect(errorOf('kubernetes cluster.local', 'multicluster clusterset.local').message).toMatch(/Corefile:3 .*not supported by kdns/);
    expect(errorOf('kubernetes cluster.local', 'zonal').message).toMatch(/Corefile:3 .*not supported by kdns/);
  });

  it('validates option values', () => {
    expect(errorOf('kubernetes cluster.local', 'ttl 3601').message).toContain('ttl must be in range [0, 3600]: 3601');
    expect(errorOf('kubernetes cluster.local', 'ttl x').message).toContain('invalid syntax');
    expect(errorOf('kubernetes cluster.local', 'pods sometimes').message).toContain('wrong value for pods');
    expect(errorOf('kubernetes cluster.local', 'ignore everything').message).toContain("unable to parse ignore value: 'everything'");
    expect(errorOf('kubernetes cluster.local', 'tls a b').message).toContain('Wrong argument count');
    expect(errorOf('kubernetes cluster.local', 'startup_timeout soon').message).toContain('invalid duration');
    expect(errorOf('kubernetes cluster.local', 'labels a in (b').message).toContain('unable to parse label selector');
    expect(errorOf('kubernetes cluster.local', 'namespaces a\nnamespace_labels team=dns').message).toContain('namespaces and namespace_labels cannot both be set');
    expect(errorOf('kubernetes cluster.local', 'snapshot a.yaml\nendpoint http://x').message).toContain('snapshot cannot be combined');
  });

  it('parses Go durations', () => {
    expect(['5s', '500ms', '1m', '1h2m3.5s', '0', '1.5s', 'x', '5'].map(parseGoDuration)).toEqual([5000, 500, 60000, 3723500, 0, 1500, null, null]);
  });

  it('waits for the informer sync up to startup_timeout, then serves anyway', async () => {
    const informer = FakeInformer.fromList({ items: [] });
    informer.synced = false;
    let waited = -1;
    informer.waitForSync = (ms: number) => {
      waited = ms;
      return Promise.resolve(false);
    };
    const warnings: string[] = [];
    const informers = new FakeInformers(informer);
    const ctx: SetupContext = {
      block: { zones: ['.'], port: 53, server: 'dns://:53', bind: [], corefile: '/etc/kdns/Corefile' },
      informers,
      log: { info() {}, warn: (m) => warnings.push(m), error() {}, debug() {} },
      lookup: () => Promise.reject(new Error('unused')),
      peer: () => undefined,
      process: { reloading: false },
    };
    const p = await setupKubernetes(directiveFromCorefile(corefile('kubernetes cluster.local', 'startup_timeout 250ms'), 'kubernetes'), ctx);
    expect(waited).toBe(-1); // setup itself does not wait: the server runs settle() after HTTP is up
    await p.settle!();
    expect(waited).toBe(250);
    expect(warnings.some((w) => w.includes('unsynced'))).toBe(true);
    expect(p.ready!()).toBe(false);
    informer.synced = true;
    expect(p.ready!()).toBe(true);
    expect(informers.requests[0]!.kinds).toContain('endpointslices');
    await p.close!();
  });
});
