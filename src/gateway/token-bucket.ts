/**
 * A token bucket (the "local" rate strategy of Mimir, Loki and Tempo): `ratePerSecond` tokens flow in per
 * second up to `burst`; a take succeeds only when the whole amount is there. Not safe across processes; one
 * per tenant and limit. The rate and burst are read at every take, so changed limits apply at once.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(burst: number, nowMs: number) {
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  /**
   * Takes `amount` tokens if the bucket holds them and answers 0; otherwise takes nothing and answers how
   * many milliseconds until it would hold them (Infinity when `amount` exceeds `burst`, or the rate is 0).
   */
  take(amount: number, ratePerSecond: number, burst: number, nowMs: number): number {
    const elapsed = Math.max(0, nowMs - this.lastMs);
    this.lastMs = nowMs;
    this.tokens = Math.min(burst, this.tokens + (elapsed * ratePerSecond) / 1000);
    if (amount <= this.tokens) {
      this.tokens -= amount;
      return 0;
    }
    if (amount > burst || ratePerSecond <= 0) return Infinity;
    return Math.ceil(((amount - this.tokens) * 1000) / ratePerSecond);
  }
}
