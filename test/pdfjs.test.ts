// folio's set-up of pdf.js in a thread: the engine's own push and JSON, wasm compiled once,
// compressed streams inflated in the thread, and one worker per thread behind a copying port. Inputs are generated here (pdf-lib, zlib) or by test/fixtures.
import { createRequire, findSourceMap } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import zlib from 'node:zlib';
import assert from 'node:assert/strict';
import { concatTransformationMatrix, drawObject, PDFDict, PDFDocument, PDFName, popGraphicsState, pushGraphicsState, StandardFonts } from 'pdf-lib';
import { openPdf, pdfjs, pdfWorker, preloadPdfWorker } from '../extractors/pdfjs.ts';
import { copyMessage, SameThreadPort } from '../extractors/pdfworker.ts';
import { jpxDecodesSkipped, nativesIntact, withoutSourceMaps } from '../extractors/natives.ts';
import { renderPage } from '../extractors/raster.ts';
import { extractDocument } from '../pipelines/extract.ts';
import { loadConfig } from '../schemas/config.ts';
import { memorySink } from './support/sink.ts';
import { pagesPdf } from './fixtures/pdfs.ts';

test("pdf.js is loaded without its source maps and folio's TypeScript keeps its own", async () => {
  // Tests run under tsx, which turns source maps on, as bin/folio.js does.
  assert.equal(process.sourceMapsEnabled, true);
  await preloadPdfWorker();
  // A damaged PDF: pdf.js builds its exceptions on Error, and the stack is formatted.
  await assert.rejects(openPdf(new Uint8Array(Buffer.from('%PDF-1.7\n% damaged\n'))), (e: Error) => typeof e.stack === 'string');
  const build = path.join(path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), 'legacy', 'build');
  for (const file of ['pdf.mjs', 'pdf.worker.mjs']) {
    assert.equal(findSourceMap(path.join(build, file)), undefined, `${file} has no source map in this thread`);
  }
  assert.ok(findSourceMap(fileURLToPath(new URL('../extractors/pdfjs.ts', import.meta.url))), 'folio keeps its own');
  // The setting comes back even when the import fails, and only once no such import is under way.
  const missing = './no-such-module.mjs';
  await assert.rejects(withoutSourceMaps(() => import(missing)));
  assert.equal(process.sourceMapsEnabled, true);
  let endFirst!: () => void;
  let endSecond!: () => void;
  const first = withoutSourceMaps(() => new Promise<void>((r) => (endFirst = r)));
  const second = withoutSourceMaps(() => new Promise<void>((r) => (endSecond = r)));
  endFirst();
  await first;
  assert.equal(process.sourceMapsEnabled, false, 'still off while the second import loads');
  endSecond();
  await second;
  assert.equal(process.sourceMapsEnabled, true);
});

test('pdf.js leaves the engine its own push and JSON, and wasm is compiled once per bytes', async () => {
  await preloadPdfWorker();
  await (await openPdf((await pagesPdf(1)).bytes)).destroy();
  assert.equal(nativesIntact(), true);
  // core-js's replacements claim to be [native code], so compare behaviour with a fresh realm:
  // on a non-writable length, V8's own push (no arguments) does not throw, core-js's does.
  const probe = `(() => { try { Object.defineProperty([], 'length', { writable: false }).push(); return 'quiet'; } catch (e) { return 'throws'; } })()`;
  assert.equal(vm.runInThisContext(probe), vm.runInNewContext(probe));
  // The smallest valid module: magic and version.
  const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  const a = (await WebAssembly.instantiate(bytes)) as unknown as WebAssembly.WebAssemblyInstantiatedSource;
  const b = (await WebAssembly.instantiate(bytes)) as unknown as WebAssembly.WebAssemblyInstantiatedSource;
  assert.ok(a.instance instanceof WebAssembly.Instance && b.instance instanceof WebAssembly.Instance);
  assert.notEqual(a.instance, b.instance);
  assert.equal(a.module, b.module, 'the same bytes object is compiled once');
  const c = (await WebAssembly.instantiate(new Uint8Array(bytes))) as unknown as WebAssembly.WebAssemblyInstantiatedSource;
  assert.notEqual(c.module, a.module, 'other bytes are compiled anew');
});

/** Push chunks through a DecompressionStream and gather what comes out. */
async function inflate(format: string, chunks: BufferSource[]): Promise<Buffer> {
  const ds = new DecompressionStream(format as CompressionFormat);
  const writer = ds.writable.getWriter();
  for (const c of chunks) void writer.write(c).catch(() => {});
  void writer.close().catch(() => {});
  const out: Uint8Array[] = [];
  for await (const c of ds.readable) out.push(c);
  return Buffer.concat(out);
}

test('compressed streams are inflated in the thread: same bytes out, same errors', async () => {
  await preloadPdfWorker();
  assert.equal((globalThis.DecompressionStream as unknown as { __folioInThread?: boolean }).__folioInThread, true);
  const text = Buffer.from(Array.from({ length: 500 }, (_, i) => `BT /F1 12 Tf 72 ${i} Td (in-thread inflate ${i * 7919}) Tj ET`).join('\n'));
  const deflated = zlib.deflateSync(text);
  // Several chunks of every BufferSource kind: Uint8Array, ArrayBuffer, DataView.
  const a = deflated.subarray(0, 100);
  const b = deflated.buffer.slice(deflated.byteOffset + 100, deflated.byteOffset + 200);
  const c = new DataView(deflated.buffer, deflated.byteOffset + 200, deflated.byteLength - 200);
  assert.deepEqual(await inflate('deflate', [a, b, c]), text);
  assert.deepEqual(await inflate('deflate-raw', [zlib.deflateRawSync(text)]), text);
  assert.deepEqual(await inflate('gzip', [zlib.gzipSync(text)]), text);
  // Streams composed the standard way (PGlite reads gzip data like this) work too.
  const piped = new Blob([zlib.gzipSync(text)]).stream().pipeThrough(new DecompressionStream('gzip'));
  assert.equal(await new Response(piped).text(), text.toString());
  // Truncated and corrupt data error the stream: that is what makes pdf.js use its own inflater.
  await assert.rejects(inflate('deflate', [deflated.subarray(0, deflated.length - 40)]));
  await assert.rejects(inflate('deflate', [Buffer.from('not deflate data at all')]));
  assert.throws(() => new DecompressionStream('lzma' as CompressionFormat), TypeError);
});

test('a content stream that zlib refuses (bad checksum) is read whole by the inflater of pdf.js', async () => {
  const doc = await PDFDocument.create();
  const helvetica = await doc.embedFont(StandardFonts.Helvetica);
  const page = doc.addPage([612, 792]);
  page.drawText('x', { x: 0, y: 0, size: 1, font: helvetica }); // puts the font in the page's resources
  const fontKey = page.node.Resources()!.lookup(PDFName.of('Font'), PDFDict)!.keys()[0]!.asString();
  const lines = [`BT ${fontKey} 24 Tf 72 740 Td (FIRST LINE) Tj ET`];
  for (let i = 0; i < 40; i++) lines.push(`BT ${fontKey} 10 Tf 72 ${700 - 14 * i} Td (line ${i} of ${i * 7919}) Tj ET`);
  const deflated = Buffer.from(zlib.deflateSync(Buffer.from(lines.join('\n'))));
  for (let i = 1; i <= 4; i++) deflated[deflated.length - i]! ^= 0x5a; // the Adler-32 at the end
  await assert.rejects(inflate('deflate', [deflated]), 'zlib checks the checksum');
  page.node.set(PDFName.of('Contents'), doc.context.register(doc.context.stream(deflated, { Filter: 'FlateDecode' })));
  const bytes = await doc.save();
  const cfg = { ...loadConfig({ logLevel: 'silent' }, {}), render: 'none' as const };
  const out = await extractDocument({ bytes, uri: 'mem://adler', name: 'adler.pdf' }, cfg, { storeImage: memorySink().sink });
  const got = out.pages[0]!.blocks.flatMap((b) => b.lines.map((l) => l.text));
  assert.equal(got[0], 'FIRST LINE');
  assert.deepEqual(got.slice(1), Array.from({ length: 40 }, (_, i) => `line ${i} of ${i * 7919}`));
});

test('messages between the halves of pdf.js are copies: what the sender changes later never arrives', () => {
  // An operator list chunk, as pdf.js sends it and then empties its arrays for the next chunk.
  class Glyph {
    constructor(readonly unicode: string, readonly width: number) {}
  }
  const glyph = new Glyph('A', 667);
  const fnArray = [44, 45];
  const argsArray: unknown[] = [[[glyph, glyph]], [1, 0, 0, 1, 72, 700]];
  const styles = Object.create(null) as Record<string, { ascent: number }>;
  styles.g_d0_f1 = { ascent: 0.9 };
  const image = new Uint8Array([1, 2, 3, 4]);
  const font = new Uint8Array([9, 9, 9]);
  const message = { chunk: { fnArray, argsArray, styles, lastChunk: false }, data: [image, font], seen: new Map([['k', [1]]]), refs: new Set([[2]]) };
  const got = copyMessage(message, new Set([image.buffer])) as typeof message;
  fnArray.length = 0;
  argsArray.length = 0;
  styles.g_d0_f1.ascent = 0;
  font[0] = 0;
  message.seen.get('k')!.push(2);
  assert.deepEqual(got.chunk.fnArray, [44, 45]);
  assert.equal((got.chunk.argsArray[1] as number[])[4], 72);
  assert.equal(Object.getPrototypeOf(got.chunk.styles), null, 'a prototype-less object stays one');
  assert.equal(got.chunk.styles.g_d0_f1!.ascent, 0.9);
  assert.deepEqual([...got.data[1]!], [9, 9, 9], 'a buffer that is not transferred is copied');
  assert.equal(got.data[0], image, 'a transferred buffer is handed over');
  assert.deepEqual([...got.seen.get('k')!], [1]);
  assert.deepEqual([...got.refs], [[2]]);
  // A font's cached glyphs are never changed once made: handed over as they are.
  const glyphs = (got.chunk.argsArray[0] as Glyph[][])[0]!;
  assert.equal(glyphs[0], glyph);
  assert.equal(glyphs[0]!.unicode, 'A');
  // Errors are rebuilt, as by structuredClone.
  const err = new Error('bad xref');
  const copied = copyMessage({ reason: err }) as { reason: Error };
  assert.notEqual(copied.reason, err);
  assert.equal(copied.reason.message, 'bad xref');
});

test('the same-thread port delivers copies later, in order, to the listeners it has then', async () => {
  const port = new SameThreadPort();
  const got: unknown[] = [];
  const ac = new AbortController();
  const listener = (e: { data: unknown }) => got.push(e.data);
  port.addEventListener('message', listener, { signal: ac.signal });
  const first = { n: [1] };
  port.postMessage(first);
  port.postMessage({ n: [2] }, []);
  first.n.push(99);
  assert.deepEqual(got, [], 'nothing arrives while the sender runs');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got, [{ n: [1] }, { n: [2] }]);
  ac.abort();
  assert.equal(port.listenerCount, 0, 'an aborted signal removes its listener');
  port.postMessage({ n: [3] });
  await new Promise((r) => setImmediate(r));
  assert.equal(got.length, 2);
  port.addEventListener('message', listener);
  port.removeEventListener('message', listener);
  port.addEventListener('message', listener);
  port.terminate();
  assert.equal(port.listenerCount, 0);
});

test("documents share their thread's pdf.js worker, alone or together, and leave nothing behind", async () => {
  const { worker, port } = await pdfWorker();
  await openPdf((await pagesPdf(1)).bytes).then((d) => d.destroy());
  const idle = port.listenerCount;
  const fixtures = await Promise.all([2, 3, 4].map((n) => pagesPdf(n)));
  const read = async (bytes: Uint8Array) => {
    const doc = await openPdf(bytes);
    const texts: string[] = [];
    for (let k = 1; k <= doc.numPages; k++) {
      const page = await doc.getPage(k);
      const tc = await page.getTextContent();
      texts.push(tc.items.map((it) => ('str' in it ? it.str : '')).join(''));
      page.cleanup();
    }
    await doc.destroy();
    return texts;
  };
  // Three documents at once, then a damaged one, then one more: each reads its own pages.
  const all = await Promise.all(fixtures.map((f) => read(f.bytes)));
  all.forEach((texts, i) => assert.deepEqual(texts, Array.from({ length: i + 2 }, (_, k) => `Page ${k + 1} of ${i + 2}`)));
  await assert.rejects(openPdf(new TextEncoder().encode('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF')), { code: 'corrupt_pdf' });
  assert.deepEqual(await read(fixtures[0]!.bytes), ['Page 1 of 2', 'Page 2 of 2']);
  assert.equal((await pdfWorker()).worker, worker, 'one worker for the thread');
  assert.equal(port.listenerCount, idle, 'closed documents leave no listeners on the port');
});

/** A 64x48 JPEG 2000 (JP2) image of one colour, rgb(48, 96, 192): written by ffmpeg's encoder. */
const JP2 = Buffer.from(
  'AAAADGpQICANCocKAAAAFGZ0eXBqcDIgAAAAAGpwMiAAAAAtanAyaAAAABZpaGRyAAAAMAAAAEAAAwgHAAAAAAAPY29scgEAAAAAABAAAAC9anAyY/9P/1EALwAAAAAAQAAAADAAAAAAAAAAAAAAAQAAAAEAAAAAAAAAAAAAAwcBAQcBAQcBAf9SAAwAAAABAAYCAgAA/1wAKSJ/IH7gfuB+oHbwdvB2wG8AbwBu4GdQZ1BnaFAFUAVQR1fTV9NXYv9kABEAAUxhdmM1OS4zNy4xMDD/kAAKAAAAAAA0AAH/k8/8AAwFn3/H+AMHKH/P/AAMBJTfAAAAAAAAAAAAAAAAAAAAAAAA/9k=',
  'base64',
);

/** A page with a caption and the JPEG 2000 image drawn at x 100..300, y 300..450 (PDF space, 400x600 page). */
async function jpxPdf(): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage([400, 600]);
  const image = pdf.context.register(
    pdf.context.stream(new Uint8Array(JP2), { Type: 'XObject', Subtype: 'Image', Width: 64, Height: 48, ColorSpace: 'DeviceRGB', BitsPerComponent: 8, Filter: 'JPXDecode' }),
  );
  page.node.setXObject(PDFName.of('Im1'), image);
  page.pushOperators(pushGraphicsState(), concatTransformationMatrix(200, 0, 0, 150, 100, 300), drawObject('Im1'), popGraphicsState());
  page.drawText('Figure 1: a photograph in JPEG 2000', { x: 100, y: 280, size: 10, font: await pdf.embedFont(StandardFonts.Helvetica) });
  return pdf.save();
}

/** What pdf.js hands over for the page's one image after listing its operators: the pixels, or null. */
async function listedImage(bytes: Uint8Array, draws?: boolean): Promise<{ width: number; height: number } | null> {
  const doc = await openPdf(bytes, draws === undefined ? {} : { draws });
  try {
    const page = await doc.getPage(1);
    const ops = await page.getOperatorList();
    const i = ops.fnArray.indexOf(pdfjs.OPS.paintImageXObject);
    assert.ok(i >= 0, 'the image keeps its place in the operator list');
    const objId = (ops.argsArray[i] as [string])[0];
    return await new Promise((resolve) => page.objs.get(objId, resolve));
  } finally {
    await doc.destroy();
  }
}

test('JPEG 2000 images are decoded only while a document that may draw is open', async () => {
  // (The tests before this one close every document they open.)
  const bytes = await jpxPdf();
  // A document that draws nothing: the image is listed, its pixels are never decoded.
  const skipped = jpxDecodesSkipped();
  assert.equal(await listedImage(bytes, false), null);
  assert.equal(jpxDecodesSkipped(), skipped + 1, 'OpenJPEG was not run');
  // Any other document decodes as pdf.js does, and draws the image.
  const decoded = await listedImage(bytes);
  assert.deepEqual([decoded?.width, decoded?.height], [64, 48]);
  const doc = await openPdf(bytes);
  const shown = await renderPage(await doc.getPage(1), { dpi: 72, maxPixels: 1e7 });
  const at = (x: number, y: number) => [...shown.data.subarray((y * shown.width + x) * shown.channels, (y * shown.width + x) * shown.channels + 3)];
  const [r, g, b] = at(200, 600 - 375);
  assert.ok(Math.abs(r! - 48) < 12 && Math.abs(g! - 96) < 12 && Math.abs(b! - 192) < 12, `the image is drawn: rgb(${r}, ${g}, ${b})`);
  await doc.destroy();
  assert.equal(jpxDecodesSkipped(), skipped + 1);
  // A text-only extraction (no OCR, no page images) still finds the image: a figure where it is drawn.
  const out = await extractDocument({ bytes, uri: 'mem://jpx.pdf', name: 'jpx.pdf' }, loadConfig({ engine: 'text', render: 'none' }), { storeImage: memorySink().sink });
  const figure = out.pages[0]!.blocks.find((blk) => blk.type === 'figure');
  assert.ok(figure, `a figure block among ${out.pages[0]!.blocks.map((blk) => blk.type)}`);
  assert.deepEqual([figure.bbox.x0, figure.bbox.y0, figure.bbox.x1, figure.bbox.y1].map(Math.round), [100, 150, 300, 300]);
});
