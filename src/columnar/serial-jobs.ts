/**
 * An engine's background jobs (block cuts, retention) run one at a time in the order queued, so a cut never
 * races retention over the same head and catalog; a periodic job's repeated kicks are coalesced into one queued
 * run.
 *
 * Contract: single-threaded (the event loop). A job's error reaches the caller of {@link SerialJobs.enqueue};
 * the queue itself carries on with the next job.
 */
export class SerialJobs {
  private chain: Promise<unknown> = Promise.resolve();
  private kicked = false;

  enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.chain.then(job, job);
    // The job's own error reaches its caller through `run`; the chain only orders the jobs.
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Queues `job` unless a kicked run is queued and not started yet; its failure goes to `onError`. */
  kick(job: () => Promise<void>, onError: (err: unknown) => void): void {
    if (this.kicked) return;
    this.kicked = true;
    this.enqueue(async () => {
      this.kicked = false;
      await job();
    }).catch(onError);
  }

  /** Resolves once every job queued so far has settled. */
  async idle(): Promise<void> {
    await this.chain;
  }
}
