// Go's time.ParseDuration and Duration.String(), which CoreDNS uses for every DURATION in a Corefile
// (`30s`, `1m30s`, `500ms`, `1.5h`) and in its log lines (`Going into lameduck mode for 5s`).

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Parse a Go duration into milliseconds; throws `time: invalid duration "X"` like Go. */
export function parseDuration(text: string): number {
  const bad = () => new Error(`time: invalid duration "${text}"`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let ns = 0;
  const part = /^(\d*)(?:\.(\d*))?([^\d.]*)/;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) throw bad();
    const unit = UNIT_NS[m[3]];
    if (unit === undefined) {
      throw new Error(`time: ${m[3] === '' ? 'missing' : 'unknown'} unit "${m[3]}" in duration "${text}"`);
    }
    const whole = m[1] === '' ? 0 : Number(m[1]);
    const frac = m[2] ? Number(`0.${m[2]}`) : 0;
    ns += (whole + frac) * unit;
    s = s.slice(m[0].length);
  }
  return (sign * ns) / 1e6;
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
