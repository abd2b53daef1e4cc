// Shared scaffolding for the informer end-to-end tests: cleanups run after each test, a logger that
// records its lines, and polling until a condition holds.

import { afterEach } from 'vitest';
import type { InformerLogger } from '../../src/informer/types.js';

/** Functions run (last registered first) after each test of the calling file. */
export function useCleanups(): (() => Promise<unknown> | unknown)[] {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return cleanups;
}

/** A logger that keeps `level message` lines instead of printing them. */
export function recordingLogger(): InformerLogger & { lines: string[] } {
  const lines: string[] = [];
  const put = (lvl: string) => (m: string) => void lines.push(`${lvl} ${m}`);
  return { lines, info: put('info'), warn: put('warn'), error: put('error'), debug: put('debug') };
}

/** Poll every 10 ms until `cond()` holds; throws after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
