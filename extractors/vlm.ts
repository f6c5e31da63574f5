// Reading a page image with a vision-language model: the page scaled once to the model's pixel
// limit and encoded, the `page` task for its blocks (type, box, text, reading order), then each
// table block's crop through the `table` task and each figure's through the `chart` task. The
// model's boxes are turned into page points; its tables become the same page tables the text
// layer gives (so they land in table_rows), its charts go to Document.charts.
import sharp from 'sharp';
import { FolioError } from '../schemas/errors.ts';
import type { BBox, BlockType, Line } from '../schemas/document.ts';
import type { ChartAnswer, TableAnswer } from '../schemas/vlm.ts';
import type { ReadPage } from './assemble.ts';
import type { RawBlock } from './layout.ts';
import type { GridCell, PageTable } from './tables.ts';
import type { PageImage, RawPixels } from './engines/types.ts';
import type { ModelProfile, TaskImage, VlmClient } from './engines/vlm.ts';

/** A chart read from a figure, before it gets its id in the Document. */
export interface PageChart {
  bbox: BBox;
  answer: ChartAnswer;
  /** The model that read it (the page may have been read another way). */
  prov?: PageTable['prov'];
}

/** An image as the model gets it: scaled to its limit, encoded once. */
export interface ModelImage {
  image: TaskImage;
  /** The scaled pixels (crops of tables and figures are cut from these). */
  raw: RawPixels;
  /** Page size in points. */
  pageWidth: number;
  pageHeight: number;
}

/** The size an image is sent at: within the profile's pixels, sides a multiple of its patch grid. */
export function modelSize(width: number, height: number, p: Pick<ModelProfile, 'maxPixels' | 'multiple'>): { width: number; height: number } {
  const f = Math.min(1, Math.sqrt(p.maxPixels / (width * height)));
  const snap = (v: number) => Math.max(p.multiple, Math.floor((v * f) / p.multiple) * p.multiple);
  return { width: snap(width), height: snap(height) };
}

/** Raw pixels -> the model's size -> JPEG, with no PNG round trip. */
export async function toModelImage(img: PageImage, profile: ModelProfile): Promise<ModelImage> {
  const size = modelSize(img.width, img.height, profile);
  const out = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels }, limitInputPixels: false })
    .resize(size.width, size.height, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw: RawPixels = { data: out.data, width: out.info.width, height: out.info.height, channels: out.info.channels as RawPixels['channels'] };
  return { image: await encode(raw), raw, pageWidth: img.width / img.scale, pageHeight: img.height / img.scale };
}

async function encode(raw: RawPixels, crop?: { left: number; top: number; width: number; height: number }): Promise<TaskImage> {
  let s = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
  if (crop) s = s.extract(crop);
  return { data: await s.jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer(), mime: 'image/jpeg' };
}

/** A box the model gave -> page points (clamped to the page, corners in order). */
export function toPagePoints(b: { x0: number; y0: number; x1: number; y1: number }, m: Pick<ModelImage, 'pageWidth' | 'pageHeight'> & { raw: { width: number; height: number } }, p: ModelProfile): BBox {
  const [sx, sy] = p.coords === 'pixels' ? [m.pageWidth / m.raw.width, m.pageHeight / m.raw.height] : [m.pageWidth / 1000, m.pageHeight / 1000];
  const cx = (v: number) => Math.min(m.pageWidth, Math.max(0, v * sx));
  const cy = (v: number) => Math.min(m.pageHeight, Math.max(0, v * sy));
  const r = (v: number) => Math.round(v * 100) / 100;
  const [x0, x1] = [cx(b.x0), cx(b.x1)].sort((a, c) => a - c) as [number, number];
  const [y0, y1] = [cy(b.y0), cy(b.y1)].sort((a, c) => a - c) as [number, number];
  return { x0: r(x0), y0: r(y0), x1: r(x1), y1: r(y1) };
}

/** The crop of the scaled image under a box in page points (a few pixels of margin), or undefined when empty. */
function cropOf(b: BBox, m: ModelImage): { left: number; top: number; width: number; height: number } | undefined {
  const fx = m.raw.width / m.pageWidth;
  const fy = m.raw.height / m.pageHeight;
  const left = Math.max(0, Math.floor(b.x0 * fx) - 4);
  const top = Math.max(0, Math.floor(b.y0 * fy) - 4);
  const right = Math.min(m.raw.width, Math.ceil(b.x1 * fx) + 4);
  const bottom = Math.min(m.raw.height, Math.ceil(b.y1 * fy) + 4);
  if (right - left < 8 || bottom - top < 8) return undefined;
  return { left, top, width: right - left, height: bottom - top };
}

/** A block's text as lines and words with boxes shared out in its box (the model gives no word boxes). */
export function spreadLines(text: string, b: BBox): Line[] {
  const rows = text.split(/\n+/).map((l) => l.trim()).filter(Boolean);
  const h = (b.y1 - b.y0) / Math.max(1, rows.length);
  const r = (v: number) => Math.round(v * 100) / 100;
  return rows.map((row, i) => {
    const y0 = b.y0 + i * h;
    const words = row.split(/\s+/).filter(Boolean);
    const chars = words.reduce((s, w) => s + w.length + 1, -1);
    let x = b.x0;
    const per = (b.x1 - b.x0) / Math.max(1, chars);
    const placed = words.map((w) => {
      const x0 = x;
      x += (w.length + 1) * per;
      return { text: w, bbox: { x0: r(x0), y0: r(y0), x1: r(Math.min(b.x1, x0 + w.length * per)), y1: r(y0 + h) } };
    });
    return { text: words.join(' '), bbox: { x0: b.x0, y0: r(y0), x1: b.x1, y1: r(y0 + h) }, angle: 0, words: placed };
  });
}

/**
 * A table answer -> a page table inside `bbox`: cells clamped to the grid, overlapping cells
 * dropped (the first kept), cell boxes shared out over the grid (the model gives none).
 */
export function tableFromAnswer(a: TableAnswer, bbox: BBox): PageTable | undefined {
  const cells = a.cells.filter((c) => c.text.trim() || c.rowSpan > 1 || c.colSpan > 1);
  if (!cells.length) return undefined;
  const rows = Math.max(...cells.map((c) => c.row + 1));
  const cols = Math.max(...cells.map((c) => c.col + 1));
  const taken = new Set<number>();
  const kept: GridCell[] = [];
  const w = (bbox.x1 - bbox.x0) / cols;
  const h = (bbox.y1 - bbox.y0) / rows;
  const r = (v: number) => Math.round(v * 100) / 100;
  for (const c of [...cells].sort((x, y) => x.row - y.row || x.col - y.col)) {
    const rowSpan = Math.min(c.rowSpan, rows - c.row);
    const colSpan = Math.min(c.colSpan, cols - c.col);
    const at: number[] = [];
    for (let i = c.row; i < c.row + rowSpan; i++) for (let k = c.col; k < c.col + colSpan; k++) at.push(i * cols + k);
    if (at.some((x) => taken.has(x))) continue;
    at.forEach((x) => taken.add(x));
    kept.push({
      row: c.row,
      col: c.col,
      rowSpan,
      colSpan,
      text: c.text.replace(/\s+/g, ' ').trim(),
      bold: false,
      bbox: { x0: r(bbox.x0 + c.col * w), y0: r(bbox.y0 + c.row * h), x1: r(bbox.x0 + (c.col + colSpan) * w), y1: r(bbox.y0 + (c.row + rowSpan) * h) },
    });
  }
  const colEdges = Array.from({ length: cols + 1 }, (_, k) => r(bbox.x0 + k * w));
  return { method: 'vlm', bbox, rows, cols, cells: kept, colEdges, angle: 0, headerRows: Math.min(a.headerRows, rows), ...(a.caption.trim() ? { caption: a.caption.trim() } : {}) };
}

export interface VlmPageOptions {
  signal?: AbortSignal;
  tables?: boolean;
  /** Read figures as charts (default true). */
  charts?: boolean;
}

export interface VlmRead {
  read: ReadPage;
  charts: PageChart[];
  timings: Record<string, number>;
  /** Tokens the model read and wrote for the page. */
  tokens: { prompt: number; completion: number };
}

/** A page image read by the model: blocks from the `page` task, tables and charts from their crops. */
export async function vlmReadPage(img: PageImage, n: number, client: VlmClient, page: Pick<ReadPage['page'], 'rotation' | 'needsOcr'>, opts: VlmPageOptions = {}): Promise<VlmRead> {
  const t0 = performance.now();
  const m = await toModelImage(img, client.profile);
  const timings: Record<string, number> = { encode: performance.now() - t0, model: 0, queue: 0 };
  const tokens = { prompt: 0, completion: 0 };
  const took = (t: { request: number; queue: number; promptTokens?: number; completionTokens?: number }) => {
    timings.model! += t.request;
    timings.queue! += t.queue;
    tokens.prompt += t.promptTokens ?? 0;
    tokens.completion += t.completionTokens ?? 0;
  };
  const got = await client.task('page', m.image, { signal: opts.signal, what: `page ${n}` });
  took(got.timings);
  const blocks: RawBlock[] = [];
  const tables: ReadPage['tables'] = [];
  const charts: PageChart[] = [];
  const sub: Promise<void>[] = [];
  got.value.blocks.forEach((b, seq) => {
    const bbox = toPagePoints(b.box, m, client.profile);
    const text = b.text.replace(/\u0000/g, '');
    const lines = spreadLines(text, bbox);
    const size = lines.length ? Math.max(1, Math.min(72, ((bbox.y1 - bbox.y0) / lines.length) * 0.8)) : 0;
    const raw: RawBlock = { text: lines.map((l) => l.text).join('\n'), bbox, lines, angle: 0, size, bold: false, chars: text.length, type: b.type as BlockType, seq, ...(b.type === 'figure' ? { kind: 'figure' as const } : {}) };
    blocks.push(raw);
    const crop = cropOf(bbox, m);
    if (b.type === 'table' && opts.tables !== false && crop) {
      sub.push(
        encode(m.raw, crop)
          .then((image) => client.task('table', image, { signal: opts.signal, what: `page ${n}, table at block ${seq + 1}` }))
          .then((t) => {
            took(t.timings);
            const table = tableFromAnswer(t.value, bbox);
            if (!table) return;
            const key = `p${n}-t${tables.length + 1}`;
            tables.push({ key, table });
            Object.assign(raw, { kind: 'table', ref: key, lines: [] });
          }),
      );
    } else if (b.type === 'figure' && opts.charts !== false && crop) {
      sub.push(
        encode(m.raw, crop)
          .then((image) => client.task('chart', image, { signal: opts.signal, what: `page ${n}, figure at block ${seq + 1}` }))
          .then((c) => {
            took(c.timings);
            if (c.value.chartType !== 'not_a_chart') charts.push({ bbox, answer: c.value });
          }),
      );
    }
  });
  const warnings = await settle(sub, n);
  const { name, version, model, modelSha256 } = client.info;
  return {
    read: {
      layout: { number: n, width: m.pageWidth, height: m.pageHeight, blocks },
      tables,
      prov: { engine: client.info.kind, engineVersion: version, model },
      page: {
        ...page,
        engine: 'vlm',
        reader: { engine: name, engineVersion: version, model, ...(modelSha256 ? { modelSha256 } : {}), rotation: 0, skew: 0, dpi: Math.round(img.scale * 72), words: blocks.reduce((s, b) => s + b.lines.reduce((t, l) => t + l.words.length, 0), 0) },
      },
      charts,
      ...(warnings.length ? { warnings } : {}),
    },
    charts,
    timings: { ...timings, total: performance.now() - t0 },
    tokens,
  };
}

const provOf = (c: VlmClient): NonNullable<PageTable['prov']> => ({ engine: c.info.kind, engineVersion: c.info.version, model: c.info.model });

/** Figures worth asking about: at least 2% of the page (not icons, rules or logos). */
function chartCandidates(r: ReadPage): RawBlock[] {
  const area = r.layout.width * r.layout.height;
  return r.layout.blocks.filter((b) => b.kind === 'figure' && (b.bbox.x1 - b.bbox.x0) * (b.bbox.y1 - b.bbox.y0) >= 0.02 * area);
}

/**
 * With `auto` and a model configured, what the model adds to a page read another way: its figures
 * read as charts, and (on a page read by OCR, where structure is guessed from words alone) its
 * tables read again from their pixels. True when there is anything to ask.
 */
export function wantsModel(r: ReadPage, opts: { tables?: boolean; charts?: boolean } = {}): boolean {
  return (opts.charts !== false && chartCandidates(r).length > 0) || (opts.tables !== false && r.page.engine === 'ocr' && r.tables.length > 0);
}

/** See wantsModel: `img` is the page as `r` lays it out (upright, page points * scale). */
export async function enrichPage(r: ReadPage, img: PageImage, n: number, client: VlmClient, opts: VlmPageOptions = {}): Promise<void> {
  const m = await toModelImage(img, client.profile);
  const jobs: Promise<void>[] = [];
  if (opts.charts !== false) {
    for (const fig of chartCandidates(r)) {
      const crop = cropOf(fig.bbox, m);
      if (!crop) continue;
      jobs.push(
        encode(m.raw, crop)
          .then((image) => client.task('chart', image, { signal: opts.signal, what: `page ${n}, figure` }))
          .then((c) => {
            if (c.value.chartType !== 'not_a_chart') (r.charts ??= []).push({ bbox: fig.bbox, answer: c.value, prov: provOf(client) });
          }),
      );
    }
  }
  if (opts.tables !== false && r.page.engine === 'ocr') {
    for (const t of r.tables) {
      const crop = cropOf(t.table.bbox, m);
      if (!crop) continue;
      jobs.push(
        encode(m.raw, crop)
          .then((image) => client.task('table', image, { signal: opts.signal, what: `page ${n}, table` }))
          .then((a) => {
            const table = tableFromAnswer(a.value, t.table.bbox);
            if (table) t.table = { ...table, prov: provOf(client) };
          }),
      );
    }
  }
  const warnings = await settle(jobs, n);
  if (warnings.length) (r.warnings ??= []).push(...warnings);
}

/**
 * Wait for a page's table and chart requests: one the model gave no valid answer for is a
 * warning on the page (its block stays, as text or a figure); any other failure is the page's.
 */
async function settle(jobs: Promise<void>[], n: number): Promise<{ code: string; message: string; page: number }[]> {
  const out: { code: string; message: string; page: number }[] = [];
  for (const r of await Promise.allSettled(jobs)) {
    if (r.status === 'fulfilled') continue;
    if (r.reason instanceof FolioError && r.reason.code === 'model_failed') out.push({ code: 'model_failed', message: r.reason.message, page: n });
    else throw r.reason;
  }
  return out;
}
