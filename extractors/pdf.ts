// The PDF stage: text layer (pdf.js text content with positions), fonts and images (operator
// list), layout, and rasterization of the pages that need it.
import { FolioError } from '../schemas/errors.ts';
import type { BBox } from '../schemas/document.ts';
import { assemblePages, figureBlock, textBlocks, type ReadPage } from './assemble.ts';
import { pageGraphics, isWhite, type PageGraphics } from './graphics.ts';
import { centerInside, pageLines, pageWords, r2, unionBoxes, type PageLayout, type PageLines, type RawBlock, type TextRun } from './layout.ts';
import { OCR_MAX_PIXELS, ocrPage, readPageOf } from './ocr.ts';
import { enrichPage, vlmReadPage, wantsModel } from './vlm.ts';
import { looksTabular } from './tables.ts';
import { mapPdfError, openPdf, pdfjs, PDFJS_VERSION, type PDFPageProxy } from './pdfjs.ts';
import { renderPage, renderSize, storeRendered, type RawImage, type RenderedPage } from './raster.ts';
import type { ExtractOptions, Extraction } from './types.ts';

export const PDF_ENGINE_VERSION = `pdfjs-dist@${PDFJS_VERSION}`;

type Matrix = number[];
const mul = (m1: Matrix, m2: Matrix): Matrix => pdfjs.Util.transform(m1, m2) as Matrix;

const BOLD_NAME = /bold|black|heavy|semibold|demibold|demi\b|-medi\b|medium|extrab|ultrab|[-,]bd\b|\bbd\b|-b\b/i;

interface PageFacts {
  layout: PageLayout;
  rotation: 0 | 90 | 180 | 270;
  chars: number;
  /** Something is painted besides text: an image, a coloured shape or a rule (operator list). */
  drawn: boolean;
  /** Set when the page was rendered before its graphics were read (then never read). */
  ink?: Ink;
  graphics?: PageGraphics;
  tables: ReadPage['tables'];
}

/** How a page's text is read: its text layer, its image by OCR, or both merged. */
type Route = 'text' | 'ocr' | 'merge';

/** Extract a PDF into pages of classified, ordered blocks. */
export async function extractPdf(bytes: Uint8Array, opts: ExtractOptions): Promise<Extraction> {
  return assemblePdf([await readPdf(bytes, opts)]);
}

/**
 * Some pages of a PDF, read but not yet assembled into a Document (a large document's pages are
 * read in ranges, by several workers; assemblePdf joins the ranges). Plain data: it survives
 * JSON and structured cloning.
 */
export interface PdfRead {
  pageCount: number;
  from: number;
  to: number;
  read: ReadPage[];
  warnings: Extraction['warnings'];
  failedPages: number;
  /** Read with the first page. */
  metadata?: Record<string, string>;
  title?: string;
  /** Set (and nothing read) when the PDF has more than `splitOver` pages. */
  split?: true;
}

/** The Document's pages, tables and metadata from its ranges of read pages (in page order). */
export function assemblePdf(parts: PdfRead[]): Extraction {
  const read = parts.flatMap((p) => p.read);
  const warnings = parts.flatMap((p) => p.warnings);
  const pageCount = parts[0]?.pageCount ?? 0;
  const failed = parts.reduce((s, p) => s + p.failedPages, 0);
  if (pageCount > 0 && failed === pageCount) {
    const model = warnings.find((w) => w.code === 'model_failed');
    if (model) throw new FolioError('model_failed', `the vision model read no page of the document (${model.message})`);
    throw new FolioError('corrupt_pdf', `no page of the PDF could be read (${warnings.find((w) => w.code === 'page_unreadable')?.message ?? ''})`);
  }
  const { pages, tables, charts } = assemblePages(read, warnings);
  const first = parts.find((p) => p.metadata);
  const titleBlock = pages.flatMap((p) => p.blocks).find((b) => b.type === 'title');
  return { pages, tables, charts, metadata: first?.metadata ?? {}, title: first?.title ?? titleBlock?.text.replace(/\s+/g, ' '), warnings };
}

/**
 * Read pages `range.from`..`range.to` of a PDF (default: all). With `splitOver`, a PDF of more
 * pages than that is not read: only its page count comes back (`split`).
 */
export async function readPdf(bytes: Uint8Array, opts: ExtractOptions, range?: { from: number; to: number }, splitOver?: number): Promise<PdfRead> {
  const vlmAll = opts.engine === 'vlm';
  const ocrOn = !!opts.ocr && opts.engine !== 'text' && !vlmAll;
  const storesImages = !!opts.storeImage && opts.render !== 'none';
  // A run with no OCR, no page images and no vision model draws no page: its JPEG 2000 images
  // need no decoding (extractors/natives.ts).
  const doc = await openPdf(bytes, { password: opts.password, draws: vlmAll || !!opts.vlm || ocrOn || storesImages });
  try {
    if (doc.numPages > opts.maxPages) {
      throw new FolioError('too_many_pages', `the PDF has ${doc.numPages} pages; the limit is ${opts.maxPages} (FOLIO_MAX_PAGES)`);
    }
    const from = Math.max(1, range?.from ?? 1);
    const to = Math.min(doc.numPages, range?.to ?? doc.numPages);
    if (splitOver !== undefined && !range && doc.numPages > splitOver) {
      return { pageCount: doc.numPages, from, to, read: [], warnings: [], failedPages: 0, split: true };
    }
    const warnings: Extraction['warnings'] = [];
    const read: ReadPage[] = [];
    let failedPages = 0;
    const client = opts.vlm?.();
    if (vlmAll && !client) throw new FolioError('model_missing', 'engine vlm needs a vision model: set FOLIO_VLM_MODEL (and FOLIO_VLM_MMPROJ) or FOLIO_VLM_URL');
    // Pages the vision model reads (or adds charts and tables to) are in flight while the next
    // pages render: one more than the server's slots, so that a slot that frees up finds the
    // next page drawn and sent already (the server queues it meanwhile).
    // A page's image is encoded and written on sharp's and libuv's threads while this one reads
    // on, a few pages' pixels at a time (not a whole scanned book's); a store that fails leaves the
    // page without an image, and says so.
    const store = async (slot: number, n: number, img: RawImage, width?: number) => {
      storing.push(
        storeRendered(img, { thumbnailWidth: opts.thumbnailWidth, storeImage: opts.storeImage!, width }).then(
          (keys) => void Object.assign(read[slot]!.page, keys),
          (err: unknown) => void warnings.push({ code: 'image_not_stored', message: `page ${n}: ${(err as Error).message}`, page: n }),
        ),
      );
      if (storing.length >= STORE_AHEAD) await storing.shift();
    };
    const modelJobs: Promise<void>[] = [];
    let fatal: unknown;
    const parallel = Math.max(1, opts.vlmParallel ?? 4);
    const modelJob = async (slot: number, n: number, job: Promise<ReadPage | void>) => {
      modelJobs.push(
        job.then(
          (got) => {
            if (!got) return;
            // The page's stored image keys may have arrived first.
            const { image, thumbnail } = read[slot]!.page;
            read[slot] = { ...got, page: { ...got.page, ...(image ? { image } : {}), ...(thumbnail ? { thumbnail } : {}) } };
          },
          (err: unknown) => {
            const e = err instanceof FolioError ? err : undefined;
            if (e?.code === 'model_failed') {
              warnings.push({ code: 'model_failed', message: e.message, page: n });
              if (vlmAll) failedPages++;
            } else fatal ??= err;
          },
        ),
      );
      if (modelJobs.length > parallel) await modelJobs.shift();
      if (fatal) throw fatal;
    };
    // A page's decoded images are dropped one page late: an image the next page shows too (a
    // scan repeated, a logo) is then copied by pdf.js instead of decoded again.
    let previous: PDFPageProxy | undefined;
    const storing: Promise<void>[] = [];
    for (let n = from; n <= to; n++) {
      if (opts.signal?.aborted) throw new FolioError('timeout', `time limit reached at page ${n} of ${doc.numPages}`);
      let page: PDFPageProxy | undefined;
      try {
        page = await doc.getPage(n);
        const text = await readText(page);
        const shown = page;
        if (vlmAll) {
          const rotation = normRotation(page.rotate);
          const needsOcr = text.chars === 0 || unusableText(text);
          const img = await renderPage(page, { dpi: fitDpi(page, opts.vlmDpi ?? DEFAULT_VLM_DPI, opts.maxPixels), maxPixels: opts.maxPixels, signal: opts.signal });
          const slot = read.length;
          read.push({
            layout: { number: n, width: text.vp.width, height: text.vp.height, blocks: [] },
            tables: [],
            prov: { engine: client!.info.kind, engineVersion: client!.info.version, model: client!.info.model },
            page: { rotation, needsOcr, engine: 'none' },
          });
          const want = opts.render === 'all' || (opts.render === 'needs-ocr' && needsOcr);
          if (want && opts.storeImage) await store(slot, n, img);
          await modelJob(slot, n, vlmReadPage({ ...img, scale: img.width / text.vp.width }, n, client!, { rotation, needsOcr }, { signal: opts.signal, tables: opts.tables }).then((v) => v.read));
          continue;
        }
        const ocrDpi = ocrOn ? fitDpi(page, opts.ocrDpi ?? DEFAULT_OCR_DPI, Math.min(opts.maxPixels, OCR_MAX_PIXELS)) : opts.dpi;
        const render = (dpi: number) => renderPage(shown, { dpi, maxPixels: opts.maxPixels, signal: opts.signal });
        // A page with (almost) no text layer that is going to be rendered anyway is rendered
        // first: its pixels tell whether there is ink to read by OCR, and where. That spares the
        // operator list, the costly way to learn the same (it decodes every image of the page).
        // A page OCR reads is drawn again at its own resolution: that only redraws (pdf.js keeps
        // the page's operator list and decoded images).
        let raw: RenderedPage | undefined;
        let ink: Ink | undefined;
        const renders = storesImages || ocrOn;
        if (renders && text.chars < OCR_MAX_CHARS && (opts.graphics ?? 'always') === 'auto') {
          raw = await render(ocrOn ? Math.min(opts.dpi, ocrDpi) : opts.dpi);
          ink = inkOf(raw, raw.width / text.vp.width);
        }
        const f = await readPage(page, n, opts, text, ink);
        const unusable = unusableText(text);
        const needsOcr = isImageOnly(f) || unusable;
        // No text layer (or an unusable one): OCR reads the page. A few words of text layer over
        // more ink (a scan with a typed stamp), or a big image that the text layer leaves bare:
        // OCR reads it and the text layer's words are kept where they are.
        let route: Route = 'text';
        if (ocrOn) {
          if (opts.engine === 'ocr' || unusable || (needsOcr && text.chars === 0)) route = 'ocr';
          else if (needsOcr) route = !raw || uncoveredInk(raw, raw.width / text.vp.width, text) ? 'merge' : 'text';
          else if (uncoveredScan(f, text)) route = 'merge';
        }
        const slot = read.length;
        let stored: RawImage | undefined;
        let storeWidth: number | undefined;
        if (route === 'text') {
          read.push({
            layout: f.layout,
            tables: f.tables,
            prov: { engine: 'pdf-text', engineVersion: PDF_ENGINE_VERSION },
            page: { rotation: f.rotation, needsOcr, engine: text.chars > 0 ? 'pdf-text' : 'none' },
          });
          const want = opts.render === 'all' || (opts.render === 'needs-ocr' && needsOcr);
          if (want && opts.storeImage) stored = raw && raw.width === renderSize(page, opts.dpi).width ? raw : await render(opts.dpi);
        } else {
          const o = await readByOcr(page, n, text, f, raw, { merge: route === 'merge', needsOcr, fitted: ocrDpi }, opts, warnings);
          read.push(o.read);
          if (opts.render !== 'none' && opts.storeImage) [stored, storeWidth] = [o.view, Math.round((o.read.layout.width * opts.dpi) / 72)];
        }
        // With a model configured, `auto` sends the page's figures (charts) and an OCR page's tables to it.
        const got = read[slot]!;
        if (client && wantsModel(got, { tables: opts.tables })) {
          const view = route === 'text' ? undefined : stored;
          const img = view ?? (await render(fitDpi(page, opts.vlmDpi ?? DEFAULT_VLM_DPI, opts.maxPixels)));
          await modelJob(slot, n, enrichPage(got, { ...img, scale: img.width / got.layout.width }, n, client, { signal: opts.signal, tables: opts.tables }));
        }
        raw = undefined;
        if (stored && opts.storeImage) await store(slot, n, stored, storeWidth);
      } catch (err) {
        if (err instanceof FolioError && err.code !== 'corrupt_pdf' && err.code !== 'internal') throw err;
        failedPages++;
        const e = mapPdfError(err);
        warnings.push({ code: 'page_unreadable', message: `page ${n}: ${e.message}`, page: n });
        const vp = page?.getViewport({ scale: 1 });
        read.length = n - from;
        read.push({
          layout: { number: n, width: vp?.width || 612, height: vp?.height || 792, blocks: [] },
          tables: [],
          prov: { engine: 'pdf-text', engineVersion: PDF_ENGINE_VERSION },
          page: { rotation: normRotation(page?.rotate ?? 0), needsOcr: false, engine: 'none' },
        });
      } finally {
        previous?.cleanup();
        previous = page;
      }
    }
    previous?.cleanup();
    await Promise.all([...storing, ...modelJobs]);
    if (fatal) throw fatal;
    const part: PdfRead = { pageCount: doc.numPages, from, to, read, warnings, failedPages };
    if (from === 1) Object.assign(part, await readMetadata(doc));
    return part;
  } finally {
    await doc.destroy();
  }
}

/**
 * A page read by OCR: rendered again at its scan's own resolution (at least MIN_SCAN_DPI, at most
 * the configured one, lower when over the pixel limit: `fitted`), prepared and read; with `merge`
 * in the page's own frame, the text layer's runs kept and OCR's words added beside them. Figures
 * found before OCR stay unless OCR found them to be text. Returns the page and the image OCR read
 * (upright, straightened) to store.
 */
async function readByOcr(
  page: PDFPageProxy,
  n: number,
  text: PageText,
  f: PageFacts,
  rendered: RenderedPage | undefined,
  { merge, needsOcr, fitted }: { merge: boolean; needsOcr: boolean; fitted: number },
  opts: ExtractOptions,
  warnings: Extraction['warnings'],
): Promise<{ read: ReadPage; view: RawImage }> {
  // A scan is read near the resolution it was scanned at: drawn larger, its pixels are only
  // interpolated, and the smoothing costs Tesseract more than it gives (measured on receipts
  // scanned at 150 dpi: CER 0.13 read at 150-200 dpi, 0.18-0.21 at 300).
  const scanned = scanDpi(page, text.vp.width, text.vp.height);
  const configured = opts.ocrDpi ?? DEFAULT_OCR_DPI;
  const wanted = scanned ? Math.min(configured, Math.max(MIN_SCAN_DPI, Math.round(scanned))) : configured;
  const dpi = Math.min(wanted, fitted);
  if (dpi < wanted) {
    const limit = Math.min(opts.maxPixels, OCR_MAX_PIXELS);
    const which = limit < opts.maxPixels ? "OCR's" : 'FOLIO_MAX_PIXELS';
    warnings.push({ code: 'ocr_dpi_reduced', message: `page ${n} read at ${dpi} dpi instead of ${wanted}: at ${wanted} it is over the pixel limit of ${limit} (${which})`, page: n });
  }
  const raw = rendered && rendered.width === renderSize(page, dpi).width ? rendered : await renderPage(page, { dpi, maxPixels: opts.maxPixels, signal: opts.signal });
  const o = await ocrPage({ ...raw, scale: raw.width / text.vp.width }, await opts.ocr!(), { signal: opts.signal, ...(merge ? { rotation: 0, deskew: false } : {}) });
  const kept = merge ? text.runs : [];
  const read = readPageOf(o, n, { rotation: f.rotation, needsOcr }, {
    tables: opts.tables,
    ...(merge ? { runs: [...kept, ...newWords(o.runs, kept.map(runBox))], segments: [...o.segments, ...(f.graphics?.segments ?? [])], merged: true } : {}),
  });
  for (const fig of f.layout.blocks.filter((b) => b.kind === 'figure')) {
    const bbox = turnBox(fig.bbox, o.facts.rotation, f.layout.width, f.layout.height);
    if (!mostlyText(bbox, read.layout.blocks, o.width * o.height)) read.layout.blocks.push({ ...fig, bbox });
  }
  return { read, view: o.view };
}

/** Resolution pages are drawn at for a vision model (then scaled to its own pixel limit) when none is configured. */
export const DEFAULT_VLM_DPI = 144;

/** Resolution OCR reads a page at when none is configured. */
export const DEFAULT_OCR_DPI = 300;
/** A scan's own resolution is raised to at least this for OCR (fax and web scans are coarser). */
const MIN_SCAN_DPI = 200;

/**
 * The resolution of the biggest image on a page (a scan), assuming it spans the page: from the
 * decoded images pdf.js holds for the page once it has rendered it or read its operator list.
 * Images under a quarter megapixel (logos, icons) do not count.
 */
function scanDpi(page: PDFPageProxy, width: number, height: number): number | undefined {
  let best = 0;
  for (const objs of [page.objs, page.commonObjs] as unknown as Iterable<[string, unknown]>[]) {
    for (const [, data] of objs) {
      const d = data as { width?: unknown; height?: unknown } | null;
      if (!d || typeof d.width !== 'number' || typeof d.height !== 'number' || d.width * d.height < 250_000) continue;
      best = Math.max(best, (Math.max(d.width, d.height) * 72) / Math.max(width, height));
    }
  }
  return best || undefined;
}

/** Below this an OCR rendering is not worth reading: the page is too large for the pixel limit. */
const MIN_OCR_DPI = 72;

/**
 * The OCR resolution for a page: the one configured, or lower where the page would go over the
 * pixel limit at it (a poster, a drawing sheet), down to 72 dpi.
 */
function fitDpi(page: PDFPageProxy, dpi: number, maxPixels: number): number {
  const vp = page.getViewport({ scale: 1 });
  const pixels = (vp.width * vp.height * dpi * dpi) / (72 * 72);
  if (pixels <= maxPixels) return dpi;
  return Math.max(MIN_OCR_DPI, Math.floor(dpi * Math.sqrt(maxPixels / pixels) * 0.99));
}

/** Characters of glyphs without a usable Unicode mapping: U+FFFD, control and private-use characters. */
const UNMAPPED = /[\u0000-\u0008\u000e-\u001f\ufffd\ue000-\uf8ff]|[\u{f0000}-\u{10ffff}]/gu;

/**
 * A text layer of mostly U+FFFD, control or private-use characters: glyphs without a Unicode
 * mapping (seen: the body text of pdf.js's TAMReview, whose fonts map to control codes). Such
 * pages are read from their pixels instead.
 */
function unusableText(text: PageText): boolean {
  if (text.chars < OCR_MAX_CHARS) return false;
  let bad = 0;
  for (const r of text.runs) bad += r.text.match(UNMAPPED)?.length ?? 0;
  return bad >= 0.5 * text.chars;
}

/**
 * A page whose text layer covers only part of what is printed: an image over half the page with
 * hardly any text-layer words on it (a scan with a typed header, a stamp, a Bates number).
 */
function uncoveredScan(f: PageFacts, text: PageText): boolean {
  const images = f.graphics?.images ?? [];
  const pageArea = f.layout.width * f.layout.height;
  const big = images.filter((b) => area(b) >= 0.5 * pageArea);
  if (!big.length) return false;
  const words = pageWords(text.runs);
  return big.some((img) => {
    const covered = words.filter((w) => centerInside(w.bbox, [img])).reduce((s, w) => s + area(w.bbox), 0);
    return covered < 0.03 * area(img);
  });
}

/** The box of an upright text run (page points). */
function runBox(r: TextRun): BBox {
  if (r.angle === 0) return { x0: r.x, x1: r.x + r.width, y0: r.y - r.ascent * r.size, y1: r.y - r.descent * r.size };
  // Turned text: the box around the run's four corners.
  const c = Math.cos((r.angle * Math.PI) / 180);
  const sn = Math.sin((r.angle * Math.PI) / 180);
  const pts = [
    [0, -r.ascent * r.size],
    [r.width, -r.ascent * r.size],
    [0, -r.descent * r.size],
    [r.width, -r.descent * r.size],
  ].map(([u, v]) => [r.x + u! * c - v! * sn, r.y + u! * sn + v! * c]);
  return { x0: Math.min(...pts.map((p) => p[0]!)), y0: Math.min(...pts.map((p) => p[1]!)), x1: Math.max(...pts.map((p) => p[0]!)), y1: Math.max(...pts.map((p) => p[1]!)) };
}

/** A box on a page of width x height points, in the frame of the page turned `q` degrees clockwise. */
function turnBox(b: BBox, q: 0 | 90 | 180 | 270, width: number, height: number): BBox {
  switch (q) {
    case 0:
      return b;
    case 90:
      return { x0: r2(height - b.y1), y0: b.x0, x1: r2(height - b.y0), y1: b.x1 };
    case 180:
      return { x0: r2(width - b.x1), y0: r2(height - b.y1), x1: r2(width - b.x0), y1: r2(height - b.y0) };
    case 270:
      return { x0: b.y0, y0: r2(width - b.x1), x1: b.y1, y1: r2(width - b.x0) };
  }
}

/**
 * A region that OCR found to be text: the text and table blocks read on it cover a third of it,
 * or it spans half the page and holds some (the image of a scanned page is its text, not a figure).
 */
function mostlyText(b: BBox, blocks: RawBlock[], pageArea: number): boolean {
  const covered = blocks.filter((x) => x.kind !== 'figure').reduce((s, x) => s + overlapArea(b, x.bbox), 0);
  return covered >= 0.3 * area(b) || (covered > 0 && area(b) >= 0.5 * pageArea);
}

/**
 * Whether a rendered page has ink that its text layer does not explain: more than 20 square points
 * of it outside the text runs' boxes (grown by 2 points), sampled on every other pixel.
 */
function uncoveredInk(img: RenderedPage, pxPerPt: number, text: PageText): boolean {
  // Whole runs, not words: a run's words are placed by an even share of its width each.
  const boxes = text.runs.map((r) => runBox(r)).map((b) => ({ x0: (b.x0 - 2) * pxPerPt, y0: (b.y0 - 2) * pxPerPt, x1: (b.x1 + 2) * pxPerPt, y1: (b.y1 + 2) * pxPerPt }));
  const { data, width, height } = img;
  const need = (20 * pxPerPt * pxPerPt) / 4;
  let count = 0;
  for (let y = 0; y < height; y += 2) {
    let i = y * width * 4;
    for (let x = 0; x < width; x += 2, i += 8) {
      if (data[i]! < 224 || data[i + 1]! < 224 || data[i + 2]! < 224) {
        if (boxes.some((b) => x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1)) continue;
        if (++count > need) return true;
      }
    }
  }
  return false;
}

/**
 * OCR runs that a text layer does not already have: a run is dropped when it lies mostly on a
 * text-layer run, or when OCR is unsure of it (a merged page's image may be a photo).
 */
function newWords(ocr: TextRun[], layer: BBox[]): TextRun[] {
  return ocr.filter((r) => {
    if ((r.conf ?? 1) < 0.4) return false;
    const b = runBox(r);
    const a = area(b);
    return !layer.some((w) => overlapArea(b, w) > 0.3 * a);
  });
}

const overlapArea = (a: BBox, b: BBox) => Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));

function normRotation(r: number): 0 | 90 | 180 | 270 {
  const v = (((r % 360) + 360) % 360) as 0 | 90 | 180 | 270;
  return [0, 90, 180, 270].includes(v) ? v : 0;
}

const area = (b: BBox) => (b.x1 - b.x0) * (b.y1 - b.y0);

/** Rendered pages being encoded and stored while the next pages are read. */
const STORE_AHEAD = 2;

/** Fewer characters than this in a page's text layer leave the page to OCR. */
const OCR_MAX_CHARS = 16;

/**
 * A page with (almost) no text layer must be read by OCR when something is drawn on it: ink on
 * its rendering where it was rendered first, otherwise what its operator list paints (scans,
 * text drawn as outlines, charts). A blank page needs nothing.
 */
function isImageOnly(f: PageFacts): boolean {
  return f.chars < OCR_MAX_CHARS && (f.ink ? f.ink.pixels > 0 : f.drawn);
}

interface Ink {
  /** Inked pixels counted (on every other row and column). */
  pixels: number;
  /** Where the ink is, in page points (the rendering's orientation is the layout's). */
  bbox?: BBox;
}

/**
 * Ink on a rendered page: pixels with a channel darker than a scan's paper, sampled on every
 * other row and column (a few ms at 150 dpi), and the box around them.
 */
function inkOf(img: RenderedPage, pxPerPt: number): Ink {
  const { data, width, height } = img;
  let pixels = 0;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y += 2) {
    let i = y * width * 4;
    for (let x = 0; x < width; x += 2, i += 8) {
      if (data[i]! < 224 || data[i + 1]! < 224 || data[i + 2]! < 224) {
        pixels++;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  // A few specks are dust, not content.
  if (pixels < 50) return { pixels: 0 };
  const pt = (v: number) => r2(v / pxPerPt);
  return { pixels, bbox: { x0: pt(x0), y0: pt(y0), x1: pt(Math.min(width, x1 + 2)), y1: pt(Math.min(height, y1 + 2)) } };
}

/**
 * Whether a page's operator list is worth reading (it costs about as much again as the text):
 * always on the first page; on a page that uses a font no earlier operator list has loaded (font
 * weight is only known from there, and pdf.js shares fonts across the document); on a page with
 * little text (a scan, a figure, a chart); and on a page whose text lines up like a table (its
 * rules decide the grid).
 */
function wantsGraphics(policy: ExtractOptions['graphics'], n: number, page: PDFPageProxy, fontNames: Set<string>, chars: number, lines: () => PageLines): boolean {
  if (policy !== 'auto') return true;
  if (n === 1 || chars < 200) return true;
  for (const f of fontNames) if (!page.commonObjs.has(f)) return true;
  return looksTabular(pageWords(lines()));
}

interface PageText {
  vp: ReturnType<PDFPageProxy['getViewport']>;
  runs: (TextRun & { font: string })[];
  fontNames: Set<string>;
  chars: number;
}

/** A page's text layer as runs in page points (top-left origin, /Rotate applied). */
async function readText(page: PDFPageProxy): Promise<PageText> {
  const vp = page.getViewport({ scale: 1 });
  const tc = await page.getTextContent();
  const runs: (TextRun & { font: string })[] = [];
  const fontNames = new Set<string>();
  let chars = 0;
  for (const it of tc.items) {
    if (!('str' in it) || !it.str || !it.str.trim()) continue;
    const m = mul(vp.transform, it.transform);
    const style = tc.styles[it.fontName];
    const size = Math.hypot(m[2]!, m[3]!);
    if (!(size > 0)) continue;
    const angle = (Math.atan2(m[1]!, m[0]!) * 180) / Math.PI;
    const ascent = clamp(style?.ascent ?? 0.8, 0.5, 1.1, 0.8);
    const descent = clamp(style?.descent ?? -0.2, -0.5, 0, -0.2);
    runs.push({
      text: it.str,
      x: m[4]!,
      y: m[5]!,
      width: style?.vertical ? it.height : it.width,
      size,
      angle: style?.vertical ? angle + 90 : angle,
      ascent,
      descent,
      bold: false,
      font: it.fontName,
    });
    fontNames.add(it.fontName);
    chars += it.str.replace(/\s+/g, '').length;
  }
  return { vp, runs, fontNames, chars };
}

async function readPage(page: PDFPageProxy, n: number, opts: Pick<ExtractOptions, 'tables' | 'graphics'>, text: PageText, ink?: Ink): Promise<PageFacts> {
  const withTables = opts.tables !== false;
  const { vp, runs, fontNames, chars } = text;
  // A font's weight is known once an operator list (of this page or an earlier one) loaded it.
  const fonts = new Map<string, boolean>();
  const isBold = (fontName: string): boolean => {
    let b = fonts.get(fontName);
    if (b === undefined) {
      if (!page.commonObjs.has(fontName)) return false;
      const f = page.commonObjs.get(fontName) as { name?: string; bold?: boolean; black?: boolean } | null;
      b = !!(f && (f.bold || f.black || BOLD_NAME.test(f.name ?? '')));
      fonts.set(fontName, b);
    }
    return b;
  };
  /** Sets each run's weight from what is known now; true when one changed. */
  const weigh = (): boolean => {
    let changed = false;
    for (const r of runs) {
      const b = isBold(r.font);
      if (b !== r.bold) (r.bold = b), (changed = true);
    }
    return changed;
  };
  // Words and lines are built once, with the weights known now, unless this page's operator
  // list brings new fonts (and weights).
  weigh();
  let built: PageLines | undefined;
  const lines = () => (built ??= pageLines(runs));
  // The operator list gives the real font names (weight), painted images and vector rules.
  // A page rendered first (ink known) has no text worth the weights and no rules worth a table.
  const read = !ink && wantsGraphics(opts.graphics ?? 'always', n, page, fontNames, chars, lines);
  const ops = read ? await page.getOperatorList() : { fnArray: [], argsArray: [] };
  if (read && weigh()) built = undefined;
  const graphics = pageGraphics(ops, vp.transform, vp.width, vp.height);
  const { blocks, tables } = textBlocks(runs, graphics.segments, vp.width, n, { tables: opts.tables, built: withTables ? lines() : built });
  // Shading inside a table (striped rows, header fills) belongs to the table.
  const tableBoxes = tables.map((t) => t.table.bbox);
  const figures = figureRegions(graphics, blocks, vp.width * vp.height);
  // Without an operator list, a rendered page's ink is its figure (a scan: the page's image).
  if (ink?.bbox && area(ink.bbox) >= 0.01 * vp.width * vp.height) figures.push(ink.bbox);
  for (const bbox of figures.filter((b) => !centerInside(b, tableBoxes))) {
    blocks.push(figureBlock(bbox));
  }
  return {
    layout: { number: n, width: vp.width, height: vp.height, blocks },
    rotation: normRotation(page.rotate),
    chars,
    drawn: graphics.images.length > 0 || graphics.segments.length > 0 || graphics.fills.some((x) => !isWhite(x.fill)),
    ...(ink ? { ink } : {}),
    graphics,
    tables,
  };
}

/**
 * Figures: painted images, and groups of filled shapes (charts, diagrams) that carry no running
 * text. Overlapping candidates merge into one region.
 */
function figureRegions(g: PageGraphics, text: RawBlock[], pageArea: number): BBox[] {
  const cands: { bbox: BBox; image: boolean }[] = [
    ...g.images.filter((b) => area(b) >= 0.01 * pageArea).map((bbox) => ({ bbox, image: true })),
    ...g.fills.filter((f) => !isWhite(f.fill) && area(f.bbox) >= 0.01 * pageArea && area(f.bbox) <= 0.9 * pageArea).map((f) => ({ bbox: f.bbox, image: false })),
  ];
  const touch = (a: BBox, b: BBox) => a.x0 <= b.x1 + 2 && b.x0 <= a.x1 + 2 && a.y0 <= b.y1 + 2 && b.y0 <= a.y1 + 2;
  const regions: { bbox: BBox; image: boolean }[] = [];
  for (const c of cands) {
    let merged = { ...c };
    for (let i = regions.length - 1; i >= 0; i--) {
      if (touch(regions[i]!.bbox, merged.bbox)) {
        merged = { bbox: unionBoxes([regions[i]!.bbox, merged.bbox]), image: regions[i]!.image || merged.image };
        regions.splice(i, 1);
      }
    }
    regions.push(merged);
  }
  const inside = (b: BBox, r: BBox) => {
    const cx = (b.x0 + b.x1) / 2;
    const cy = (b.y0 + b.y1) / 2;
    return cx >= r.x0 && cx <= r.x1 && cy >= r.y0 && cy <= r.y1;
  };
  // A shaded box around paragraphs or a table is a background, not a figure.
  return regions.filter((r) => r.image || !text.some((t) => inside(t.bbox, r.bbox) && t.lines.length > 2)).map((r) => r.bbox);
}

function clamp(v: number, lo: number, hi: number, def: number): number {
  if (!Number.isFinite(v) || v === 0) return def;
  return Math.min(hi, Math.max(lo, v));
}

async function readMetadata(doc: Awaited<ReturnType<typeof openPdf>>): Promise<{ metadata: Record<string, string>; title?: string }> {
  const metadata: Record<string, string> = {};
  let title: string | undefined;
  try {
    const md = await doc.getMetadata();
    const info = (md.info ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(info)) {
      if (typeof v === 'string' && v.trim()) metadata[k] = v.trim().slice(0, 1000);
      else if (typeof v === 'number' || typeof v === 'boolean') metadata[k] = String(v);
    }
    if (metadata.Title) title = metadata.Title;
  } catch {
    // Damaged metadata is not worth failing a readable document for.
  }
  metadata.pages = String(doc.numPages);
  return { metadata, title };
}
