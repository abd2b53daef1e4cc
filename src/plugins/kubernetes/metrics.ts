// Hook for `coredns_kubernetes_dns_programming_duration_seconds{service_kind}`: the time from an
// EndpointSlice's `endpoints.kubernetes.io/last-change-trigger-time` until kdns saw the slice.
// This folder does not import prom-client; the prometheus plugin subscribes here and observes.

export type ServiceKind = 'cluster_ip' | 'headless_with_selector';

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

export function hasProgrammingDurationListeners(): boolean {
  return listeners.size > 0;
}

export function emitProgrammingDuration(seconds: number, kind: ServiceKind): void {
  for (const cb of listeners) cb(seconds, kind);
}
