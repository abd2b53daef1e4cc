// coredns_reload_version_info / coredns_reload_failed_total, for the server's reload path to call
// after each attempt (and once at startup with the first configuration's hash).

import { m } from '../../metrics/registry.js';

export type ReloadResult = { hash: string } | { error: unknown };

export function recordReload(result: ReloadResult): void {
  if ('hash' in result) {
    // One series: the running configuration's hash.
    m.reloadVersion.reset();
    m.reloadVersion.labels({ hash: 'sha512', value: result.hash }).set(1);
  } else {
    m.reloadFailed.inc();
  }
}
