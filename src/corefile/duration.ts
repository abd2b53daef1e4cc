// Go's time.ParseDuration and Duration.String(), which CoreDNS uses for every DURATION in a Corefile
// (`500ms`, `5s`, `1m30s`, `1.5h`) and in its log lines (`Going into lameduck mode for 5s`).
// Values are milliseconds (fractions allowed: `250us` is 0.25). Parsing follows Go exactly: integer
// nanoseconds, a bare `0` needs no unit, an optional sign, units ns, us (µs/μs), ms, s, m, h, and
// Go's error messages (`time: invalid duration "x"`, `time: missing unit in duration "5"`,
// `time: unknown unit "x" in duration "5x"`).

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX_NS = 1n << 63n; // Go's limit on the magnitude while parsing (int64)

/** Go's time.quote: double quotes, with `"`/`\` escaped and non-ASCII or control bytes as \xNN. */
function quote(s: string): string {
  let out = '"';
  for (const c of s) {
    if (c < ' ' || c >= '\x80') {
      for (const b of Buffer.from(c, 'utf8')) out += `\\x${b.toString(16).padStart(2, '0')}`;
    } else {
      out += c === '"' || c === '\\' ? `\\${c}` : c;
    }
  }
  return `${out}"`;
}

/** Parse a Go duration into milliseconds; throws an Error with Go's message when `text` is invalid. */
export function parseDuration(text: string): number {
  const invalid = () => new Error(`time: invalid duration ${quote(text)}`);
  let s = text;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  while (s.length > 0) {
    // The next character must be a digit or '.'.
    if (!(s[0] === '.' || (s[0] >= '0' && s[0] <= '9'))) throw invalid();
    const whole = /^[0-9]*/.exec(s)![0];
    const pre = whole.length > 0;
    let v = 0n;
    for (const d of whole) {
      v = v * 10n + BigInt(d.charCodeAt(0) - 48);
      if (v > MAX_NS) throw invalid();
    }
    s = s.slice(whole.length);
    // Fraction: Go keeps the digits that fit in an int64 and ignores the rest.
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === '.') {
      const digits = /^[0-9]*/.exec(s.slice(1))![0];
      post = digits.length > 0;
      let overflow = false;
      for (const d of digits) {
        if (overflow) continue;
        const next = f * 10n + BigInt(d.charCodeAt(0) - 48);
        if (next > MAX_NS) {
          overflow = true;
          continue;
        }
        f = next;
        scale *= 10;
      }
      s = s.slice(1 + digits.length);
    }
    if (!pre && !post) throw invalid();
    const unitText = /^[^0-9.]*/.exec(s)![0];
    if (unitText === '') throw new Error(`time: missing unit in duration ${quote(text)}`);
    const unit = UNIT_NS[unitText];
    if (unit === undefined) throw new Error(`time: unknown unit ${quote(unitText)} in duration ${quote(text)}`);
    s = s.slice(unitText.length);
    if (v > MAX_NS / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > MAX_NS) throw invalid();
    }
    total += v;
    if (total > MAX_NS) throw invalid();
  }
  if (!neg && total > MAX_NS - 1n) throw invalid();
  const ms = Number(total) / 1e6;
  return neg ? -ms : ms;
}

/** Like parseDuration, but null instead of an error when `text` is not a Go duration. */
export function parseGoDuration(text: string): number | null {
  try {
    return parseDuration(text);
  } catch {
    return null;
  }
}

function trimFraction(digits: string): string {
  const t = digits.replace(/0+$/, '');
  return t ? `.${t}` : '';
}

/** Format milliseconds as Go's Duration.String(): `5s`, `1m30s`, `1h0m0s`, `100ms`, `1.5µs`. */
export function formatDuration(ms: number): string {
  let ns = Math.round(ms * 1e6);
  if (ns === 0) return '0s';
  const neg = ns < 0;
  if (neg) ns = -ns;
  let out: string;
  if (ns < 1e9) {
    if (ns < 1e3) out = `${ns}ns`;
    else if (ns < 1e6) out = `${Math.floor(ns / 1e3)}${trimFraction(String(ns % 1e3).padStart(3, '0'))}µs`;
    else out = `${Math.floor(ns / 1e6)}${trimFraction(String(ns % 1e6).padStart(6, '0'))}ms`;
  } else {
    const secs = Math.floor(ns / 1e9);
    const frac = trimFraction(String(ns % 1e9).padStart(9, '0'));
    const h = Math.floor(secs / 3600);
    const m = Math.floor(secs / 60) % 60;
    const sec = `${secs % 60}${frac}s`;
    out = h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
  }
  return neg ? `-${out}` : out;
}
