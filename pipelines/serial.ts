// Database work of a run, one task at a time (PGlite has a single connection, and a transaction
// must not interleave with other statements). Lookups that a worker waits on go before queued
// writes: a file's "already done?" check must not sit behind every pending document write, or
// the worker threads idle while the database catches up.
export class SerialQueue {
  private readonly urgent: (() => void)[] = [];
  private readonly normal: (() => void)[] = [];
  private running = false;

  run<T>(fn: () => Promise<T>, opts: { urgent?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const task = () => {
        Promise.resolve()
          .then(fn)
          .then(resolve, reject)
          .finally(() => {
            this.running = false;
            this.next();
          });
      };
      (opts.urgent ? this.urgent : this.normal).push(task);
      this.next();
    });
  }

  /** Tasks waiting (not counting the one running). */
  get waiting(): number {
    return this.urgent.length + this.normal.length;
  }

  private next(): void {
    if (this.running) return;
    const task = this.urgent.shift() ?? this.normal.shift();
    if (!task) return;
    this.running = true;
    task();
  }
}
