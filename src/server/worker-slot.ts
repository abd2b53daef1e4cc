// Which socket worker this process is under `-workers N` (src/server/workers.ts sets it on fork).
// Observations that every worker makes alike (each applies every cluster change) are reported by
// the first worker alone, so the aggregated /metrics counts them once, as one CoreDNS process would.

export const WORKER_SLOT_ENV = 'KDNS_WORKER_SLOT';

/** True in a single process and in the first worker. */
export function reportsSharedObservations(): boolean {
  return (process.env[WORKER_SLOT_ENV] ?? '0') === '0';
}
