// The Document model: everything folio extracts, validated before it is persisted or printed.
// Coordinates are page points (1/72 inch) with the origin at the top-left of the page as it is
// displayed (after /Rotate), x to the right, y down.
import { z } from 'zod';

export const SCHEMA_VERSION = '1.2.0';

export const BBox = z
  .object({
    x0: z.number().finite(),
    y0: z.number().finite(),
    x1: z.number().finite(),
    y1: z.number().finite(),
  })
  .refine((b) => b.x1 >= b.x0 && b.y1 >= b.y0, { message: 'bbox must have x1 >= x0 and y1 >= y0' })
  .describe('Axis-aligned box in page points, origin top-left of the displayed page');
export type BBox = z.infer<typeof BBox>;

export const Engine = z.enum(['pdf-text', 'pdf-image', 'image', 'ocr', 'vlm', 'remote']);
export type Engine = z.infer<typeof Engine>;

export const Provenance = z
  .object({
    page: z.number().int().min(1),
    bbox: BBox,
    engine: Engine,
    engineVersion: z.string().min(1),
    model: z.string().optional(),
  })
  .describe('Where an extracted item came from');
export type Provenance = z.infer<typeof Provenance>;

export const BlockType = z.enum([
  'title',
  'heading',
  'paragraph',
  'list_item',
  'table',
  'figure',
  'caption',
  'page_header',
  'page_footer',
  'footnote',
]);
export type BlockType = z.infer<typeof BlockType>;

/** Text as PostgreSQL stores it: no NUL characters. */
const Text = z.string().regex(/^[^\u0000]*$/, 'text must not contain NUL characters');

export const Word = z.object({
  text: Text.min(1),
  bbox: BBox,
  /** How sure the engine is of the text, 0..1 (OCR); absent for a PDF text layer. */
  conf: z.number().min(0).max(1).optional(),
});
export type Word = z.infer<typeof Word>;

export const Line = z.object({
  text: Text,
  bbox: BBox,
  /** Text direction in degrees on the displayed page: 0 = left to right, 90 = top to bottom, ... */
  angle: z.number(),
  words: z.array(Word),
});
export type Line = z.infer<typeof Line>;

export const Block = z.object({
  id: z.string().min(1),
  type: BlockType,
  text: Text,
  bbox: BBox,
  /** Position in the reading order of the whole document (0-based, unique, increasing through the pages). */
  order: z.number().int().min(0),
  /** Heading level (1 = top) for title/heading blocks. */
  level: z.number().int().min(1).max(6).optional(),
  fontSize: z.number().positive().optional(),
  bold: z.boolean().optional(),
  lines: z.array(Line),
  /** For blocks of type table: the id of the Table (in Document.tables) this block shows. */
  tableId: z.string().optional(),
  provenance: Provenance,
});
export type Block = z.infer<typeof Block>;

/** A cell value read as a type; the raw text is always kept beside it in Cell.text. */
export const TypedValue = z.discriminatedUnion('type', [
  z.object({ type: z.literal('number'), value: z.number().finite() }),
  z.object({ type: z.literal('percent'), value: z.number().finite().describe('as a fraction: 12.5% -> 0.125') }),
  z.object({ type: z.literal('currency'), value: z.number().finite(), currency: z.string().min(1).describe('ISO 4217 code or the symbol') }),
  z.object({ type: z.literal('date'), value: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).describe('ISO date') }),
]);
export type TypedValue = z.infer<typeof TypedValue>;

export const Cell = z.object({
  row: z.number().int().min(0),
  col: z.number().int().min(0),
  rowSpan: z.number().int().min(1),
  colSpan: z.number().int().min(1),
  text: Text,
  value: TypedValue.optional(),
  header: z.boolean(),
  page: z.number().int().min(1),
  bbox: BBox,
});
export type Cell = z.infer<typeof Cell>;

/**
 * The grid of a table as text, rows x cols: a spanning cell's text repeated in every position it
 * covers, positions without a cell empty. This is Table.rows.
 */
export function tableGrid(rowCount: number, colCount: number, cells: readonly { row: number; col: number; rowSpan: number; colSpan: number; text: string }[]): string[][] {
  const grid = Array.from({ length: rowCount }, () => Array.from({ length: colCount }, () => ''));
  for (const c of cells) {
    for (let r = c.row; r < Math.min(rowCount, c.row + c.rowSpan); r++) {
      for (let k = c.col; k < Math.min(colCount, c.col + c.colSpan); k++) grid[r]![k] = c.text;
    }
  }
  return grid;
}

export const Table = z.object({
  id: z.string().min(1),
  /** The table's title or caption ("Table 3: Sales by region"), from above, below or the top of its frame. */
  caption: Text.optional(),
  /** How it was found: ruling lines (lattice), text alignment (stream), or read by a vision model (vlm). */
  method: z.enum(['lattice', 'stream', 'vlm']),
  rowCount: z.number().int().min(1),
  colCount: z.number().int().min(1),
  /** Leading rows that form the header (stacked headers give more than one). */
  headerRows: z.number().int().min(0),
  /** Where the table lies: one region per page it spans, in order. */
  regions: z.array(z.object({ page: z.number().int().min(1), bbox: BBox })).min(1),
  /** The page each row came from (a table continued across pages keeps its rows' pages). */
  rowPages: z.array(z.number().int().min(1)),
  /** Every cell that starts a span (covered positions have no cell of their own). */
  cells: z.array(Cell),
  /** Convenience: the grid as text, rows x cols, a spanned cell's text repeated in each position. */
  rows: z.array(z.array(z.string())),
  provenance: Provenance,
});
export type Table = z.infer<typeof Table>;

const Axis = z.object({ title: Text.optional(), unit: Text.optional() });

/** A chart read by a vision model from a figure: its type, axes and series of points. */
export const Chart = z.object({
  id: z.string().min(1),
  chartType: z.enum(['bar', 'line', 'pie', 'scatter', 'area', 'other']),
  title: Text.optional(),
  xAxis: Axis,
  yAxis: Axis,
  series: z.array(z.object({ name: Text, points: z.array(z.object({ x: Text, y: z.number().finite() })) })),
  provenance: Provenance,
});
export type Chart = z.infer<typeof Chart>;

/** Which engine read a page's text: its PDF text layer, OCR, a vision model, or none (nothing to read, or OCR off). */
export const PageEngine = z.enum(['pdf-text', 'ocr', 'vlm', 'none']);
export type PageEngine = z.infer<typeof PageEngine>;

export const Quarter = z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]);

/** How a page image was read: the engine and model, and what was done to the image first. */
export const PageRead = z.object({
  /** e.g. "tesseract". */
  engine: z.string().min(1),
  engineVersion: z.string().min(1),
  model: z.string().min(1),
  /** sha256 of the model file (absent for a model served elsewhere whose file folio was not given). */
  modelSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** Clockwise quarter turns applied to the page image to read it upright; boxes are in that frame. */
  rotation: Quarter,
  /** Degrees of skew straightened after the quarter turns (clockwise positive). */
  skew: z.number().finite(),
  /** Resolution the page image was read at. */
  dpi: z.number().positive(),
  /** Mean word confidence, 0..1 (absent for a vision model, which gives none). */
  confidence: z.number().min(0).max(1).optional(),
  words: z.number().int().min(0),
  /** The page's text layer was kept where it has words, and the engine's words added beside them. */
  merged: z.boolean().optional(),
});
export type PageRead = z.infer<typeof PageRead>;

export const Page = z.object({
  number: z.number().int().min(1),
  width: z.number().positive(),
  height: z.number().positive(),
  /** /Rotate of the PDF page (0, 90, 180, 270); coordinates are already in the rotated frame. */
  rotation: Quarter,
  /** True when the page carries no usable text layer (a scan, an image): an engine must read its pixels. */
  needsOcr: z.boolean(),
  /** Which engine read the page's text. */
  engine: PageEngine,
  /** For a page read from its image: how (and width/height are those of the upright frame read). */
  reader: PageRead.optional(),
  /** Blob keys (sha256) of the rendered page image and thumbnail, when rendered. */
  image: z.string().optional(),
  thumbnail: z.string().optional(),
  blocks: z.array(Block),
});
export type Page = z.infer<typeof Page>;

export const Source = z.object({
  uri: z.string().min(1),
  name: z.string(),
  mime: z.string(),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type Source = z.infer<typeof Source>;

export const Document = z
  .object({
    schemaVersion: z.literal(SCHEMA_VERSION),
    pipelineVersion: z.string().min(1),
    source: Source,
    title: z.string().optional(),
    metadata: z.record(z.string(), z.string()),
    pageCount: z.number().int().min(0),
    pages: z.array(Page),
    tables: z.array(Table),
    /** Charts read from figures (by a vision model); absent when none were read. */
    charts: z.array(Chart).optional(),
    /** For a video: the frames kept, each read into the page it names, with its time. */
    frames: z
      .array(
        z.object({
          page: z.number().int().min(1),
          /** Seconds from the start of the video. */
          time: z.number().min(0),
          /** 64-bit perceptual hash of the frame (difference hash), hex. */
          hash: z.string().regex(/^[0-9a-f]{16}$/),
        }),
      )
      .optional(),
    warnings: z.array(z.object({ code: z.string(), message: z.string(), page: z.number().int().optional() })),
  })
  .superRefine((doc, ctx) => {
    if (doc.pages.length !== doc.pageCount) {
      ctx.addIssue({ code: 'custom', message: `pageCount ${doc.pageCount} != pages.length ${doc.pages.length}` });
    }
    // Reading order runs through the pages: each page's blocks are listed in it, and it only grows.
    let last = -1;
    doc.pages.forEach((p, i) => {
      if (p.number !== i + 1) ctx.addIssue({ code: 'custom', message: `page ${i} has number ${p.number}` });
      for (const b of p.blocks) {
        if (b.provenance.page !== p.number) {
          ctx.addIssue({ code: 'custom', message: `block ${b.id} provenance page ${b.provenance.page} on page ${p.number}` });
        }
        if (b.order <= last) ctx.addIssue({ code: 'custom', message: `block ${b.id}: reading order ${b.order} after ${last}` });
        last = b.order;
        if (b.tableId && !doc.tables.some((t) => t.id === b.tableId)) ctx.addIssue({ code: 'custom', message: `block ${b.id} names unknown table ${b.tableId}` });
      }
    });
    const ids = new Set<string>();
    for (const t of doc.tables) {
      if (ids.has(t.id)) ctx.addIssue({ code: 'custom', message: `duplicate table id ${t.id}` });
      ids.add(t.id);
      if (t.headerRows > t.rowCount) ctx.addIssue({ code: 'custom', message: `table ${t.id}: ${t.headerRows} header rows of ${t.rowCount}` });
      // Each grid position belongs to at most one cell.
      const owner = new Set<number>();
      for (const c of t.cells) {
        for (let r = c.row; r < c.row + c.rowSpan; r++) {
          for (let k = c.col; k < c.col + c.colSpan; k++) {
            if (owner.has(r * t.colCount + k)) ctx.addIssue({ code: 'custom', message: `table ${t.id}: cells overlap at (${r},${k})` });
            owner.add(r * t.colCount + k);
          }
        }
      }
      if (t.rows.length !== t.rowCount || t.rows.some((r) => r.length !== t.colCount)) {
        ctx.addIssue({ code: 'custom', message: `table ${t.id}: rows is not ${t.rowCount} x ${t.colCount}` });
      }
      if (t.rowPages.length !== t.rowCount) ctx.addIssue({ code: 'custom', message: `table ${t.id}: rowPages has ${t.rowPages.length} entries for ${t.rowCount} rows` });
      for (const c of t.cells) {
        if (c.row + c.rowSpan > t.rowCount || c.col + c.colSpan > t.colCount) {
          ctx.addIssue({ code: 'custom', message: `table ${t.id}: cell (${c.row},${c.col}) spans outside the grid` });
        }
      }
    }
  });
export type Document = z.infer<typeof Document>;

/** JSON Schema (draft 2020-12) of the Document, as printed by `folio schema`. */
export function documentJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Document, { target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $id: `https://folio.dev/schemas/document/${SCHEMA_VERSION}.json`, title: 'folio Document', ...schema };
}
