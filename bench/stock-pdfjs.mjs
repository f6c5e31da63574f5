// Raw pdf.js getTextContent as shipped, for comparison only: run in a thread of its own, where
// folio's fixes (extractors/natives.ts: core-js's push/JSON replacements undone, data files
// cached) are not applied. Input: { files, rounds }; output: seconds of each pass.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
globalThis.pdfjsWorker = await import('pdfjs-dist/legacy/build/pdf.worker.mjs');
const dir = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const url = (name) => path.join(dir, name) + path.sep;

const { files, rounds } = workerData;
const seconds = [];
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  for (const f of files) {
    const task = pdfjs.getDocument({
      data: new Uint8Array(fs.readFileSync(f)),
      standardFontDataUrl: url('standard_fonts'),
      cMapUrl: url('cmaps'),
      cMapPacked: true,
      wasmUrl: url('wasm'),
      isEvalSupported: false,
      disableFontFace: true,
      verbosity: 0,
    });
    const doc = await task.promise;
    for (let i = 1; i <= doc.numPages; i++) {
      const page = await doc.getPage(i);
      await page.getTextContent();
      page.cleanup();
    }
    await doc.destroy();
  }
  seconds.push((performance.now() - t0) / 1000);
}
// core-js's push throws here, V8's own (Node 20) does not.
let pushReplaced = false;
try {
  Object.defineProperty([], 'length', { writable: false }).push();
} catch {
  pushReplaced = true;
}
parentPort.postMessage({ seconds, pushReplaced });
