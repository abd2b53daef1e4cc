// After tsc: make the CLI executable and link it as node_modules/.bin/kdns. npm links the bins of
// dependencies but not the root package's own, and operators (and our tests) run
// `node_modules/.bin/kdns -conf FILE` after `npm ci` in a clone.
import { chmodSync, existsSync, mkdirSync, symlinkSync, lstatSync, unlinkSync } from 'node:fs';

if (existsSync('dist/cli.js')) chmodSync('dist/cli.js', 0o755);
if (existsSync('node_modules')) {
  mkdirSync('node_modules/.bin', { recursive: true });
  const link = 'node_modules/.bin/kdns';
  try {
    if (lstatSync(link)) unlinkSync(link);
  } catch {
    // not there yet
  }
  symlinkSync('../../dist/cli.js', link);
}
