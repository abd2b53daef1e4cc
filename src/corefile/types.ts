// What the Corefile parser hands to the server: server blocks whose directives are still raw
// tokens (with file:line) so that each plugin's setup validates its own options.

export interface Token {
  text: string;
  file: string;
  line: number;
  /** True if the token was written in double quotes (so `"{"` is text, not a block). */
  quoted?: boolean;
}

/** One directive line: `name arg arg { sub-directive lines }`. Sub-block lines are Directives too:
 *  `forward . 1.2.3.4 { max_fails 3 }` -> name 'forward', args ['.', '1.2.3.4'],
 *  block [{ name 'max_fails', args ['3'] }]. `block` is null when the line has no `{ }`. */
export interface Directive {
  name: string;
  args: string[];
  /** Tokens of the args, same order, for error positions. */
  argTokens: Token[];
  block: Directive[] | null;
  file: string;
  line: number;
}

/** One key of a server block, normalised. */
export interface ServerKey {
  /** As written (after env substitution), e.g. `dns://example.org:1053`. */
  raw: string;
  scheme: 'dns' | 'tls' | 'https' | 'grpc' | 'quic' | 'https3';
  /** Lower case, absolute: `example.org.`, `.`, `10.in-addr.arpa.` (one key can expand to
   *  several zones when a CIDR is not on an octet/nibble boundary). */
  zones: string[];
  /** Explicit port from the key; else the scheme's default (tls/quic 853, https/https3/grpc 443);
   *  null for `dns://` without a port: the caller applies the `-dns.port` default. */
  port: number | null;
  /** Where the key was written (for duplicate-zone errors). */
  file?: string;
  line?: number;
}

export interface ServerBlock {
  keys: ServerKey[];
  directives: Directive[];
  file: string;
  line: number;
}

/** A configuration mistake. `toString()` gives CoreDNS's style: `FILE:LINE - Error during parsing: MSG`. */
export class ConfigError extends Error {
  constructor(
    message: string,
    public readonly file?: string,
    public readonly line?: number,
  ) {
    super(file !== undefined && line !== undefined ? `${file}:${line} - Error during parsing: ${message}` : message);
    this.name = 'ConfigError';
  }
}

/** Convenience for plugin setups: an error located at a directive or one of its tokens. */
export function configErrorAt(at: { file: string; line: number }, message: string): ConfigError {
  return new ConfigError(message, at.file, at.line);
}
