// Runs before `vitest run` (npm test): makes sure the compiled CLI exists (the conformance runner
// starts `node_modules/.bin/kdns`) and installs the system tools the end-to-end tests use when
// they are missing and we are root (dig from bind9-dnsutils, unbound). Without root it only warns;
// the tests that need a tool then skip with a message.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// Always rebuild: a stale dist/ would test yesterday's CLI.
{
  execSync('npm run build', { stdio: 'inherit' });
}

const wanted = [
  ['dig', 'bind9-dnsutils'],
  ['unbound', 'unbound'],
  ['openssl', 'openssl'],
];
const missing = wanted.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
if (missing.length) {
  if (process.getuid && process.getuid() === 0 && has('apt-get')) {
    console.log(`test-setup: installing ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const upd = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    if (upd.status !== 0) console.warn('test-setup: apt-get update failed');
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
    if (r.status !== 0) console.warn(`test-setup: could not install ${missing.join(' ')}; tests needing them will skip`);
    // The unbound package starts a system service on port 53; tests run their own instances.
    if (missing.includes('unbound')) spawnSync('sh', ['-c', 'systemctl stop unbound 2>/dev/null; systemctl disable unbound 2>/dev/null; pkill -x unbound 2>/dev/null; true'], { stdio: 'ignore' });
  } else {
    console.warn(`test-setup: missing ${missing.join(' ')} (not root or no apt-get); tests needing them will skip`);
  }
}
