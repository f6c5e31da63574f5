// pdf.js's parser ("worker") in the calling thread, reached through a port that copies messages
// in JavaScript instead of structuredClone, and shared by every document the thread opens.
//
// In Node pdf.js runs its worker half in-thread ("fake worker") behind a LoopbackPort that puts
// every message - each text content chunk, operator list chunk and font - through
// structuredClone: V8 serializes the object graph to bytes and parses it back. Within one thread
// a structural copy gives the same isolation (the receiver never sees what the sender changes
// later: pdf.js empties an operator list's arrays right after sending them) for about a fifth of
// the cost (measured on the throughput corpus: 70 ms of clones per pass down to 13). pdf.js
// itself copied messages in JavaScript in the same place before it moved to structuredClone.
import type { PDFWorker as PDFWorkerType } from 'pdfjs-dist/legacy/build/pdf.mjs';

type Listener = (event: { data: unknown }) => void;

/**
 * What the receiving side gets for `value`. Plain data - arrays, plain objects, Maps, Sets and
 * buffers - is copied, as structuredClone would: pdf.js reuses its arrays after sending them.
 * Buffers in `transfer` are handed over as they are (the sender gives them up, as with a real
 * transfer, minus the detaching). Instances of pdf.js's own classes are handed over as they are:
 * the glyphs of a font's glyph cache (thousands per operator list, the same few over and over),
 * Refs and Names are never changed once made, and copying each would cost more than all the rest
 * (measured: 1.6 s per pass of the throughput corpus, against 0.08 s for structuredClone, which
 * copies each shared glyph once per message). Errors are cloned, as pdf.js expects them rebuilt.
 */
export function copyMessage(value: unknown, transfer?: ReadonlySet<unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const n = value.length;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = copyMessage(value[i], transfer);
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = proto === null ? Object.create(null) : {};
    for (const key of Object.keys(value)) out[key] = copyMessage((value as Record<string, unknown>)[key], transfer);
    return out;
  }
  if (ArrayBuffer.isView(value)) {
    if (transfer?.has(value.buffer)) return value;
    if (value instanceof DataView) return new DataView(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
    return (value as unknown as { slice(): unknown }).slice();
  }
  if (value instanceof ArrayBuffer) return transfer?.has(value) ? value : value.slice(0);
  if (value instanceof Map) {
    const out = new Map();
    for (const [k, v] of value) out.set(copyMessage(k, transfer), copyMessage(v, transfer));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    for (const v of value) out.add(copyMessage(v, transfer));
    return out;
  }
  if (value instanceof Error) return structuredClone(value);
  return value;
}

/**
 * A MessagePort-like loop back to the same thread, as pdf.js's own LoopbackPort: a message is
 * copied when posted and delivered to every listener (both halves listen on the one port and
 * tell their messages apart by name) in a later microtask, in the order posted.
 */
export class SameThreadPort {
  readonly #listeners = new Set<Listener>();

  postMessage(message: unknown, transfer?: Transferable[] | { transfer?: Transferable[] }): void {
    const list = Array.isArray(transfer) ? transfer : transfer?.transfer;
    const data = copyMessage(message, list?.length ? new Set(list) : undefined);
    queueMicrotask(() => {
      for (const listener of [...this.#listeners]) listener.call(this, { data });
    });
  }

  addEventListener(type: string, listener: Listener, options?: { signal?: AbortSignal }): void {
    if (type !== 'message') return;
    const signal = options?.signal;
    if (signal?.aborted) return;
    this.#listeners.add(listener);
    signal?.addEventListener('abort', () => this.#listeners.delete(listener), { once: true });
  }

  removeEventListener(type: string, listener: Listener): void {
    if (type === 'message') this.#listeners.delete(listener);
  }

  terminate(): void {
    this.#listeners.clear();
  }

  /** Listeners attached now (a test checks that closed documents leave none behind). */
  get listenerCount(): number {
    return this.#listeners.size;
  }
}

interface WorkerModule {
  WorkerMessageHandler: { initializeFromPort(port: unknown): void };
}

/**
 * A pdf.js worker on a SameThreadPort: the worker half set up from `workerModule`
 * (pdf.worker.mjs), the main half a PDFWorker on the same port. Documents opened with it
 * (`getDocument({ worker })`) leave it running when they are destroyed, so one serves a thread's
 * documents one after another or together, each with its own handlers, as in a browser tab.
 */
export function sameThreadWorker(
  PDFWorker: typeof PDFWorkerType,
  workerModule: WorkerModule,
  verbosity = 0,
): { worker: PDFWorkerType; port: SameThreadPort } {
  const port = new SameThreadPort();
  // The main half first: it listens for the worker half's "ready".
  const worker = new PDFWorker({ port: port as never, verbosity });
  workerModule.WorkerMessageHandler.initializeFromPort(port);
  return { worker, port };
}
