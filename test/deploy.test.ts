// Static checks of the deployment artefacts: deploy/*.yaml, Dockerfile, .dockerignore.
// Nothing here talks to a cluster or a container engine; it asserts the invariants that make
// the manifests a working cluster DNS and a drop-in for kubeadm's CoreDNS.
import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

// ---------------------------------------------------------------------------------------------
// loading

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const deployDir = path.join(repoRoot, 'deploy');
// CI clones the repo with `shared/` beside it; the reference Corefile is optional.
const referenceCorefile = path.resolve(repoRoot, '..', 'shared', 'reference', 'Corefile.kubeadm');

// Loose typing: manifests are arbitrary YAML; every access below is checked by an expect.
type Obj = any;

interface Manifest {
  file: string;
  doc: Obj;
}

const yamlFiles = readdirSync(deployDir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

const docsByFile = new Map<string, Obj[]>(
  yamlFiles.map((f) => [
    f,
    yaml
      .loadAll(readFileSync(path.join(deployDir, f), 'utf8'))
      .filter((d) => d !== null && d !== undefined),
  ]),
);

const kustomizationFile = yamlFiles.find((f) => /^kustomization\.ya?ml$/.test(f));
const kustomization: Obj = kustomizationFile ? docsByFile.get(kustomizationFile)![0] : undefined;

const manifests: Manifest[] = [...docsByFile.entries()]
  .filter(([f]) => f !== kustomizationFile)
  .flatMap(([file, docs]) => docs.map((doc) => ({ file, doc })));

function all(kind: string): Obj[] {
  return manifests.filter((m) => m.doc?.kind === kind).map((m) => m.doc);
}

function one(kind: string): Obj {
  const found = all(kind);
  expect(found, `exactly one ${kind} in deploy/`).toHaveLength(1);
  return found[0];
}

/** Module-level lookup (no assertion, so a broken manifest fails tests, not collection);
 *  the "expected resources" test asserts each kind occurs exactly once. */
function first(kind: string): Obj {
  return all(kind)[0] ?? {};
}

function isSubset(sub: Record<string, string>, sup: Record<string, string>): boolean {
  return Object.entries(sub).every(([k, v]) => sup[k] === v);
}

// ---------------------------------------------------------------------------------------------
// a minimal Corefile reader: enough to find server ports and plugin addresses

interface Directive {
  name: string;
  args: string[];
  block?: Directive[];
}
interface ServerBlock {
  keys: string[];
  directives: Directive[];
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*$/, '');
    for (const tok of line.split(/\s+/).filter(Boolean)) {
      // "{" / "}" may be glued to a word ("foo{" is not valid Corefile, but be lenient)
      for (const part of tok.split(/([{}])/).filter(Boolean)) tokens.push(part);
    }
    tokens.push('\n');
  }
  return tokens;
}

function parseCorefile(text: string): ServerBlock[] {
  const toks = tokenize(text);
  let i = 0;
  const skipNewlines = (): void => {
    while (toks[i] === '\n') i++;
  };

  function parseBlock(): Directive[] {
    // positioned after "{"
    const out: Directive[] = [];
    for (;;) {
      skipNewlines();
      if (i >= toks.length) throw new Error('unterminated block');
      if (toks[i] === '}') {
        i++;
        return out;
      }
      const name = toks[i++];
      const args: string[] = [];
      while (i < toks.length && toks[i] !== '\n' && toks[i] !== '{' && toks[i] !== '}') {
        args.push(toks[i++]);
      }
      const d: Directive = { name, args };
      if (toks[i] === '{') {
        i++;
        d.block = parseBlock();
      }
      out.push(d);
    }
  }

  const servers: ServerBlock[] = [];
  for (;;) {
    skipNewlines();
    if (i >= toks.length) return servers;
    const keys: string[] = [];
    while (i < toks.length && toks[i] !== '{') {
      if (toks[i] !== '\n') keys.push(toks[i]);
      i++;
    }
    if (toks[i] !== '{') throw new Error(`server block ${keys.join(' ')} has no body`);
    i++;
    servers.push({ keys, directives: parseBlock() });
  }
}

/** Port of a Corefile server key ("dns://.:53", ".:53", "cluster.local:53"); 53 by default. */
function serverKeyPort(key: string): number {
  const m = /:(\d+)$/.exec(key.replace(/^[a-z]+:\/\//, ''));
  return m ? Number(m[1]) : 53;
}

/** Port of a plugin listen address (":9153", "0.0.0.0:8080", "localhost:9153"). */
function addrPort(addr: string | undefined, dflt: number): number {
  if (!addr) return dflt;
  const m = /:(\d+)$/.exec(addr);
  return m ? Number(m[1]) : dflt;
}

/** Normalised form for comparing Corefiles: no comments, single spaces, no blank lines. */
function normaliseCorefile(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim().replace(/\s+/g, ' '))
    .filter(Boolean)
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// shared lookups

const deployment = first('Deployment');
const podSpec: Obj = deployment.spec?.template?.spec ?? {};
const podLabels: Record<string, string> = deployment.spec?.template?.metadata?.labels ?? {};
const container: Obj = podSpec.containers?.[0] ?? {};
const service = first('Service');
const pdb = first('PodDisruptionBudget');
const configMap = first('ConfigMap');
const corefileText: string = configMap.data?.Corefile ?? '';
let corefileError: unknown;
let servers: ServerBlock[] = [];
try {
  servers = parseCorefile(corefileText);
} catch (err) {
  corefileError = err;
}

function confArg(): string {
  const args: string[] = container.args ?? [];
  const idx = args.indexOf('-conf');
  expect(idx, 'container args carry -conf').toBeGreaterThanOrEqual(0);
  return args[idx + 1];
}

/** A probe/targetPort port (number or container port name) as a number. */
function resolvePort(port: number | string): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = (container.ports ?? []).find((p: Obj) => p.name === port);
  expect(named, `container port named ${port}`).toBeDefined();
  return named.containerPort;
}

function plugin(name: string): Directive[] {
  return servers.flatMap((s) => s.directives.filter((d) => d.name === name));
}

// ---------------------------------------------------------------------------------------------

describe('deploy/ layout', () => {
  it('has a kustomization listing every manifest and only existing files', () => {
    expect(kustomizationFile, 'deploy/kustomization.yaml').toBeDefined();
    expect(kustomization.kind).toBe('Kustomization');
    const listed: string[] = kustomization.resources;
    expect(Array.isArray(listed)).toBe(true);
    expect(new Set(listed).size, 'no duplicates').toBe(listed.length);
    for (const f of listed) expect(existsSync(path.join(deployDir, f)), `${f} exists`).toBe(true);
    const manifestFiles = yamlFiles.filter((f) => f !== kustomizationFile);
    expect([...listed].sort()).toEqual(manifestFiles);
  });

  it('holds one resource per file, each with apiVersion/kind/name', () => {
    for (const [file, docs] of docsByFile) {
      if (file === kustomizationFile) continue;
      expect(docs, file).toHaveLength(1);
      const [doc] = docs;
      expect(doc.apiVersion, file).toBeTruthy();
      expect(doc.kind, file).toBeTruthy();
      expect(doc.metadata?.name, file).toBeTruthy();
    }
  });

  it('contains the expected resources, namespaced ones in kube-system', () => {
    const kinds = manifests.map((m) => m.doc.kind).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'ConfigMap',
        'Deployment',
        'PodDisruptionBudget',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    for (const { file, doc } of manifests) {
      if (doc.kind === 'ClusterRole' || doc.kind === 'ClusterRoleBinding') {
        expect(doc.metadata.namespace, file).toBeUndefined();
      } else {
        expect(doc.metadata.namespace, file).toBe('kube-system');
      }
    }
    expect(deployment.metadata.name).toBe('kdns');
    expect(configMap.metadata.name).toBe('kdns');
    expect(service.metadata.name).toBe('kube-dns');
  });

  it('has a README covering both install paths and rollback', () => {
    const readme = readFileSync(path.join(deployDir, 'README.md'), 'utf8');
    expect(readme).toContain('kubectl apply -k deploy/');
    expect(readme).toContain('set image deployment/coredns coredns=');
    expect(readme).toContain('rollout undo deployment/coredns');
    expect(readme).toContain('registry.k8s.io/coredns/coredns:v1.11.3');
  });
});

describe('labels and selectors', () => {
  it('Deployment selector matches the pod template labels', () => {
    const sel = deployment.spec.selector.matchLabels;
    expect(sel['k8s-app']).toBe('kube-dns');
    expect(deployment.spec.selector.matchExpressions).toBeUndefined();
    expect(isSubset(sel, podLabels)).toBe(true);
  });

  it('Service selects the pods (k8s-app: kube-dns, like kubeadm)', () => {
    expect(service.spec.selector).toEqual({ 'k8s-app': 'kube-dns' });
    expect(isSubset(service.spec.selector, podLabels)).toBe(true);
  });

  it('PodDisruptionBudget selects the pods and allows one disruption', () => {
    expect(pdb.apiVersion).toBe('policy/v1');
    const sel = pdb.spec.selector.matchLabels;
    expect(sel['k8s-app']).toBe('kube-dns');
    expect(isSubset(sel, podLabels)).toBe(true);
    expect(sel).toEqual(deployment.spec.selector.matchLabels);
    const budget = pdb.spec.maxUnavailable ?? pdb.spec.minAvailable;
    expect(budget).toBe(1);
  });

  it('Service carries kubeadm labels and Prometheus annotations, and the cluster DNS IP', () => {
    expect(service.metadata.labels).toMatchObject({
      'k8s-app': 'kube-dns',
      'kubernetes.io/cluster-service': 'true',
      'kubernetes.io/name': 'CoreDNS',
    });
    expect(service.metadata.annotations).toEqual({
      'prometheus.io/port': '9153',
      'prometheus.io/scrape': 'true',
    });
    expect(service.spec.clusterIP).toBe('10.96.0.10');
  });
});

describe('ports, probes and the Corefile agree', () => {
  it('the Corefile parses into one .:53 server with the kubeadm plugins', () => {
    expect(corefileError).toBeUndefined();
    expect(servers).toHaveLength(1);
    expect(servers[0].keys).toEqual(['.:53']);
    const names = servers[0].directives.map((d) => d.name);
    for (const p of ['errors', 'health', 'ready', 'kubernetes', 'prometheus', 'forward', 'cache', 'loop', 'reload', 'loadbalance']) {
      expect(names, p).toContain(p);
    }
    expect(plugin('kubernetes')[0].args[0]).toBe('cluster.local');
    expect(plugin('forward')[0].args).toEqual(['.', '/etc/resolv.conf']);
  });

  it('Service ports = DNS port of the Corefile (UDP+TCP) + prometheus port', () => {
    const dnsPorts = new Set(servers.flatMap((s) => s.keys.map(serverKeyPort)));
    expect([...dnsPorts]).toEqual([53]);
    const prom = plugin('prometheus');
    expect(prom).toHaveLength(1);
    const metricsPort = addrPort(prom[0].args[0], 9153);
    expect(metricsPort).toBe(9153);
    // kubeadm's ":9153" listens on all interfaces; "localhost:9153" would be unreachable.
    expect(prom[0].args[0]).toMatch(/^(0\.0\.0\.0|\[::\])?:9153$/);

    const svcPorts = service.spec.ports.map((p: Obj) => ({ name: p.name, port: p.port, protocol: p.protocol }));
    expect(svcPorts).toEqual([
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      { name: 'metrics', port: metricsPort, protocol: 'TCP' },
    ]);
  });

  it('container ports match the Corefile and every Service targetPort', () => {
    const cports = container.ports.map((p: Obj) => ({ name: p.name, port: p.containerPort, protocol: p.protocol ?? 'TCP' }));
    expect(cports).toEqual(
      expect.arrayContaining([
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        { name: 'metrics', port: 9153, protocol: 'TCP' },
      ]),
    );
    for (const sp of service.spec.ports) {
      const target = resolvePort(sp.targetPort ?? sp.port);
      const match = container.ports.find(
        (cp: Obj) => cp.containerPort === target && (cp.protocol ?? 'TCP') === sp.protocol,
      );
      expect(match, `Service port ${sp.name} -> container ${target}/${sp.protocol}`).toBeDefined();
    }
  });

  it('liveness probes /health on the health plugin port (8080)', () => {
    const health = plugin('health');
    expect(health).toHaveLength(1);
    const healthPort = addrPort(health[0].args[0], 8080);
    expect(healthPort).toBe(8080);
    expect(health[0].block?.find((d) => d.name === 'lameduck')?.args).toEqual(['5s']);

    const lp = container.livenessProbe;
    expect(lp.httpGet.path).toBe('/health');
    expect(resolvePort(lp.httpGet.port)).toBe(healthPort);
    expect(lp.httpGet.scheme ?? 'HTTP').toBe('HTTP');
    expect(lp).toMatchObject({ initialDelaySeconds: 60, timeoutSeconds: 5, successThreshold: 1, failureThreshold: 5 });
  });

  it('readiness probes /ready on the ready plugin port (8181)', () => {
    const ready = plugin('ready');
    expect(ready).toHaveLength(1);
    const readyPort = addrPort(ready[0].args[0], 8181);
    expect(readyPort).toBe(8181);

    const rp = container.readinessProbe;
    expect(rp.httpGet.path).toBe('/ready');
    expect(resolvePort(rp.httpGet.port)).toBe(readyPort);
    expect(rp.httpGet.scheme ?? 'HTTP').toBe('HTTP');
  });

  it.skipIf(!existsSync(referenceCorefile))(
    'ConfigMap Corefile is the kubeadm reference Corefile (ignoring comments/whitespace)',
    () => {
      const ref = readFileSync(referenceCorefile, 'utf8');
      expect(normaliseCorefile(corefileText)).toBe(normaliseCorefile(ref));
    },
  );
});

describe('Deployment', () => {
  it('runs the CoreDNS-compatible command line with the Corefile mounted read-only', () => {
    expect(container.command, 'no command: the image ENTRYPOINT is kdns').toBeUndefined();
    expect(container.args).toEqual(['-conf', '/etc/coredns/Corefile']);
    const conf = confArg();

    const mount = container.volumeMounts.find((m: Obj) => m.mountPath === path.posix.dirname(conf));
    expect(mount, `volume mounted at ${path.posix.dirname(conf)}`).toBeDefined();
    expect(mount.readOnly).toBe(true);
    const vol = podSpec.volumes.find((v: Obj) => v.name === mount.name);
    expect(vol.configMap.name).toBe(configMap.metadata.name);
    // the file named by -conf is the ConfigMap key
    const items: Obj[] | undefined = vol.configMap.items;
    const fileName = path.posix.basename(conf);
    if (items) {
      expect(items.find((it: Obj) => it.path === fileName)?.key).toBe('Corefile');
    } else {
      expect(fileName).toBe('Corefile');
    }
  });

  it('uses the versioned kdns image', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    expect(container.image).toMatch(new RegExp(`(^|/)kdns:${pkg.version.replace(/\./g, '\\.')}$`));
  });

  it('is scheduled like CoreDNS: 2 replicas, spread, critical, tolerant, node resolv.conf', () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(podSpec.priorityClassName).toBe('system-cluster-critical');
    expect(podSpec.dnsPolicy).toBe('Default');
    expect(podSpec.hostNetwork ?? false).toBe(false);

    const anti = podSpec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(anti).toHaveLength(1);
    expect(anti[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    const expr = anti[0].podAffinityTerm.labelSelector.matchExpressions[0];
    expect(expr).toMatchObject({ key: 'k8s-app', operator: 'In' });
    expect(expr.values).toContain(podLabels['k8s-app']);

    const tolerations = podSpec.tolerations.map((t: Obj) => t.key);
    expect(tolerations).toEqual(expect.arrayContaining(['CriticalAddonsOnly', 'node-role.kubernetes.io/control-plane']));

    expect(container.resources).toEqual({
      requests: { cpu: '100m', memory: '70Mi' },
      limits: { memory: '170Mi' },
    });
  });

  it('runs non-root, read-only, with only NET_BIND_SERVICE', () => {
    const pod = podSpec.securityContext ?? {};
    const c = container.securityContext ?? {};
    const eff = (k: string): unknown => c[k] ?? pod[k];
    expect(eff('runAsNonRoot')).toBe(true);
    expect(eff('runAsUser')).toBe(65532);
    expect(eff('runAsGroup')).toBe(65532);
    expect((eff('seccompProfile') as Obj)?.type).toBe('RuntimeDefault');
    expect(c.allowPrivilegeEscalation).toBe(false);
    expect(c.readOnlyRootFilesystem).toBe(true);
    expect(c.privileged ?? false).toBe(false);
    expect(c.capabilities.drop.map((x: string) => x.toUpperCase())).toContain('ALL');
    expect(c.capabilities.add).toEqual(['NET_BIND_SERVICE']);
  });

  it('uses a ServiceAccount that exists and is bound to the ClusterRole', () => {
    const sa = one('ServiceAccount');
    expect(podSpec.serviceAccountName).toBe(sa.metadata.name);
    const role = one('ClusterRole');
    const binding = one('ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual(
      expect.arrayContaining([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]),
    );
  });
});

describe('RBAC', () => {
  // What the informer watches: services, endpointslices, namespaces, pods, and v1 endpoints
  // for the fallback. Exactly kubeadm's system:coredns.
  const needed: Array<[group: string, resource: string]> = [
    ['', 'services'],
    ['', 'endpoints'],
    ['', 'pods'],
    ['', 'namespaces'],
    ['discovery.k8s.io', 'endpointslices'],
  ];

  it('grants list and watch on everything kdns reads', () => {
    const role = one('ClusterRole');
    for (const [group, resource] of needed) {
      for (const verb of ['list', 'watch']) {
        const ok = role.rules.some(
          (r: Obj) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
        );
        expect(ok, `${verb} ${group || 'core'}/${resource}`).toBe(true);
      }
    }
  });

  it('grants nothing beyond list/watch on those resources', () => {
    const role = one('ClusterRole');
    expect(role.aggregationRule).toBeUndefined();
    for (const r of role.rules) {
      expect(r.nonResourceURLs, 'no non-resource URLs').toBeUndefined();
      expect(r.resourceNames, 'no resourceNames tricks').toBeUndefined();
      for (const v of r.verbs) expect(['list', 'watch'], `verb ${v}`).toContain(v);
      for (const g of r.apiGroups) {
        for (const res of r.resources) {
          expect(
            needed.some(([ng, nr]) => ng === g && nr === res),
            `unexpected grant ${g || 'core'}/${res}`,
          ).toBe(true);
        }
      }
    }
  });
});

describe('container image', () => {
  const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
  // logical lines: join "\" continuations, drop comments
  const lines = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const globalArgs = new Map<string, string>();
  for (const l of lines) {
    if (/^FROM\s/i.test(l)) break;
    const m = /^ARG\s+(\w+)=(\S+)/i.exec(l);
    if (m) globalArgs.set(m[1], m[2]);
  }
  const expand = (s: string): string => s.replace(/\$\{?(\w+)\}?/g, (_, n: string) => globalArgs.get(n) ?? '');

  // stages: name -> base image (resolved through earlier stage names)
  const stages: Array<{ base: string; name?: string; lines: string[] }> = [];
  for (const l of lines) {
    const from = /^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(l);
    if (from) {
      stages.push({ base: expand(from[1]), name: from[2], lines: [] });
    } else if (stages.length) {
      stages[stages.length - 1].lines.push(l);
    }
  }
  const resolveBase = (base: string): string => {
    const st = stages.find((s) => s.name === base);
    return st ? resolveBase(st.base) : base;
  };
  const final = stages[stages.length - 1];

  it('builds in node:24-bookworm-slim and runs on a Node 24 image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.some((s) => s.base === 'node:24-bookworm-slim')).toBe(true);
    const runtime = resolveBase(final.base);
    expect(runtime).toMatch(/(nodejs24|node:24)/);
    const builder = stages.find((s) => s.base === 'node:24-bookworm-slim')!;
    const builderRuns = builder.lines.filter((l) => /^RUN\s/i.test(l)).join(' ');
    expect(builderRuns).toContain('npm ci');
    expect(builderRuns).toContain('npm run build');
    expect(builderRuns).toContain('npm prune --omit=dev');
  });

  it('final stage runs as a non-root user', () => {
    const users = final.lines.filter((l) => /^USER\s/i.test(l));
    expect(users.length, 'final stage sets USER').toBeGreaterThan(0);
    const user = users[users.length - 1].split(/\s+/)[1].split(':')[0];
    expect(user === 'nonroot' || (/^\d+$/.test(user) && Number(user) !== 0)).toBe(true);
    // runAsNonRoot can only be verified by the kubelet for a numeric USER
    expect(user).toBe('65532');
  });

  it('ENTRYPOINT is the kdns wrapper, so container args are kdns flags', () => {
    const ep = final.lines.filter((l) => /^ENTRYPOINT\s/i.test(l)).pop();
    expect(ep, 'ENTRYPOINT').toBeDefined();
    const argv = JSON.parse(ep!.replace(/^ENTRYPOINT\s+/i, '')) as string[];
    expect(Array.isArray(argv)).toBe(true);
    expect(final.lines.some((l) => /^CMD\s/i.test(l)), 'no CMD to collide with args').toBe(false);
    // the wrapper (or node itself) must run the package's bin entry
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    expect(pkg.bin.kdns).toBe('dist/cli.js');
    expect(dockerfile).toContain('/app/dist/cli.js');
    expect(final.lines.some((l) => /^COPY\s.*\/app\/dist\s/.test(l) || /^COPY\s.*dist\s+\.\/dist/.test(l))).toBe(true);
  });

  it('exposes DNS, metrics, health and ready ports', () => {
    const exposed = final.lines
      .filter((l) => /^EXPOSE\s/i.test(l))
      .flatMap((l) => l.split(/\s+/).slice(1))
      .map((p) => (p.includes('/') ? p.toLowerCase() : `${p}/tcp`));
    expect(exposed).toEqual(expect.arrayContaining(['53/udp', '53/tcp', '9153/tcp', '8080/tcp', '8181/tcp']));
  });

  it('.dockerignore keeps build junk out but not what the build copies', () => {
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', 'bench/results', 'test']));
    const copiedFromContext = stages
      .flatMap((s) => s.lines)
      .filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l))
      .flatMap((l) => l.split(/\s+/).slice(1, -1).filter((a) => !a.startsWith('--')));
    expect(copiedFromContext.length).toBeGreaterThan(0);
    for (const src of copiedFromContext) {
      expect(ignored, `${src} is copied but ignored`).not.toContain(src);
      expect(existsSync(path.join(repoRoot, src)), `${src} exists`).toBe(true);
    }
  });
});
