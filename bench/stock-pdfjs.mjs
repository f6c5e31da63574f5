// Raw pdf.js getTextContent as shipped: pdfjs-dist's legacy build, its default options, no folio
// code, in a thread of its own (so that none of folio's fixes in extractors/natives.ts and
// extractors/pdfjs.ts apply: core-js's push/JSON replacements stay active, data files are read
// from disk, wasm is compiled per document). This is the "raw single-threaded pdfjs" of the
// throughput goal. Input workerData: { files }; each message 'pass' runs one pass over the files
// and answers { seconds, pages, pushReplaced }.
import { createRequire } from 'node:module';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { textContentPass } from './text-pass.mjs';

// The bench runs under tsx, which turns Node's source maps on in every thread; pdf.js run as a
// plain Node program has them off (they cost it ~150 MB of heap, see withoutSourceMaps).
process.setSourceMapsEnabled(false);
const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
const dir = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const url = (name) => path.join(dir, name) + path.sep;
const { files } = workerData;

// core-js's push throws here, V8's own (Node 20) does not.
function pushReplaced() {
  try {
    Object.defineProperty([], 'length', { writable: false }).push();
    return false;
  } catch {
    return true;
  }
}

const open = (data) =>
  pdfjs.getDocument({ data, standardFontDataUrl: url('standard_fonts'), cMapUrl: url('cmaps'), cMapPacked: true, wasmUrl: url('wasm'), verbosity: 0 }).promise;

parentPort.on('message', async (msg) => {
  if (msg === 'pass') parentPort.postMessage({ ...(await textContentPass(files, open)), pushReplaced: pushReplaced() });
});
parentPort.postMessage('ready');
