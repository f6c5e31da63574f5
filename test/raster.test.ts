// Rasterizing PDF pages: sizes from dpi and /Rotate, pixels where things were drawn, stored PNG and
// thumbnail. Inputs are generated here with pdf-lib.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PDFDocument, StandardFonts, degrees, rgb } from 'pdf-lib';
import sharp from 'sharp';
import { FolioError } from '../schemas/errors.ts';
import { openPdf, preloadPdfWorker } from '../extractors/pdfjs.ts';
import { extractDocument } from '../pipelines/extract.ts';
import { loadConfig } from '../schemas/config.ts';
import { renderPage, storeRendered } from '../extractors/raster.ts';
import { memorySink } from './support/sink.ts';
import { sha256 } from '../db/blobs.ts';

// Page 1 (Letter, 612x792 pt): a black rectangle 72..288 pt across, 72..216 pt down from the top,
// and Helvetica (a standard font, not embedded) text with its baseline 392 pt down from the top.
// Page 2: Letter with /Rotate 90 and a black square in the unrotated page's bottom-left corner.
const RECT = { x0: 72, y0: 72, x1: 288, y1: 216 };
const TEXT = { x: 72, baselineFromTop: 392, size: 36, text: 'HELLO FOLIO' };

async function makePdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const helvetica = await doc.embedFont(StandardFonts.Helvetica);
  const p1 = doc.addPage([612, 792]);
  p1.drawRectangle({ x: RECT.x0, y: 792 - RECT.y1, width: RECT.x1 - RECT.x0, height: RECT.y1 - RECT.y0, color: rgb(0, 0, 0) });
  p1.drawText(TEXT.text, { x: TEXT.x, y: 792 - TEXT.baselineFromTop, size: TEXT.size, font: helvetica, color: rgb(0, 0, 0) });
  const p2 = doc.addPage([612, 792]);
  p2.setRotation(degrees(90));
  p2.drawRectangle({ x: 0, y: 0, width: 72, height: 72, color: rgb(0, 0, 0) });
  return doc.save();
}

const pdfPromise = makePdf().then((bytes) => openPdf(bytes));


type Raw = { data: Buffer; width: number; height: number; channels: number };
const px = (r: Raw, x: number, y: number) => r.data[(y * r.width + x) * r.channels];

/** Count pixels darker than 128 (red channel) in a pixel box. */
function darkCount(r: Raw, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (px(r, x, y) < 128) n++;
  return n;
}

test('renders Letter at 150 dpi to 1275x1650 opaque RGBA', async () => {
  const page = await (await pdfPromise).getPage(1);
  const r = await renderPage(page, { dpi: 150, maxPixels: 10_000_000 });
  assert.equal(r.width, 1275);
  assert.equal(r.height, 1650);
  assert.equal(r.channels, 4);
  assert.equal(r.data.length, 1275 * 1650 * 4);
  // Every pixel opaque, the first and last included (they go first when freed memory is reused).
  let notOpaque = 0;
  for (let i = 3; i < r.data.length; i += 4) if (r.data[i] !== 255) notOpaque++;
  assert.equal(notOpaque, 0);
});

test('the rectangle is dark where drawn and the page white elsewhere', async () => {
  const page = await (await pdfPromise).getPage(1);
  const s = 150 / 72;
  const r = await renderPage(page, { dpi: 150, maxPixels: 10_000_000 });
  // Inside the rectangle, 2 px away from its edges: all black.
  const inside = [Math.ceil(RECT.x0 * s) + 2, Math.ceil(RECT.y0 * s) + 2, Math.floor(RECT.x1 * s) - 2, Math.floor(RECT.y1 * s) - 2] as const;
  const area = (inside[2] - inside[0]) * (inside[3] - inside[1]);
  assert.equal(darkCount(r, ...inside), area);
  assert.equal(px(r, inside[0], inside[1]), 0);
  // Just outside it, and the corners of the page: white.
  for (const [x, y] of [
    [Math.floor(RECT.x0 * s) - 3, Math.round(((RECT.y0 + RECT.y1) / 2) * s)],
    [Math.ceil(RECT.x1 * s) + 3, Math.round(((RECT.y0 + RECT.y1) / 2) * s)],
    [Math.round(((RECT.x0 + RECT.x1) / 2) * s), Math.floor(RECT.y0 * s) - 3],
    [Math.round(((RECT.x0 + RECT.x1) / 2) * s), Math.ceil(RECT.y1 * s) + 3],
    [0, 0],
    [1274, 0],
    [0, 1649],
    [1274, 1649],
  ]) {
    assert.equal(px(r, x, y), 255, `white at ${x},${y}`);
  }
  // Right of the rectangle (nothing drawn there): no dark pixel at all.
  assert.equal(darkCount(r, Math.ceil(RECT.x1 * s) + 3, 0, 1275, Math.floor(300 * s)), 0);
});

test('non-embedded Helvetica text is drawn (standard font data is found)', async () => {
  const page = await (await pdfPromise).getPage(1);
  const s = 150 / 72;
  const r = await renderPage(page, { dpi: 150, maxPixels: 10_000_000 });
  // Cap height of Helvetica is ~0.72 em: glyphs lie between baseline - 26pt and the baseline.
  const top = Math.round((TEXT.baselineFromTop - 0.72 * TEXT.size) * s);
  const bottom = Math.round(TEXT.baselineFromTop * s);
  const textWidthPt = 250; // "HELLO FOLIO" at 36pt is ~220pt wide
  const ink = darkCount(r, Math.round(TEXT.x * s), top, Math.round((TEXT.x + textWidthPt) * s), bottom);
  const box = Math.round(textWidthPt * s) * (bottom - top);
  assert.ok(ink > box * 0.1, `expected text ink, found ${ink} dark pixels in ${box}`);
  assert.ok(ink < box * 0.8, `text should not be a filled box (${ink} of ${box})`);
  // Nothing below the text.
  assert.equal(darkCount(r, 0, bottom + Math.round(12 * s), 1275, 1650), 0);
});

test('a page with /Rotate 90 renders with swapped dimensions, rotated clockwise', async () => {
  const page = await (await pdfPromise).getPage(2);
  const r = await renderPage(page, { dpi: 150, maxPixels: 10_000_000 });
  assert.equal(r.width, 1650);
  assert.equal(r.height, 1275);
  // The unrotated bottom-left square shows up at the top-left of the displayed page.
  assert.equal(px(r, 20, 20), 0);
  assert.equal(px(r, 1650 - 20, 20), 255);
  assert.equal(px(r, 20, 1275 - 20), 255);
  assert.equal(px(r, 1650 - 20, 1275 - 20), 255);
});

test('dpi sets the scale: 72 dpi gives one pixel per point', async () => {
  const page = await (await pdfPromise).getPage(1);
  const r = await renderPage(page, { dpi: 72, maxPixels: 10_000_000 });
  assert.deepEqual([r.width, r.height], [612, 792]);
});

test('over the pixel limit: too_many_pixels', async () => {
  const page = await (await pdfPromise).getPage(1);
  await assert.rejects(
    renderPage(page, { dpi: 150, maxPixels: 1275 * 1650 - 1 }),
    (err: unknown) => err instanceof FolioError && err.code === 'too_many_pixels' && /1275x1650/.test(err.message),
  );
  // Exactly at the limit is allowed.
  const r = await renderPage(page, { dpi: 150, maxPixels: 1275 * 1650 });
  assert.equal(r.width * r.height, 1275 * 1650);
});

test('an aborted signal stops the render with code timeout', async () => {
  const page = await (await pdfPromise).getPage(1);
  const isTimeout = (err: unknown) => err instanceof FolioError && err.code === 'timeout';
  const before = new AbortController();
  before.abort();
  await assert.rejects(renderPage(page, { dpi: 150, maxPixels: 10_000_000, signal: before.signal }), isTimeout);
  const during = new AbortController();
  const pending = renderPage(page, { dpi: 150, maxPixels: 10_000_000, signal: during.signal });
  during.abort();
  await assert.rejects(pending, isTimeout);
  // The page renders again afterwards.
  const r = await renderPage(page, { dpi: 72, maxPixels: 10_000_000 });
  assert.equal(r.width, 612);
});

test('storeRendered stores a PNG of the same size and a thumbnail thumbnailWidth wide', async () => {
  const page = await (await pdfPromise).getPage(1);
  const r = await renderPage(page, { dpi: 150, maxPixels: 10_000_000 });
  const { sink, blobs } = memorySink();
  const keys = await storeRendered(r, { thumbnailWidth: 200, storeImage: sink });
  assert.match(keys.image, /^[0-9a-f]{64}$/);
  assert.match(keys.thumbnail, /^[0-9a-f]{64}$/);
  assert.notEqual(keys.image, keys.thumbnail);
  assert.equal(blobs.size, 2);

  const png = blobs.get(keys.image)!;
  assert.equal(png.contentType, 'image/png');
  const pm = await sharp(png.bytes).metadata();
  assert.equal(pm.format, 'png');
  assert.deepEqual([pm.width, pm.height], [1275, 1650]);
  // The pixels survive the round trip: the rectangle is still black, the margin white.
  const back = await sharp(png.bytes).raw().toBuffer({ resolveWithObject: true });
  const decoded = { data: back.data, width: back.info.width, height: back.info.height, channels: back.info.channels };
  assert.equal(px(decoded, 300, 300), 0);
  assert.equal(px(decoded, 10, 10), 255);

  const thumb = blobs.get(keys.thumbnail)!;
  assert.equal(thumb.contentType, 'image/webp');
  const tm = await sharp(thumb.bytes).metadata();
  assert.equal(tm.format, 'webp');
  assert.equal(tm.width, 200);
  assert.equal(tm.height, Math.round((200 * 1650) / 1275));
});

test('storeRendered never enlarges a thumbnail and keeps gray pixels gray', async () => {
  const gray = { data: Buffer.alloc(50 * 40, 128), width: 50, height: 40, channels: 1 as const };
  const { sink, blobs } = memorySink();
  const keys = await storeRendered(gray, { thumbnailWidth: 256, storeImage: sink });
  const pm = await sharp(blobs.get(keys.image)!.bytes).metadata();
  assert.deepEqual([pm.width, pm.height, pm.channels], [50, 40, 1]);
  const tm = await sharp(blobs.get(keys.thumbnail)!.bytes).metadata();
  assert.equal(tm.width, 50);
  await assert.rejects(storeRendered({ ...gray, width: 51 }, { thumbnailWidth: 10, storeImage: sink }), FolioError);
});

// Pages with no text layer. 1: blank. 2: a gray rectangle 100..300 pt across, 200..400 pt down,
// drawn as vector paths (as outlined text or a chart would be). 3: a line of real text.
async function textlessPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const helvetica = await doc.embedFont(StandardFonts.Helvetica);
  doc.addPage([612, 792]);
  const p2 = doc.addPage([612, 792]);
  p2.drawRectangle({ x: 100, y: 792 - 400, width: 200, height: 200, color: rgb(0.3, 0.3, 0.3) });
  const p3 = doc.addPage([612, 792]);
  p3.drawText('A page with a proper text layer on it.', { x: 72, y: 700, size: 12, font: helvetica });
  return doc.save();
}

test('a page without text needs OCR when something is drawn on it, rendered first or not', async () => {
  const bytes = await textlessPdf();
  const cfg = { ...loadConfig({ logLevel: 'silent' }, {}), graphics: 'auto' as const };
  const { sink, blobs } = memorySink();
  const rendered = await extractDocument({ bytes, uri: 'mem://t', name: 't.pdf' }, { ...cfg, render: 'needs-ocr' }, { storeImage: sink });
  const plain = await extractDocument({ bytes, uri: 'mem://t', name: 't.pdf' }, { ...cfg, render: 'none' }, { storeImage: sink });
  for (const doc of [rendered, plain]) {
    assert.deepEqual(doc.pages.map((p) => p.needsOcr), [false, true, false]);
  }
  // Only the page that needs OCR is stored, and the blank one (rendered to find out) is not.
  assert.deepEqual(rendered.pages.map((p) => !!p.image), [false, true, false]);
  assert.equal(blobs.size, 2);
  assert.ok(plain.pages.every((p) => !p.image));
  // The rendered page's ink is its figure, where the rectangle was drawn.
  const fig = rendered.pages[1]!.blocks.find((b) => b.type === 'figure');
  assert.ok(fig, 'a figure block on the drawn page');
  for (const [k, v] of Object.entries({ x0: 100, y0: 200, x1: 300, y1: 400 })) {
    assert.ok(Math.abs(fig.bbox[k as keyof typeof fig.bbox] - v) <= 2, `${k} ${fig.bbox[k as keyof typeof fig.bbox]} vs ${v}`);
  }
  assert.equal(rendered.pages[0]!.blocks.length, 0);
});

test('page images are stored while the next pages are read; a store that fails costs only the image', async () => {
  // Six scanned-like pages (more than are stored at a time) and a text page.
  const doc = await PDFDocument.create();
  const helvetica = await doc.embedFont(StandardFonts.Helvetica);
  for (let i = 0; i < 6; i++) doc.addPage([612, 792]).drawRectangle({ x: 50 + 40 * i, y: 300, width: 100, height: 100, color: rgb(0.2, 0.2, 0.2) });
  doc.addPage([612, 792]).drawText('Text after the scans.', { x: 72, y: 700, size: 12, font: helvetica });
  const bytes = await doc.save();
  const cfg = { ...loadConfig({ logLevel: 'silent' }, {}), render: 'needs-ocr' as const, graphics: 'auto' as const };
  const { sink, blobs } = memorySink();
  const ok = await extractDocument({ bytes, uri: 'mem://s', name: 's.pdf' }, cfg, { storeImage: sink });
  assert.deepEqual(ok.pages.map((p) => p.needsOcr), [true, true, true, true, true, true, false]);
  // Every scanned page has its own image and thumbnail, in page order.
  const images = ok.pages.slice(0, 6).map((p) => p.image);
  assert.ok(images.every((k) => k && blobs.has(k)), JSON.stringify(images));
  assert.equal(new Set(images).size, 6);
  for (const [i, p] of ok.pages.slice(0, 6).entries()) {
    const fig = p.blocks.find((b) => b.type === 'figure')!;
    assert.ok(Math.abs(fig.bbox.x0 - (50 + 40 * i)) <= 2, `page ${i + 1} figure at ${fig.bbox.x0}`);
    const png = await sharp(blobs.get(p.image!)!.bytes).raw().toBuffer({ resolveWithObject: true });
    // The square is dark on this page's image where this page drew it (150 dpi: 2.083 px/pt).
    const x = Math.round((50 + 40 * i + 50) * (150 / 72));
    const y = Math.round((792 - 350) * (150 / 72));
    assert.ok(png.data[(y * png.info.width + x) * png.info.channels]! < 100, `page ${i + 1} image shows its square`);
  }
  // A sink that fails on page 3's image (known by its bytes: stores of pages in flight together
  // come in no fixed order): that page has no image and a warning, the rest is intact.
  const page3 = ok.pages[2]!.image!;
  const failing: typeof sink = async (b, type) => {
    if (sha256(b) === page3) throw new Error('disk full');
    return sink(b, type);
  };
  const partial = await extractDocument({ bytes, uri: 'mem://s', name: 's.pdf' }, cfg, { storeImage: failing });
  assert.deepEqual(partial.warnings.map((w) => [w.code, w.page]), [['image_not_stored', 3]]);
  assert.match(partial.warnings[0]!.message, /disk full/);
  assert.deepEqual(partial.pages.map((p) => !!p.image), [true, true, false, true, true, true, false]);
  assert.deepEqual(partial.pages.map((p) => p.blocks.map((b) => b.type)), ok.pages.map((p) => p.blocks.map((b) => b.type)));
  assert.equal(partial.pages[6]!.blocks[0]!.text, 'Text after the scans.');
});

test('an image shown on several pages (a repeated scan, a logo) is drawn on each of them', async () => {
  // One image XObject of 700x500 px (big enough that pdf.js shares it between pages rather than
  // decoding it per page), drawn 350x250 pt at a different place on each of three pages.
  const gray = await sharp({ create: { width: 700, height: 500, channels: 3, background: { r: 90, g: 90, b: 90 } } }).png().toBuffer();
  const doc = await PDFDocument.create();
  const image = await doc.embedPng(gray);
  const at = [50, 150, 250];
  for (const x of at) doc.addPage([612, 792]).drawImage(image, { x, y: 792 - 100 - 250, width: 350, height: 250 });
  const bytes = await doc.save();
  const cfg = { ...loadConfig({ logLevel: 'silent' }, {}), graphics: 'auto' as const, render: 'needs-ocr' as const };
  const { sink } = memorySink();
  const out = await extractDocument({ bytes, uri: 'mem://r', name: 'r.pdf' }, cfg, { storeImage: sink });
  assert.deepEqual(out.pages.map((p) => p.needsOcr), [true, true, true]);
  out.pages.forEach((p, i) => {
    const fig = p.blocks.find((b) => b.type === 'figure');
    assert.ok(fig, `a figure on page ${i + 1}`);
    const want = { x0: at[i]!, y0: 100, x1: at[i]! + 350, y1: 350 };
    for (const [k, v] of Object.entries(want)) {
      assert.ok(Math.abs(fig.bbox[k as keyof typeof fig.bbox] - v) <= 2, `page ${i + 1} ${k} ${fig.bbox[k as keyof typeof fig.bbox]} vs ${v}`);
    }
  });
});
