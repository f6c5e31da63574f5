// From words on pages to a Document's pages and tables, whatever read the words (a PDF text
// layer, OCR): tables detected on the words and rules, blocks laid out around them, then the
// whole document classified, its tables merged across pages and typed, and every block given
// its reading order and provenance.
import { Table as TableSchema, tableGrid, type Block, type Cell, type Chart, type Page, type Table } from '../schemas/document.ts';
import type { Segment } from './graphics.ts';
import { classifyDocument, layoutRuns, pageLines, pageWords, r2, roundBox, toBlocks, type PageLayout, type PageLines, type RawBlock, type TextRun } from './layout.ts';
import { assembleTables, detectTables, type AssembledTable, type PageTable, type PlacedTable } from './tables.ts';
import { parseColumn } from './values.ts';
import type { Extraction } from './types.ts';
import type { PageChart } from './vlm.ts';

export type Provenance = Pick<Block['provenance'], 'engine' | 'engineVersion' | 'model'>;

/** One page as read: its raw blocks and tables, and what the Document says about the page. */
export interface ReadPage {
  layout: PageLayout;
  tables: { key: string; table: PageTable }[];
  /** Who read the page's text: the provenance of its blocks and tables. */
  prov: Provenance;
  page: Omit<Page, 'number' | 'width' | 'height' | 'blocks'>;
  /** Charts a vision model read from the page's figures. */
  charts?: PageChart[];
  /** Problems reading parts of the page (a table or figure the model gave no answer for). */
  warnings?: Extraction['warnings'];
}

/**
 * A page's text runs and rules -> tables and the blocks around them (words inside a table belong
 * to the table). `built` is the page's lines if they were built already.
 */
export function textBlocks(
  runs: TextRun[],
  segments: Segment[],
  width: number,
  n: number,
  opts: { tables?: boolean; built?: PageLines },
): { blocks: RawBlock[]; tables: ReadPage['tables'] } {
  const found = opts.tables !== false ? detectTables(pageWords(opts.built ?? pageLines(runs)), segments, width) : [];
  const tables = found.map((table, k) => ({ key: `p${n}-t${k + 1}`, table }));
  const blocks: RawBlock[] = layoutRuns(runs, found.map((t) => t.bbox), opts.built);
  for (const { key, table } of tables) {
    const text = tableGrid(table.rows, table.cols, table.cells).map((r) => r.join('\t')).join('\n');
    blocks.push({ text, bbox: roundBox(table.bbox), lines: [], angle: table.angle, size: 0, bold: false, chars: 0, kind: 'table', ref: key });
  }
  return { blocks, tables };
}

/** A figure block (a picture, a chart, a barcode) with no text of its own. */
export function figureBlock(bbox: RawBlock['bbox']): RawBlock {
  return { text: '', bbox, lines: [], angle: 0, size: 0, bold: false, chars: 0, kind: 'figure' };
}

/** The Document's pages and tables from its read pages (in page order). */
export function assemblePages(read: ReadPage[], warnings: Extraction['warnings']): { pages: Page[]; tables: Table[]; charts: Chart[] } {
  for (const r of read) warnings.push(...(r.warnings ?? []));
  const ordered = classifyDocument(read.map((r) => r.layout));
  const tables = documentTables(read, ordered, warnings);
  const blocks = toBlocks(ordered, read.map((r) => r.layout.number), read.map((r) => r.prov));
  const pages: Page[] = read.map((r, i) => ({
    number: r.layout.number,
    width: r2(r.layout.width),
    height: r2(r.layout.height),
    ...r.page,
    blocks: blocks[i]!,
  }));
  return { pages, tables, charts: documentCharts(read) };
}

/** The charts of the pages, numbered through the document (c1, c2, ...), with their reader as provenance. */
function documentCharts(read: ReadPage[]): Chart[] {
  const out: Chart[] = [];
  for (const r of read) {
    for (const { bbox, answer: a, prov } of r.charts ?? []) {
      if (a.chartType === 'not_a_chart') continue;
      const opt = (s: string) => (s.trim() ? s.trim() : undefined);
      const axis = (x: { title: string; unit: string }) => ({ ...(opt(x.title) ? { title: opt(x.title) } : {}), ...(opt(x.unit) ? { unit: opt(x.unit) } : {}) });
      const { engine, engineVersion, model } = prov ?? r.prov;
      out.push({
        id: `c${out.length + 1}`,
        chartType: a.chartType,
        ...(opt(a.title) ? { title: opt(a.title) } : {}),
        xAxis: axis(a.xAxis),
        yAxis: axis(a.yAxis),
        series: a.series.map((s) => ({ name: s.name.trim(), points: s.points.filter((p) => Number.isFinite(p.y)).map((p) => ({ x: p.x.trim(), y: p.y })) })),
        provenance: { page: r.layout.number, bbox: roundBox(bbox), engine, engineVersion, ...(model ? { model } : {}) },
      });
    }
  }
  return out;
}

/**
 * Document tables from page tables: merged across page breaks, header rows found, cell values
 * typed; each table block learns the id of the table it shows.
 */
function documentTables(read: ReadPage[], ordered: ReturnType<typeof classifyDocument>, warnings: Extraction['warnings']): Table[] {
  const placed: PlacedTable[] = [];
  const provOf = new Map<number, Provenance>();
  read.forEach((f, i) => {
    provOf.set(f.layout.number, f.prov);
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
    a.caption ??= captionNear(a.regions[0]!, read, ordered);
    const t = toTable(a, a.prov ?? provOf.get(a.regions[0]!.page)!);
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

/**
 * The caption block nearest above a table's first region (or, failing that, below it): within
 * three of its lines, overlapping the table across.
 */
function captionNear(region: { page: number; bbox: { x0: number; y0: number; x1: number; y1: number } }, read: ReadPage[], ordered: ReturnType<typeof classifyDocument>): string | undefined {
  const i = read.findIndex((r) => r.layout.number === region.page);
  const r = region.bbox;
  let best: { text: string; d: number } | undefined;
  for (const { block: b, cls } of ordered[i] ?? []) {
    if (cls.type !== 'caption' || Math.min(b.bbox.x1, r.x1) <= Math.max(b.bbox.x0, r.x0)) continue;
    const reach = 3 * Math.max(b.size, 8);
    // Above counts before below: a distance below is taken as a line further away.
    const d = b.bbox.y1 <= r.y0 + 2 ? r.y0 - b.bbox.y1 : b.bbox.y0 >= r.y1 - 2 ? b.bbox.y0 - r.y1 + reach / 3 : Infinity;
    if (d <= reach && (!best || d < best.d)) best = { text: b.text.replace(/\s+/g, ' ').trim(), d };
  }
  return best?.text;
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

function toTable(t: AssembledTable, prov: Provenance): Table {
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
    ...(t.caption ? { caption: t.caption } : {}),
    method: t.method,
    rowCount: t.rows,
    colCount: t.cols,
    headerRows: t.headerRows,
    regions: t.regions.map((r) => ({ page: r.page, bbox: roundBox(r.bbox) })),
    rowPages: t.rowPages,
    cells,
    rows: tableGrid(t.rows, t.cols, t.cells),
    provenance: { page: first.page, bbox: roundBox(first.bbox), engine: prov.engine, engineVersion: prov.engineVersion, ...(prov.model ? { model: prov.model } : {}) },
  };
}
