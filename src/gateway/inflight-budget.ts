import { HeimdallError } from '../model/index.ts';

/** The configuration key of the budget, named in every 429 it causes. */
const INFLIGHT_BUDGET_SETTING = 'server.max_inflight_push_bytes';

/**
 * One budget of write-request bytes being processed at once, shared by every write path (HTTP and gRPC, all
 * signals), as Mimir's `max_inflight_push_requests_bytes`. A request reserves its wire size when it arrives
 * and grows the reservation to its decompressed size before decoding; a reservation that does not fit is
 * refused with a retryable `rate_limited` error (429 / RESOURCE_EXHAUSTED with `Retry-After`) before memory
 * grows. A request alone is always admitted, so one body larger than the budget is judged by the size limits
 * (413) rather than starved. Single-threaded by construction (the event loop); not shared across processes.
 */
export class InflightBudget {
  readonly limitBytes: number;
  private usedBytes = 0;
  private holders = 0;

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  /** Bytes reserved right now (for self-metrics and tests). */
  get inUseBytes(): number {
    return this.usedBytes;
  }

  /**
   * Reserves `bytes` for one request; throws a retryable HeimdallError when they do not fit. The returned
   * reservation must be released exactly once (release is idempotent) when the request is answered.
   */
  reserve(bytes: number): InflightReservation {
    this.admit(bytes, this.holders === 0);
    this.holders++;
    return new InflightReservation(this, bytes);
  }

  /** @internal Grows or shrinks a held reservation; growth past the budget throws like {@link reserve}. */
  adjust(deltaBytes: number, alone: boolean): void {
    if (deltaBytes > 0) this.admit(deltaBytes, alone);
    else this.usedBytes += deltaBytes;
  }

  /** @internal */
  free(bytes: number): void {
    this.usedBytes -= bytes;
    this.holders--;
  }

  private admit(bytes: number, alone: boolean): void {
    if (!alone && this.usedBytes + bytes > this.limitBytes) {
      throw new HeimdallError(
        'rate_limited',
        `too many write bytes in flight: ${this.usedBytes} of ${this.limitBytes} in use, this request needs ${bytes} more; retry later (set ${INFLIGHT_BUDGET_SETTING} to raise the limit)`,
        { code: 'inflight_bytes_limit', retryAfterSeconds: 1 },
      );
    }
    this.usedBytes += bytes;
  }
}

/** One request's share of an {@link InflightBudget}. */
export class InflightReservation {
  private readonly budget: InflightBudget;
  private bytes: number;
  private released = false;

  constructor(budget: InflightBudget, bytes: number) {
    this.budget = budget;
    this.bytes = bytes;
  }

  /** Grows (or shrinks) the reservation to `bytes`; throws a retryable HeimdallError when growth does not fit. */
  resize(bytes: number): void {
    if (this.released || bytes === this.bytes) return;
    this.budget.adjust(bytes - this.bytes, this.budget.inUseBytes === this.bytes);
    this.bytes = bytes;
  }

  /** Returns the bytes to the budget. Safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.free(this.bytes);
  }
}
