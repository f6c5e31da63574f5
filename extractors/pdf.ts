// The PDF stage: text layer (pdf.js text content with positions), fonts and images (operator
// list), layout, and rasterization of the pages that need it.
import { Table as TableSchema, tableGrid, type Cell, type Page, type Table } from '../schemas/document.ts';
import { FolioError } from '../schemas/errors.ts';
import type { BBox } from '../schemas/document.ts';
import { pageGraphics, isWhite, type PageGraphics } from './graphics.ts';
import { centerInside, classifyDocument, layoutRuns, pageLines, pageWords, r2, roundBox, toBlocks, unionBoxes, type PageLayout, type PageLines, type RawBlock, type TextRun } from './layout.ts';
import { assembleTables, detectTables, looksTabular, type AssembledTable, type PageTable, type PlacedTable } from './tables.ts';
import { parseColumn } from './values.ts';
import { mapPdfError, openPdf, pdfjs, PDFJS_VERSION, type PDFPageProxy } from './pdfjs.ts';
import { renderPage, storeRendered, type RenderedPage } from './raster.ts';
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
  tables: { key: string; table: PageTable }[];
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
    // A page's decoded images are dropped one page late: an image the next page shows too (a
    // scan repeated, a logo) is then copied by pdf.js instead of decoded again.
    let previous: PDFPageProxy | undefined;
    const storing: Promise<void>[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      if (opts.signal?.aborted) throw new FolioError('timeout', `time limit reached at page ${n} of ${doc.numPages}`);
      let page: PDFPageProxy | undefined;
      try {
        page = await doc.getPage(n);
        const text = await readText(page);
        // A page with (almost) no text layer that is going to be rendered anyway is rendered
        // first: its pixels tell whether there is ink to read by OCR, and where. That spares the
        // operator list, the costly way to learn the same (it decodes every image of the page).
        const shown = page;
        const render = () => renderPage(shown, { dpi: opts.dpi, maxPixels: opts.maxPixels, signal: opts.signal });
        let raw: RenderedPage | undefined;
        let ink: Ink | undefined;
        const renders = opts.storeImage && opts.render !== 'none';
        if (renders && text.chars < OCR_MAX_CHARS && (opts.graphics ?? 'always') === 'auto') {
          raw = await render();
          ink = inkOf(raw, raw.width / text.vp.width);
        }
        const f = await readPage(page, n, opts, text, ink);
        const needsOcr = isImageOnly(f);
        const want = opts.render === 'all' || (opts.render === 'needs-ocr' && needsOcr);
        if (want && opts.storeImage) {
          raw ??= await render();
          // Encoding and writing run on sharp's and libuv's threads while this one reads on;
          // a store that fails leaves the page without an image, and says so.
          const slot = facts.length;
          storing.push(
            storeRendered(raw, { thumbnailWidth: opts.thumbnailWidth, storeImage: opts.storeImage }).then(
              (stored) => void (rendered[slot] = stored),
              (err: unknown) => void warnings.push({ code: 'image_not_stored', message: `page ${n}: ${(err as Error).message}`, page: n }),
            ),
          );
        }
        facts.push(f);
        rendered.push({});
        // A few pages' pixels at a time, not a whole scanned book's.
        if (storing.length >= STORE_AHEAD) await storing.shift();
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
          drawn: false,
          tables: [],
        });
        rendered.push({});
      } finally {
        previous?.cleanup();
        previous = page;
      }
    }
    previous?.cleanup();
    await Promise.all(storing);
    if (doc.numPages > 0 && failedPages === doc.numPages) {
      throw new FolioError('corrupt_pdf', `no page of the PDF could be read (${warnings[0]?.message ?? ''})`);
    }
    const ordered = classifyDocument(facts.map((f) => f.layout));
    const tables = documentTables(facts, ordered, warnings);
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
    return { pages, tables, metadata, title: title ?? titleBlock?.text.replace(/\s+/g, ' '), warnings };
  } finally {
    await doc.destroy();
  }
}

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
  const found = withTables ? detectTables(pageWords(lines()), graphics.segments, vp.width) : [];
  const tables = found.map((table, k) => ({ key: `p${n}-t${k + 1}`, table }));
  const blocks: RawBlock[] = layoutRuns(runs, found.map((t) => t.bbox), built);
  for (const { key, table } of tables) {
    const text = tableGrid(table.rows, table.cols, table.cells).map((r) => r.join('\t')).join('\n');
    blocks.push({ text, bbox: roundBox(table.bbox), lines: [], angle: table.angle, size: 0, bold: false, chars: 0, kind: 'table', ref: key });
  }
  // Shading inside a table (striped rows, header fills) belongs to the table.
  const tableBoxes = found.map((t) => t.bbox);
  const figures = figureRegions(graphics, blocks, vp.width * vp.height);
  // Without an operator list, a rendered page's ink is its figure (a scan: the page's image).
  if (ink?.bbox && area(ink.bbox) >= 0.01 * vp.width * vp.height) figures.push(ink.bbox);
  for (const bbox of figures.filter((b) => !centerInside(b, tableBoxes))) {
    blocks.push({ text: '', bbox, lines: [], angle: 0, size: 0, bold: false, chars: 0, kind: 'figure' });
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
 * Document tables from page tables: merged across page breaks, header rows found, cell values
 * typed; each table block learns the id of the table it shows.
 */
function documentTables(facts: PageFacts[], ordered: ReturnType<typeof classifyDocument>, warnings: Extraction['warnings']): Table[] {
  const placed: PlacedTable[] = [];
  facts.forEach((f, i) => {
    const body = ordered[i]!.filter((x) => !['page_header', 'page_footer', 'footnote'].includes(x.cls.type));
    for (const { key, table } of f.tables) {
      const at = body.findIndex((x) => x.block.ref === key);
      placed.push({ key, page: f.layout.number, table, first: at === 0, last: at === body.length - 1 });
    }
  });
  // Tables in reading order, so that a continuation follows the table it continues.
  const orderOf = new Map(ordered.flat().map((x, k) => [x.block.ref, k] as const));
  placed.sort((a, b) => (orderOf.get(a.key) ?? 0) - (orderOf.get(b.key) ?? 0));
  const assembled = assembleTables(placed);
  // A table the detector got wrong is dropped with a warning; it never costs the document.
  const tables: Table[] = [];
  for (const a of assembled) {
    const t = toTable(a);
    const problem = tableProblem(t);
    if (problem) {
      warnings.push({ code: 'table_dropped', message: `table on page ${a.regions[0]!.page} dropped: ${problem}`, page: a.regions[0]!.page });
      a.keys.length = 0;
    } else tables.push(t);
  }
  const idOf = new Map(assembled.flatMap((t) => t.keys.map((k) => [k, t.id] as const)));
  for (const list of ordered) {
    for (const x of list) {
      if (!x.block.ref) continue;
      x.block.tableId = idOf.get(x.block.ref);
      // The words of a dropped table stay on the page as a plain block.
      if (!x.block.tableId) x.block.kind = undefined;
    }
  }
  return tables;
}

/** Why a table would fail the Document schema (checked alone, so one table cannot sink the rest). */
function tableProblem(t: Table): string | undefined {
  const parsed = TableSchema.safeParse(t);
  if (!parsed.success) return parsed.error.issues[0]?.message;
  const owner = new Set<number>();
  for (const c of t.cells) {
    if (c.row + c.rowSpan > t.rowCount || c.col + c.colSpan > t.colCount) return `cell (${c.row},${c.col}) outside the grid`;
    for (let r = c.row; r < c.row + c.rowSpan; r++) {
      for (let k = c.col; k < c.col + c.colSpan; k++) {
        if (owner.has(r * t.colCount + k)) return `cells overlap at (${r},${k})`;
        owner.add(r * t.colCount + k);
      }
    }
  }
  return undefined;
}

function toTable(t: AssembledTable): Table {
  const first = t.regions[0]!;
  // Values are read a column at a time, so that a column settles how its dates are written.
  const values = new Map<(typeof t.cells)[number], Cell['value']>();
  for (let col = 0; col < t.cols; col++) {
    const body = t.cells.filter((c) => c.col === col && c.row >= t.headerRows && c.text);
    parseColumn(body.map((c) => c.text)).forEach((v, i) => values.set(body[i]!, v));
  }
  const cells: Cell[] = t.cells.map((c) => {
    const header = c.row < t.headerRows;
    const value = values.get(c);
    return {
      row: c.row,
      col: c.col,
      rowSpan: c.rowSpan,
      colSpan: c.colSpan,
      text: c.text,
      ...(value ? { value } : {}),
      header,
      page: c.page,
      bbox: roundBox(c.bbox),
    };
  });
  return {
    id: t.id,
    method: t.method,
    rowCount: t.rows,
    colCount: t.cols,
    headerRows: t.headerRows,
    regions: t.regions.map((r) => ({ page: r.page, bbox: roundBox(r.bbox) })),
    rowPages: t.rowPages,
    cells,
    rows: tableGrid(t.rows, t.cols, t.cells),
    provenance: { page: first.page, bbox: roundBox(first.bbox), engine: 'pdf-text', engineVersion: PDF_ENGINE_VERSION },
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
