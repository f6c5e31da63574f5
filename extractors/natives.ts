// Node runtime set-up for the dependencies, done once per thread.
//
// Source maps: see withoutSourceMaps.
//
// core-js: pdfjs-dist's legacy build (the one that runs on Node 20) bundles core-js, which on
// Node 20 replaces Array.prototype.push, JSON.parse and JSON.stringify with JavaScript versions
// (for corner cases: non-writable array lengths, JSON.rawJSON and source text access). They are
// global, so every push and every JSON call in the thread - ours, pdf.js's, the database
// driver's - goes through them: a tenth of extraction time, and more in persisting. Neither
// pdf.js nor folio uses those corner cases, so folio keeps the engine's own functions. This
// module must be evaluated before pdf.js is; `restoreNatives()` runs after each pdf.js import.
import zlib from 'node:zlib';

/**
 * Import a dependency without its source map. tsx turns Node's source maps on, so that stack
 * traces point into folio's TypeScript. Node then also reads the .map file of every module loaded
 * after that, and the first stack trace a thread formats expands them: pdf.worker.mjs's 5.8 MB map
 * alone becomes ~1.5 million arrays, ~110 MB that every full GC of the thread marks again (the
 * live heap of a worker went from ~60 to ~230 MB, and each full GC from ~20 to ~70 ms). Stack
 * frames inside a dependency keep their file, line and column in its shipped JavaScript.
 */
export async function withoutSourceMaps<T>(load: () => Promise<T>): Promise<T> {
  if (importsWithoutMaps === 0 && !process.sourceMapsEnabled) return load();
  // Node looks at the setting as it compiles each module, so what this import loads has no map.
  // Maps come back on when the last of the imports under way ends, not when the first does.
  importsWithoutMaps++;
  process.setSourceMapsEnabled(false);
  try {
    return await load();
  } finally {
    if (--importsWithoutMaps === 0) process.setSourceMapsEnabled(true);
  }
}

let importsWithoutMaps = 0;

const native = {
  push: Array.prototype.push,
  parse: JSON.parse,
  stringify: JSON.stringify,
};

export function restoreNatives(): void {
  if (Array.prototype.push !== native.push) {
    Object.defineProperty(Array.prototype, 'push', { value: native.push, writable: true, configurable: true, enumerable: false });
  }
  if (JSON.parse !== native.parse) JSON.parse = native.parse;
  if (JSON.stringify !== native.stringify) JSON.stringify = native.stringify;
}

/** True when the thread runs on the engine's own push/parse/stringify (checked by a test). */
export function nativesIntact(): boolean {
  return Array.prototype.push === native.push && JSON.parse === native.parse && JSON.stringify === native.stringify;
}

/**
 * pdf.js drops its wasm decoders (OpenJPEG for JPX images, JBIG2) whenever a document is closed,
 * and compiles them again, from the very same bytes object, for the next document that needs
 * one: about 0.2 s per document with JPX images. Compiled modules are kept per bytes object
 * (weakly: they go when the bytes go), so a thread compiles each decoder once. Instantiating
 * stays per call, exactly as before.
 */
export function compileWasmOnce(): void {
  const wasm = WebAssembly as unknown as { instantiate: (source: unknown, imports?: WebAssembly.Imports) => Promise<unknown>; __folioCompileOnce?: true };
  if (wasm.__folioCompileOnce) return;
  const instantiate = wasm.instantiate.bind(WebAssembly);
  const compiled = new WeakMap<object, WebAssembly.Module>();
  wasm.instantiate = async (source: unknown, imports?: WebAssembly.Imports) => {
    if (source instanceof WebAssembly.Module || !(ArrayBuffer.isView(source) || source instanceof ArrayBuffer)) {
      return instantiate(source, imports);
    }
    let module = compiled.get(source);
    if (!module) {
      module = await WebAssembly.compile(source as BufferSource);
      compiled.set(source, module);
    }
    const instance = await WebAssembly.instantiate(module, imports);
    return { module, instance: isOpenJpeg(imports) ? gatedOpenJpeg(instance) : instance };
  };
  wasm.__folioCompileOnce = true;
}

// JPEG 2000 images are decoded only while a document that may draw a page is open.
//
// pdf.js decodes every image of a page while it lists the page's operators (it sends the pixels
// along for drawing), and folio lists every page's operators for its rules, fills and image boxes.
// The decoding runs on its own time: an image whose page was listed last is often decoded after
// its document has been closed, with nothing left to receive the pixels. And a run that draws no
// page (the text engine, no page images, no vision model) has no use for them at all. JPEG 2000,
// decoded by OpenJPEG in wasm, is the costly kind (on the throughput corpus 2.8 of ~25 CPU ms per
// page, all of it wasted so). While no document that may draw is open in the thread, OpenJPEG's
// decode call answers "failed" at once: pdf.js keeps the image's place in the operator list (its
// box is what folio reads) and drops only its pixels.

let decodeWanted: () => boolean = () => true;
let decodesSkipped = 0;

/** Tell the thread when JPEG 2000 pixels are wanted (extractors/pdfjs.ts: while a document that may draw is open). */
export function gateJpxDecoding(wanted: () => boolean): void {
  decodeWanted = wanted;
}

/** JPEG 2000 images this thread has not decoded because nothing was going to draw them. */
export function jpxDecodesSkipped(): number {
  return decodesSkipped;
}

/** pdf.js's OpenJPEG module: the one whose imports include its pixel callbacks (copy_pixels_*). */
function isOpenJpeg(imports: WebAssembly.Imports | undefined): boolean {
  return Object.values(imports ?? {}).some((mod) => Object.values(mod).some((f) => typeof f === 'function' && f.name === '_copy_pixels_1'));
}

/**
 * The OpenJPEG instance with its decode export (the only function of six parameters: data,
 * size, components, indexed colour map, SMask in data, reduce power) gated: a non-zero return is
 * OpenJPEG's own "could not decode". A later pdf.js that shapes the module otherwise is gated no
 * longer, and decodes as before (a test notices).
 */
function gatedOpenJpeg(instance: WebAssembly.Instance): WebAssembly.Instance {
  const exports: Record<string, unknown> = { ...instance.exports };
  const decoders = Object.entries(exports).filter(([, f]) => typeof f === 'function' && f.length === 6);
  if (decoders.length !== 1) return instance;
  const [name, decode] = decoders[0]! as [string, (...args: number[]) => number];
  exports[name] = (...args: number[]) => {
    if (decodeWanted()) return decode(...args);
    decodesSkipped++;
    return 1;
  };
  return { exports } as unknown as WebAssembly.Instance;
}

type Inflate = (data: Uint8Array) => Uint8Array;
const INFLATERS: Record<string, Inflate> = { deflate: zlib.inflateSync, 'deflate-raw': zlib.inflateRawSync, gzip: zlib.gunzipSync };

function bytesOf(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer || chunk instanceof SharedArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError('DecompressionStream accepts only BufferSource chunks');
}

/**
 * pdf.js 5 inflates every compressed stream (content streams, fonts, images) through the
 * WHATWG DecompressionStream. On Node that hands each stream to zlib on the libuv thread pool
 * and back, and pdf.js awaits it before it parses a byte: most of a page's content stream time
 * is spent waiting for that round trip (0.4-0.5 s of the throughput corpus's 2.9 s, measured).
 * The thread's DecompressionStream becomes a real TransformStream that gathers its input and
 * inflates it in place when the input ends. Same bytes out, same errors (corrupt or truncated
 * data errors the stream, and pdf.js falls back to its own inflater); formats zlib cannot do
 * here (pdf.js 5.6 also asks for "brotli") go to the original, which refuses them as before.
 */
export function inflateInThread(): void {
  const g = globalThis as { DecompressionStream?: typeof DecompressionStream & { __folioInThread?: true } };
  const found = g.DecompressionStream;
  if (!found || found.__folioInThread) return;
  const Original = found;
  class InThreadDecompressionStream {
    static readonly __folioInThread = true;
    readonly readable!: ReadableStream<Uint8Array>;
    readonly writable!: WritableStream<BufferSource>;
    constructor(format: string) {
      const inflate = INFLATERS[format];
      if (!inflate) return new Original(format as CompressionFormat) as unknown as InThreadDecompressionStream;
      const parts: Uint8Array[] = [];
      const t = new TransformStream<BufferSource, Uint8Array>({
        transform(chunk) {
          parts.push(bytesOf(chunk));
        },
        flush(controller) {
          const input = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
          parts.length = 0;
          const out = inflate(input); // a Buffer: handed on as a plain Uint8Array view, not copied
          controller.enqueue(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
        },
      });
      this.readable = t.readable;
      this.writable = t.writable;
    }
  }
  g.DecompressionStream = InThreadDecompressionStream as unknown as typeof DecompressionStream & { __folioInThread?: true };
}
