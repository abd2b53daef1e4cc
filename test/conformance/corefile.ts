// A profile Corefile of shared/conformance adapted to a test run: our DNS and HTTP ports, the fake
// upstream and the fake API server's endpoint (used by the conformance and differential tests).

export interface CorefilePorts {
  port: number;
  api: string;
  upstream: string;
  http: { health: number; ready: number; metrics: number };
  /** Add `bind <address>` to the server block (listen on that address only). */
  bind?: string;
}

/** The profile's Corefile with our ports, upstream and API endpoint filled in. */
export function adaptCorefile(text: string, o: CorefilePorts): string {
  let s = o.bind
    ? text.replace(/^\.:53 \{\n/m, `.:${o.port} {\n    bind ${o.bind}\n`)
    : text.replace(/^\.:53\b/m, `.:${o.port}`);
  s = s.replace(/\{\$UPSTREAM\}/g, o.upstream);
  s = s.replace(/(kubernetes [^{\n]*)\{\n/, `$1{\n       endpoint ${o.api}\n`);
  s = s.replace(/(kubernetes [^{\n]*[^{\s])\s*\n/, `$1 {\n       endpoint ${o.api}\n    }\n`);
  s = s.replace(/^(\s*)health(\s*)\{/m, `$1health 127.0.0.1:${o.http.health}$2{`);
  s = s.replace(/^(\s*)health\s*$/m, `$1health 127.0.0.1:${o.http.health}`);
  s = s.replace(/^(\s*)ready\s*$/m, `$1ready 127.0.0.1:${o.http.ready}`);
  s = s.replace(/^(\s*)prometheus :9153\s*$/m, `$1prometheus 127.0.0.1:${o.http.metrics}`);
  return s;
}
