// Environment variable references in Corefile tokens: `{$NAME}` (Unix style) and `{%NAME%}`
// (Windows style), as CoreDNS's Caddy fork does in keys, directive names, arguments and import
// paths. An unset variable becomes the empty string.

export type Env = Record<string, string | undefined>;

/** Replaces `{%NAME%}` first and then `{$NAME}`, like Caddy's replaceEnvVars. */
export function expandEnv(text: string, env: Env): string {
  if (!text.includes('{')) return text;
  return replaceRefs(replaceRefs(text, '{%', '%}', env), '{$', '}', env);
}

// Caddy stops at the first reference with an empty name (`{$}`, `{%%}`) or without an end and
// leaves the rest of the token untouched; we do the same. Unlike Caddy we never rescan a
// substituted value, so a variable whose value mentions itself cannot loop.
function replaceRefs(text: string, start: string, end: string, env: Env): string {
  let out = '';
  let from = 0;
  for (;;) {
    const open = text.indexOf(start, from);
    if (open === -1) break;
    // Caddy searches the end marker from the start of the reference, so `{%}` has an end at +1.
    const close = text.indexOf(end, open + 1);
    if (close === -1 || close <= open + start.length) break;
    const name = text.slice(open + start.length, close);
    out += text.slice(from, open) + (env[name] ?? '');
    from = close + end.length;
  }
  return out + text.slice(from);
}
