// What every Informer owes its consumers, whatever feeds its stores (sources in this process, or a
// primary over a channel): change subscribers, once-per-burst batch subscribers, and sync waiters.

import type { ChangeEvent, InformerLogger } from './types.js';

export abstract class InformerEvents {
  private readonly subs = new Set<(ev: ChangeEvent) => void>();
  private readonly batchSubs = new Set<() => void>();
  private readonly syncWaiters = new Set<() => void>();
  private batchPending = false;

  abstract get synced(): boolean;
  protected abstract readonly log: InformerLogger;

  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.syncWaiters.delete(done);
        resolve(this.synced);
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.syncWaiters.add(done);
    });
  }

  subscribe(fn: (ev: ChangeEvent) => void): () => void {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  onBatch(fn: () => void): () => void {
    this.batchSubs.add(fn);
    return () => this.batchSubs.delete(fn);
  }

  /** Settle every pending `waitForSync` now (each resolves with the current `synced`). */
  protected releaseSyncWaiters(): void {
    for (const w of [...this.syncWaiters]) w();
  }

  /** Tell every change subscriber; one that throws is logged and the others still run. */
  protected notify(ev: ChangeEvent): void {
    for (const fn of this.subs) {
      try {
        fn(ev);
      } catch (e) {
        this.log.error(`informer: subscriber failed on ${ev.type} ${ev.kind} ${ev.record.key}: ${(e as Error)?.stack ?? e}`);
      }
    }
  }

  /** Run the batch subscribers once after the current burst of changes. */
  protected scheduleBatch(): void {
    if (this.batchPending) return;
    this.batchPending = true;
    // setImmediate runs after the current I/O callback, i.e. after every event of the chunk just
    // read (or a whole list, or a whole message) was applied.
    setImmediate(() => {
      this.batchPending = false;
      for (const fn of this.batchSubs) {
        try {
          fn();
        } catch (e) {
          this.log.error(`informer: batch subscriber failed: ${(e as Error)?.stack ?? e}`);
        }
      }
    });
  }
}
