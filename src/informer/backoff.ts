// Exponential backoff with jitter for re-lists and re-watches (client-go uses 800ms..30s; we start
// lower so a cut watch resumes quickly and cap at 10s so an API outage is noticed soon after).

export class Backoff {
  private current: number;

  constructor(
    private readonly minMs = 200,
    private readonly maxMs = 10_000,
  ) {
    this.current = minMs;
  }

  /** The next delay: the current step with +-20% jitter; the step then doubles up to the cap. */
  next(): number {
    const d = this.current * (0.8 + Math.random() * 0.4);
    this.current = Math.min(this.maxMs, this.current * 2);
    return Math.round(Math.min(d, this.maxMs));
  }

  reset(): void {
    this.current = this.minMs;
  }
}
