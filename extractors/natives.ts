// pdfjs-dist's legacy build (the one that runs on Node 20) bundles core-js, which on Node 20
// replaces Array.prototype.push, JSON.parse and JSON.stringify with JavaScript versions (for
// corner cases: non-writable array lengths, JSON.rawJSON and source text access). They are
// global, so every push and every JSON call in the thread - ours, pdf.js's, the database
// driver's - goes through them: a tenth of extraction time, and more in persisting. Neither
// pdf.js nor folio uses those corner cases, so folio keeps the engine's own functions. This
// module must be evaluated before pdf.js is; `restoreNatives()` runs after each pdf.js import.
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
    return { module, instance: await WebAssembly.instantiate(module, imports) };
  };
  wasm.__folioCompileOnce = true;
}
