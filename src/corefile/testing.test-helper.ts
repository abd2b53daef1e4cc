// Shared test scaffolding for Corefile-level tests: directives parsed by the real Corefile parser
// and the ConfigError a call throws. Named *.test-helper.ts so that vitest does not run it and
// tsconfig.build.json leaves it out of dist.

import { expect } from 'vitest';
import { parseCorefile } from './parser.js';
import { ConfigError, type Directive } from './types.js';

/** Every directive of `. { <body> }` as the server would see it. */
export function directivesOf(body: string, file = '/tmp/Corefile'): Directive[] {
  return parseCorefile(`. {\n${body}\n}\n`, file)[0].directives;
}

/** The first directive of `. { <body> }`. */
export function directiveOf(body: string, file = '/tmp/Corefile'): Directive {
  return directivesOf(body, file)[0];
}

/** The ConfigError `fn` throws; fails the test when it throws something else or nothing. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
