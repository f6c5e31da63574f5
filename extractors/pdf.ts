// The PDF stage: text layer (pdf.js text content with positions), fonts and images (operator
// list), layout, and rasterization of the pages that need it.
import type { Page } from '../schemas/document.ts';
import { FolioError } from '../schemas/errors.ts';
import { classifyDocument, layoutRuns, toBlocks, type PageLayout, type RawBlock, type TextRun } from './layout.ts';
import { mapPdfError, openPdf, pdfjs, PDFJS_VERSION, type PDFPageProxy } from './pdfjs.ts';
import { renderPage, storeRendered } from './raster.ts';
import type { ExtractOptions, Extraction } from './types.ts';

export const PDF_ENGINE_VERSION = `pdfjs-dist@${PDFJS_VERSION}`;

type Matrix = number[];
const mul = (m1: Matrix, m2: Matrix): Matrix => pdfjs.Util.transform(m1, m2) as Matrix;

const BOLD_NAME = /bold|black|heavy|semibold|demibold|demi\b|-medi\b|medium|extrab|ultrab|[-,]bd\b|\bbd\b|-b\b/i;

interface PageFacts {
  layout: PageLayout;
  rotation: 0 | 90 | 180 | 270;
  chars: number;
  imageCoverage: number;
}

/** Extract a PDF into pages of classified, ordered blocks. */
export async function extractPdf(bytes: Uint8Array, opts: ExtractOptions): Promise<Extraction> {
  const doc = await openPdf(bytes, { password: opts.password });
  try {
    if (doc.numPages > opts.maxPages) {
      throw new FolioError('too_many_pages', `the PDF has ${doc.numPages} pages; the limit is ${opts.maxPages} (FOLIO_MAX_PAGES)`);
    }
    const warnings: Extraction['warnings'] = [];
    const facts: PageFacts[] = [];
    const rendered: { image?: string; thumbnail?: string }[] = [];
    let failedPages = 0;
    for (let n = 1; n <= doc.numPages; n++) {
      if (opts.signal?.aborted) throw new FolioError('timeout', `time limit reached at page ${n} of ${doc.numPages}`);
      let page: PDFPageProxy | undefined;
      try {
        page = await doc.getPage(n);
        const f = await readPage(page, n);
        facts.push(f);
        const needsOcr = isImageOnly(f);
        const want = opts.render === 'all' || (opts.render === 'needs-ocr' && needsOcr);
        if (want && opts.storeImage) {
          const raw = await renderPage(page, { dpi: opts.dpi, maxPixels: opts.maxPixels });
          rendered.push(await storeRendered(raw, { thumbnailWidth: opts.thumbnailWidth, storeImage: opts.storeImage }));
        } else rendered.push({});
      } catch (err) {
        if (err instanceof FolioError && err.code !== 'corrupt_pdf' && err.code !== 'internal') throw err;
        failedPages++;
        const e = mapPdfError(err);
        warnings.push({ code: 'page_unreadable', message: `page ${n}: ${e.message}`, page: n });
        const vp = page?.getViewport({ scale: 1 });
        facts.push({
          layout: { number: n, width: vp?.width ?? 612, height: vp?.height ?? 792, blocks: [] },
          rotation: normRotation(page?.rotate ?? 0),
          chars: 0,
          imageCoverage: 0,
        });
        rendered.push({});
      } finally {
        page?.cleanup();
      }
    }
    if (doc.numPages > 0 && failedPages === doc.numPages) {
      throw new FolioError('corrupt_pdf', `no page of the PDF could be read (${warnings[0]?.message ?? ''})`);
    }
    const ordered = classifyDocument(facts.map((f) => f.layout));
    const blocks = toBlocks(ordered, facts.map((f) => f.layout.number), { engine: 'pdf-text', engineVersion: PDF_ENGINE_VERSION });
    const pages: Page[] = facts.map((f, i) => ({
      number: f.layout.number,
      width: r2(f.layout.width),
      height: r2(f.layout.height),
      rotation: f.rotation,
      needsOcr: isImageOnly(f),
      ...(rendered[i]!.image ? { image: rendered[i]!.image, thumbnail: rendered[i]!.thumbnail } : {}),
      blocks: blocks[i]!,
    }));
    const { metadata, title } = await readMetadata(doc);
    const titleBlock = pages.flatMap((p) => p.blocks).find((b) => b.type === 'title');
    return { pages, metadata, title: title ?? titleBlock?.text.replace(/\s+/g, ' '), warnings };
  } finally {
    await doc.destroy();
  }
}

const r2 = (v: number) => Math.round(v * 100) / 100;

function normRotation(r: number): 0 | 90 | 180 | 270 {
  const v = (((r % 360) + 360) % 360) as 0 | 90 | 180 | 270;
  return [0, 90, 180, 270].includes(v) ? v : 0;
}

/** A page whose content is an image with (almost) no text layer must be read by OCR. */
function isImageOnly(f: PageFacts): boolean {
  return f.chars < 16 && f.imageCoverage > 0.2;
}

async function readPage(page: PDFPageProxy, n: number): Promise<PageFacts> {
  const vp = page.getViewport({ scale: 1 });
  const tc = await page.getTextContent();
  // The operator list gives the real font names (weight) and where images are painted.
  const ops = await page.getOperatorList();
  const fonts = new Map<string, boolean>();
  const isBold = (fontName: string): boolean => {
    let b = fonts.get(fontName);
    if (b === undefined) {
      b = false;
      if (page.commonObjs.has(fontName)) {
        const f = page.commonObjs.get(fontName) as { name?: string; bold?: boolean; black?: boolean } | null;
        b = !!(f && (f.bold || f.black || BOLD_NAME.test(f.name ?? '')));
      }
      fonts.set(fontName, b);
    }
    return b;
  };
  const runs: TextRun[] = [];
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
      bold: isBold(it.fontName),
    });
    chars += it.str.replace(/\s+/g, '').length;
  }
  const blocks: RawBlock[] = layoutRuns(runs);
  const figures = imageBoxes(ops, vp.transform, vp.width, vp.height);
  let covered = 0;
  for (const b of figures) {
    covered += (b.x1 - b.x0) * (b.y1 - b.y0);
    if ((b.x1 - b.x0) * (b.y1 - b.y0) >= 0.01 * vp.width * vp.height) {
      blocks.push({ text: '', bbox: b, lines: [], angle: 0, size: 0, bold: false, chars: 0, kind: 'figure' });
    }
  }
  return {
    layout: { number: n, width: vp.width, height: vp.height, blocks },
    rotation: normRotation(page.rotate),
    chars,
    imageCoverage: Math.min(1, covered / (vp.width * vp.height)),
  };
}

function clamp(v: number, lo: number, hi: number, def: number): number {
  if (!Number.isFinite(v) || v === 0) return def;
  return Math.min(hi, Math.max(lo, v));
}

/** Boxes (display space, clipped to the page) of every image painted on the page. */
function imageBoxes(
  ops: { fnArray: number[]; argsArray: unknown[] },
  view: Matrix,
  width: number,
  height: number,
): { x0: number; y0: number; x1: number; y1: number }[] {
  const O = pdfjs.OPS;
  const paint = new Set<number>([O.paintImageXObject, O.paintInlineImageXObject, O.paintImageMaskXObject, O.paintImageXObjectRepeat, O.paintInlineImageXObjectGroup, O.paintImageMaskXObjectGroup].filter((x) => typeof x === 'number'));
  let ctm: Matrix = [1, 0, 0, 1, 0, 0];
  const stack: Matrix[] = [];
  const out: { x0: number; y0: number; x1: number; y1: number }[] = [];
  for (let i = 0; i < ops.fnArray.length; i++) {
    const fn = ops.fnArray[i]!;
    const args = ops.argsArray[i] as unknown[] | null;
    if (fn === O.save) stack.push(ctm);
    else if (fn === O.restore) ctm = stack.pop() ?? ctm;
    else if (fn === O.transform && args) ctm = mul(ctm, args as Matrix);
    else if (fn === O.paintFormXObjectBegin) {
      stack.push(ctm);
      const m = args?.[0] as Matrix | null | undefined;
      if (m && m.length === 6) ctm = mul(ctm, Array.from(m));
    } else if (fn === O.paintFormXObjectEnd) ctm = stack.pop() ?? ctm;
    else if (paint.has(fn)) {
      const m = mul(view, ctm);
      const pts = [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ].map(([x, y]) => [m[0]! * x! + m[2]! * y! + m[4]!, m[1]! * x! + m[3]! * y! + m[5]!]);
      const xs = pts.map((p) => p[0]!);
      const ys = pts.map((p) => p[1]!);
      const b = {
        x0: r2(Math.max(0, Math.min(...xs))),
        y0: r2(Math.max(0, Math.min(...ys))),
        x1: r2(Math.min(width, Math.max(...xs))),
        y1: r2(Math.min(height, Math.max(...ys))),
      };
      if (b.x1 > b.x0 && b.y1 > b.y0) out.push(b);
    }
  }
  return out;
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
