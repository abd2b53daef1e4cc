// The kubernetes plugin's metrics, as CoreDNS exports them:
// - coredns_kubernetes_dns_programming_duration_seconds{service_kind}: the time from an
//   EndpointSlice's `endpoints.kubernetes.io/last-change-trigger-time` until kdns saw the slice;
// - coredns_kubernetes_rest_client_*: the informer's requests to the API (client-go's metrics in
//   CoreDNS), fed by the informer's request hook. kdns applies no client-side rate limit, so the
//   rate limiter histogram records the (zero) wait of each list request, as client-go would with
//   tokens to spare.
// Tests can also listen to programming durations through onProgrammingDuration.

import { onApiRequest } from '../../informer/observe.js';
import { m } from '../../metrics/registry.js';
import { reportsSharedObservations } from '../../server/worker-slot.js';

export type ServiceKind = 'headless_with_selector';

export type ProgrammingDurationListener = (seconds: number, serviceKind: ServiceKind) => void;

const listeners = new Set<ProgrammingDurationListener>();

/** Subscribe to programming-duration observations (all kubernetes plugin instances of the
 *  process). Returns the unsubscribe function. Buckets CoreDNS uses: 0.001 * 2^n, n = 0..19. */
export function onProgrammingDuration(cb: ProgrammingDurationListener): () => void {
  listeners.add(cb);
  return () => {
    listeners.delete(cb);
  };
}

const reportsProgramming = reportsSharedObservations();

export function emitProgrammingDuration(seconds: number, kind: ServiceKind): void {
  if (reportsProgramming) m.k8sProgrammingDuration.labels({ service_kind: kind }).observe(seconds);
  for (const cb of listeners) cb(seconds, kind);
}

onApiRequest((o) => {
  m.k8sRestRequests.labels({ code: o.code, method: o.method, host: o.host }).inc();
  if (o.watch || o.seconds === undefined) return;
  m.k8sRestRequestDuration.labels({ verb: o.method, host: o.host }).observe(o.seconds);
  m.k8sRestRateLimiterDuration.labels({ verb: o.method, host: o.host }).observe(0);
});
