// Reading a page image with an engine: prepare it (upright, straight, rules masked), read it,
// and turn the engine's words into the positioned text runs that layout.ts and tables.ts take,
// the same as a PDF text layer gives. A page that reads badly is tried the other ways up.
import sharp from 'sharp';
import type { BBox } from '../schemas/document.ts';
import type { Segment } from './graphics.ts';
import { figureBlock, textBlocks, type ReadPage } from './assemble.ts';
import type { TextRun } from './layout.ts';
import { preparePage, type PreparedPage, type Quarter } from './engines/prepare.ts';
import type { EngineInfo, EngineResult, PageEngine, PageImage } from './engines/types.ts';

export interface OcrFacts {
  rotation: Quarter;
  skew: number;
  /** Resolution the page was read at. */
  dpi: number;
  confidence: number;
  words: number;
}

export interface OcrRead {
  runs: TextRun[];
  segments: Segment[];
  /** Regions that are pictures, not text (barcodes), page points. */
  figures: BBox[];
  /** Page size in points, in the frame the page was read in (upright). */
  width: number;
  height: number;
  /** The upright page as the engine saw it, rules kept: the page image to store. */
  view: PageImage;
  facts: OcrFacts;
  engine: EngineInfo;
  timings: Record<string, number>;
}

/**
 * The most pixels a page is read at. Tesseract's wasm heap tops out at 2 GB and needs several
 * copies of a page: bigger pages (a drawing sheet at 600 dpi) are read scaled down to this.
 */
export const OCR_MAX_PIXELS = 40_000_000;

/** Below this mean confidence a page may be upside down or sideways: the other turns are tried. */
const LOW_CONFIDENCE = 0.6;

export interface OcrOptions {
  signal?: AbortSignal;
  /** Read the page in this frame (no turning it upright): a page whose text layer is kept beside OCR. */
  rotation?: Quarter;
  deskew?: boolean;
}

export async function ocrPage(input: PageImage, engine: PageEngine, opts: OcrOptions = {}): Promise<OcrRead> {
  const t0 = performance.now();
  const img = await withinPixels(input, OCR_MAX_PIXELS);
  const fixed = opts.rotation !== undefined;
  let prep = await preparePage(img, { rotation: opts.rotation ?? 0, deskew: opts.deskew });
  const t1 = performance.now();
  let res = await engine.read(prep.image, 'text', opts);
  const timings: Record<string, number> = { prepare: t1 - t0, read: performance.now() - t1 };
  // A page scanned sideways reads as columns of tall words (Tesseract reads vertical lines too,
  // in the page's frame); one upside down reads as noise. Either is tried the other ways.
  const sideways = !fixed && tallShare(res) > 0.5;
  if (!fixed && (sideways || res.confidence < LOW_CONFIDENCE)) {
    const t2 = performance.now();
    const better = await betterTurn(img, sideways ? [90, 270] : [0, 90, 180, 270], engine, opts.signal);
    timings.orient = performance.now() - t2;
    if (better) {
      const t3 = performance.now();
      const again = await preparePage(img, { rotation: better, deskew: opts.deskew });
      const res2 = await engine.read(again.image, 'text', opts);
      timings.reread = performance.now() - t3;
      // Sideways text read in the page's frame may score well, but its boxes are in the wrong frame.
      if (textScore(res2) > (sideways ? 0.7 : 1) * textScore(res)) [prep, res] = [again, res2];
    }
  }
  return {
    runs: toRuns(res),
    segments: prep.segments,
    figures: prep.figures,
    width: prep.width,
    height: prep.height,
    view: prep.view,
    facts: {
      rotation: prep.rotation,
      skew: prep.skew,
      dpi: Math.round(img.scale * 72),
      confidence: Math.round(res.confidence * 1000) / 1000,
      words: res.lines.reduce((s, l) => s + l.words.length, 0),
    },
    engine: engine.info,
    timings,
  };
}

/** The image scaled down (and its scale with it) when it has more than `max` pixels. */
async function withinPixels(img: PageImage, max: number): Promise<PageImage> {
  if (img.width * img.height <= max) return img;
  const f = Math.sqrt(max / (img.width * img.height));
  const width = Math.max(1, Math.floor(img.width * f));
  const out = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels }, limitInputPixels: false })
    .resize({ width })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: out.data, width: out.info.width, height: out.info.height, channels: out.info.channels as PageImage['channels'], scale: img.scale * (out.info.width / img.width) };
}

/** Share of the characters (in words of three or more) read in boxes much taller than wide. */
function tallShare(r: EngineResult): number {
  let tall = 0;
  let all = 0;
  for (const l of r.lines) {
    for (const w of l.words) {
      if (w.text.length < 3) continue;
      all += w.text.length;
      if (w.bbox.y1 - w.bbox.y0 > 1.5 * (w.bbox.x1 - w.bbox.x0)) tall += w.text.length;
    }
  }
  return all ? tall / all : 0;
}

/**
 * The page an OCR read gives: tables and blocks laid out from its words (or from `runs`, when a
 * text layer's are merged in, with `segments` beside the rules found in the pixels), barcodes
 * as figures, every block's provenance the engine, and the page's `reader`.
 */
export function readPageOf(
  o: OcrRead,
  n: number,
  page: Pick<ReadPage['page'], 'rotation' | 'needsOcr'>,
  opts: { tables?: boolean; runs?: TextRun[]; segments?: Segment[]; merged?: boolean },
): ReadPage {
  const { blocks, tables } = textBlocks(opts.runs ?? o.runs, opts.segments ?? o.segments, o.width, n, { tables: opts.tables });
  blocks.push(...o.figures.map(figureBlock));
  const { name, version, model, modelSha256 } = o.engine;
  return {
    layout: { number: n, width: o.width, height: o.height, blocks },
    tables,
    prov: { engine: o.engine.kind, engineVersion: version, model },
    page: { ...page, engine: 'ocr', reader: { engine: name, engineVersion: version, model, modelSha256, ...o.facts, ...(opts.merged ? { merged: true } : {}) } },
  };
}

/** Confidently read text: characters of words read with confidence 0.5 or more, weighted by it. */
function textScore(r: EngineResult): number {
  let s = 0;
  for (const l of r.lines) for (const w of l.words) if (w.conf >= 0.5) s += w.conf * w.text.length;
  return s;
}

/**
 * The quarter turn, of `turns`, under which a sample of the page reads best (undefined for none):
 * the middle of the page (half its width and height) is read each way.
 */
async function betterTurn(img: PageImage, turns: Quarter[], engine: PageEngine, signal?: AbortSignal): Promise<Quarter | undefined> {
  const w = Math.max(1, Math.round(img.width / 2));
  const h = Math.max(1, Math.round(img.height / 2));
  const left = Math.round((img.width - w) / 2);
  const top = Math.round((img.height - h) / 2);
  const raw = { width: img.width, height: img.height, channels: img.channels };
  const sample = await sharp(img.data, { raw, limitInputPixels: false }).extract({ left, top, width: w, height: h }).raw().toBuffer({ resolveWithObject: true });
  let best: Quarter | undefined;
  let bestScore = 0;
  for (const q of turns) {
    if (signal?.aborted) break;
    const s = sample.info;
    const turned = q ? await sharp(sample.data, { raw: { width: s.width, height: s.height, channels: s.channels } }).rotate(q).raw().toBuffer({ resolveWithObject: true }) : sample;
    const r = await engine.read({ data: turned.data, width: turned.info.width, height: turned.info.height, channels: turned.info.channels as 1, scale: img.scale }, 'text');
    // Upright text in the sample reads in wide words: tall ones are still sideways.
    const score = textScore(r) * (1 - tallShare(r));
    if (score > bestScore * 1.3) [best, bestScore] = [q, score];
  }
  return best || undefined;
}

/**
 * Engine lines -> text runs: one run per word, on its line's baseline, with ascent and descent
 * set so that the run's box is the word's box as read. Words of symbols only that the engine
 * reads with confidence under 0.5 are left out.
 */
export function toRuns(res: EngineResult): TextRun[] {
  const runs: TextRun[] = [];
  for (const [n, line] of res.lines.entries()) {
    const size = Math.max(1, line.size);
    const bl = line.baseline;
    for (const w of line.words) {
      // Symbols the engine is unsure of are specks, rules and ornaments ("<<<", "~"), not text.
      if (w.conf < 0.5 && !/[\p{L}\p{N}]/u.test(w.text)) continue;
      const cx = (w.bbox.x0 + w.bbox.x1) / 2;
      let base = bl && bl.x1 > bl.x0 ? bl.y0 + ((bl.y1 - bl.y0) * (cx - bl.x0)) / (bl.x1 - bl.x0) : w.bbox.y1;
      // The baseline lies within the word's box (or at its bottom edge).
      base = Math.min(Math.max(base, w.bbox.y0 + 0.1), w.bbox.y1 + 0.5 * size);
      runs.push({
        text: w.text,
        x: w.bbox.x0,
        y: base,
        width: w.bbox.x1 - w.bbox.x0,
        size,
        angle: 0,
        ascent: (base - w.bbox.y0) / size,
        descent: (base - w.bbox.y1) / size,
        bold: false,
        conf: w.conf,
        whole: true,
        line: n,
      });
    }
  }
  return runs;
}

export type { PreparedPage };
