// A pool of worker threads that run extractDocument. Each job has a time limit; a thread that
// overruns it or dies is replaced, and only its own job fails: the pool lives on.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Document } from '../schemas/document.ts';
import type { IngestOptions } from '../schemas/messages.ts';
import { FolioError, type ErrorCode } from '../schemas/errors.ts';
import type { PdfRead } from '../extractors/pdf.ts';
import type { ExtractConfig, Input } from './extract.ts';

/** Join a large document's ranges of read pages into its Document. */
export interface AssembleJob {
  name: string;
  assemble: { source: Document['source']; parts: PdfRead[]; options?: IngestOptions };
}

export type Job = Input | AssembleJob;

export interface JobResult {
  doc?: Document;
  /** The pages an Input with `pages` asked for, read. */
  part?: PdfRead;
  /** The page count of a PDF over the input's `splitOver`. */
  split?: number;
  error?: { code: ErrorCode; message: string };
}

interface Pending {
  input: Job;
  resolve: (r: JobResult) => void;
}

interface Slot {
  worker: Worker;
  /** Jobs handed to the thread, in order: the first runs (under `timer`), the next waits there. */
  jobs: Pending[];
  timer?: NodeJS.Timeout;
}

/**
 * Jobs handed to a thread at once. The thread runs them one after another; the second waits in
 * its port, so the thread starts on it the moment it is done with the first, instead of waiting
 * for the main thread (often busy storing the previous Document) to send it one.
 */
const IN_FLIGHT = 2;

/**
 * The threads' entry: compiled (dist/thread-main.js, beside the compiled pool) when folio runs
 * from its build, or thread.mjs, which loads the TypeScript through tsx, when it runs from source.
 */
const ENTRY = import.meta.url.endsWith('.ts') ? new URL('./thread.mjs', import.meta.url) : new URL('./thread-main.js', import.meta.url);

/**
 * Extraction allocates many short-lived objects (pdf.js's operator and text chunks, words,
 * lines). V8's default young generation fills every few milliseconds and promotes much of
 * that to the old generation; a larger one lets it die young. Measured on the throughput
 * corpus: the worker's GC time falls by about a quarter (0.6 to 0.45 s per pass). It is an
 * upper bound that V8 grows into, not memory taken up front.
 */
const YOUNG_GENERATION_MB = 192;

export class ExtractPool {
  private slots: Slot[] = [];
  private queue: Pending[] = [];
  private closed = false;

  constructor(
    readonly size: number,
    private readonly cfg: ExtractConfig & { timeoutMs: number; blobDir: string },
    /** The thread's code; tests swap in their own to drive the scheduling. */
    private readonly entry: URL = ENTRY,
  ) {
    for (let i = 0; i < Math.max(1, size); i++) this.slots.push(this.spawn());
  }

  static defaultSize(): number {
    return Math.max(1, os.availableParallelism());
  }

  run(input: Job): Promise<JobResult> {
    if (this.closed) return Promise.reject(new Error('pool is closed'));
    return new Promise((resolve) => {
      this.queue.push({ input, resolve });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }

  private spawn(): Slot {
    const worker = new Worker(this.entry, { workerData: { cfg: this.cfg }, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    const slot: Slot = { worker, jobs: [] };
    worker.on('message', (msg: JobResult) => this.finish(slot, msg));
    worker.on('error', (err) => this.replace(slot, { code: 'internal', message: `worker crashed: ${err.message}` }));
    worker.on('exit', (code) => {
      if (!this.closed && slot.jobs.length) this.replace(slot, { code: 'internal', message: `worker exited with code ${code}` });
    });
    worker.unref();
    return slot;
  }

  /** The time limit runs for the job the thread is on, from the moment it starts on it. */
  private arm(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    const head = slot.jobs[0];
    if (!head) return;
    slot.timer = setTimeout(() => {
      const e = new FolioError('timeout', `${head.input.name}: no result within ${this.cfg.timeoutMs} ms (FOLIO_TIMEOUT_MS)`);
      this.replace(slot, { code: e.code, message: e.message });
    }, this.cfg.timeoutMs);
  }

  private finish(slot: Slot, result: JobResult): void {
    const done = slot.jobs.shift();
    if (!done) return;
    this.arm(slot);
    done.resolve(result);
    this.pump();
  }

  /**
   * Fail the job the thread was on, throw the thread away and start a fresh one in its place.
   * Jobs that were waiting behind it never started: they go back to the front of the queue.
   */
  private replace(slot: Slot, error: { code: ErrorCode; message: string }): void {
    clearTimeout(slot.timer);
    const [failed, ...waiting] = slot.jobs;
    slot.jobs = [];
    this.queue.unshift(...waiting);
    failed?.resolve({ error });
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return;
    slot.worker.removeAllListeners();
    void slot.worker.terminate();
    this.slots[i] = this.spawn();
    this.pump();
  }

  /** Hand out queued jobs, least loaded thread first. */
  private pump(): void {
    for (let depth = 0; depth < IN_FLIGHT; depth++) {
      for (const slot of this.slots) {
        if (slot.jobs.length > depth || this.queue.length === 0) continue;
        const pending = this.queue.shift()!;
        slot.jobs.push(pending);
        if (slot.jobs.length === 1) this.arm(slot);
        slot.worker.postMessage(pending.input);
      }
    }
  }
}
