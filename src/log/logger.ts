// CoreDNS-style log lines on stdout: `[INFO] ...`, `[WARNING] ...`, `[ERROR] ...`.

import type { Logger } from '../plugins/types.js';

export function createLogger(opts: { debug?: boolean; write?: (line: string) => void } = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stdout.write(line + '\n'));
  return {
    info: (m) => write(`[INFO] ${m}`),
    warn: (m) => write(`[WARNING] ${m}`),
    error: (m) => write(`[ERROR] ${m}`),
    debug: (m) => { if (opts.debug) write(`[DEBUG] ${m}`); },
  };
}
