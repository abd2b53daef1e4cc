// Make the CLI entry executable after tsc wrote it (npm links bin files, but a fresh
// `node_modules/.bin/kdns` must run without relying on npm fixing the mode).
import { chmodSync, existsSync } from 'node:fs';
if (existsSync('dist/cli.js')) chmodSync('dist/cli.js', 0o755);
