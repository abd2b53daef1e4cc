// Shared test scaffolding for plugin tests: a complete fake SetupContext, plus the directive
// helpers of src/corefile/testing.test-helper.ts. Named *.test-helper.ts so that vitest does not
// run it and tsconfig.build.json leaves it out of dist.

import { RCODE } from '../dns/constants.js';
import { emptyResponse } from '../dns/message.js';
import type { BlockInfo, Logger, SetupContext } from './types.js';

export { configErrorOf, directiveOf, directivesOf } from '../corefile/testing.test-helper.js';

/** A logger that drops everything. */
export const quietLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };

export type FakeContext = Partial<Omit<SetupContext, 'block'>> & { block?: Partial<BlockInfo> };

/** A SetupContext for one `.` block on port 53: quiet log, no peers, internal lookups SERVFAIL,
 *  not reloading. `over` replaces any part (`block` field by field). */
export function fakeContext(over: FakeContext = {}): SetupContext {
  const { block, ...rest } = over;
  return {
    informers: {} as SetupContext['informers'],
    log: quietLogger,
    lookup: async () => emptyResponse(RCODE.SERVFAIL),
    peer: () => undefined,
    process: { reloading: false },
    ...rest,
    block: { zones: ['.'], port: 53, server: 'dns://:53', bind: [], corefile: 'Corefile', ...block },
  };
}
