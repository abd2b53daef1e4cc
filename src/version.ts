// Version facts shown by `-version`, the startup banner and coredns_build_info.
import { readFileSync } from 'node:fs';

function pkgVersion(): string {
  try {
    const url = new URL('../package.json', import.meta.url);
    return JSON.parse(readFileSync(url, 'utf8')).version as string;
  } catch {
    return '0.0.0';
  }
}

export const VERSION = pkgVersion();
/** Git revision baked at build time is not available; KDNS_REVISION may supply it (image builds). */
export const REVISION = process.env.KDNS_REVISION ?? '';
export const RUNTIME = `node ${process.version}`;
