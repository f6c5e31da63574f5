// A hand-built Document with tables, for the storage, view and CLI tests (no detector needed).
//
// Table t1 (lattice), 6 rows x 7 columns, continued from page 1 onto page 2, two stacked header
// rows ("Revenue" spans the two year columns; the other header cells span both header rows), a
// body cell spanning two rows ("North"), and values of every kind:
//
//   | Region | Revenue 2023 | Revenue 2024 | Growth | Total     | Reported    | Note          |
//   | North  | 1,234        | (1,234)      | 12.5%  | $3.00     | 2024-03-31  | ok            |   page 1
//   | (North)| 2,000        | 2 500        | (3.2%) | $1,200.50 | 31 Mar 2024 | 12-34         |   page 1
//   | South  | —            | 1.234,56     | −12%   | € 12      | 03/31/2024  | A12           |   page 2
//   | West   | 1 234 567    | 900          | 0%     | £3        |             | He said "hi", then left |
//
// Table t2 (stream) on page 2: headers Item, (empty), Item -> Item, col_2, Item_2; text with commas,
// quotes and a line break; one position without a cell.
import { SCHEMA_VERSION, type BBox, type Block, type Cell, type Document, type Table } from '../../schemas/document.ts';
import { parseColumn } from '../../extractors/values.ts';
import { gridText } from '../../db/tables.ts';
import { sha256Hex } from './documents.ts';

const COL_W = 70;
const ROW_H = 16;
const X0 = 50;

function box(x0: number, y0: number, x1: number, y1: number): BBox {
  return { x0, y0, x1, y1 };
}

interface CellSpec {
  row: number;
  col: number;
  text: string;
  rowSpan?: number;
  colSpan?: number;
}

/** A Table from cell specs: boxes from a regular grid (rows restart at `top` on each page), values parsed per column. */
function buildTable(
  id: string,
  method: Table['method'],
  specs: CellSpec[],
  rowCount: number,
  colCount: number,
  headerRows: number,
  rowPages: number[],
  tops: Record<number, number>,
  provenance: Partial<Table['provenance']> = {},
): Table {
  const firstRowOnPage = new Map<number, number>();
  rowPages.forEach((p, r) => {
    if (!firstRowOnPage.has(p)) firstRowOnPage.set(p, r);
  });
  const rowY = (r: number) => tops[rowPages[r]!]! + (r - firstRowOnPage.get(rowPages[r]!)!) * ROW_H;
  // Values are read per column (the column settles ambiguous dates); header cells carry none.
  const values = new Map<CellSpec, Cell['value']>();
  for (let c = 0; c < colCount; c++) {
    const body = specs.filter((s) => s.col === c && s.row >= headerRows);
    parseColumn(body.map((s) => s.text)).forEach((v, i) => values.set(body[i]!, v));
  }
  const cells: Cell[] = specs.map((s) => {
    const rowSpan = s.rowSpan ?? 1;
    const colSpan = s.colSpan ?? 1;
    const value = values.get(s);
    return {
      row: s.row,
      col: s.col,
      rowSpan,
      colSpan,
      text: s.text,
      ...(value ? { value } : {}),
      header: s.row < headerRows,
      page: rowPages[s.row]!,
      bbox: box(X0 + s.col * COL_W, rowY(s.row), X0 + (s.col + colSpan) * COL_W, rowY(s.row) + rowSpan * ROW_H),
    };
  });
  const pages = [...new Set(rowPages)];
  const regions = pages.map((p) => {
    const rows = rowPages.map((rp, r) => (rp === p ? r : -1)).filter((r) => r >= 0);
    return { page: p, bbox: box(X0, rowY(rows[0]!), X0 + colCount * COL_W, rowY(rows.at(-1)!) + ROW_H) };
  });
  const table: Table = {
    id,
    method,
    rowCount,
    colCount,
    headerRows,
    regions,
    rowPages,
    cells,
    rows: [],
    provenance: { page: regions[0]!.page, bbox: regions[0]!.bbox, engine: 'pdf-text', engineVersion: '5.6.205', ...provenance },
  };
  table.rows = gridText(table);
  return table;
}

export const T1_TOTALS = ['$3.00', '$1,200.50', '€ 12', '£3'];

export function table1(): Table {
  const body = [
    ['North', '1,234', '(1,234)', '12.5%', '$3.00', '2024-03-31', 'ok'],
    [null, '2,000', '2 500', '(3.2%)', '$1,200.50', '31 Mar 2024', '12-34'],
    ['South', '—', '1.234,56', '−12%', '€ 12', '03/31/2024', 'A12'],
    ['West', '1 234 567', '900', '0%', '£3', '', 'He said "hi", then left'],
  ];
  const specs: CellSpec[] = [
    { row: 0, col: 0, text: 'Region', rowSpan: 2 },
    { row: 0, col: 1, text: 'Revenue', colSpan: 2 },
    { row: 0, col: 3, text: 'Growth', rowSpan: 2 },
    { row: 0, col: 4, text: 'Total', rowSpan: 2 },
    { row: 0, col: 5, text: 'Reported', rowSpan: 2 },
    { row: 0, col: 6, text: 'Note', rowSpan: 2 },
    { row: 1, col: 1, text: '2023' },
    { row: 1, col: 2, text: '2024' },
  ];
  body.forEach((cells, i) =>
    cells.forEach((text, col) => {
      if (text === null) return;
      specs.push({ row: i + 2, col, text, ...(col === 0 && text === 'North' ? { rowSpan: 2 } : {}) });
    }),
  );
  return buildTable('t1', 'lattice', specs, 6, 7, 2, [1, 1, 1, 1, 2, 2], { 1: 200, 2: 60 });
}

export function table2(): Table {
  const specs: CellSpec[] = [
    { row: 0, col: 0, text: 'Item' },
    { row: 0, col: 1, text: '' },
    { row: 0, col: 2, text: 'Item' },
    { row: 1, col: 0, text: 'Widget, large' },
    { row: 1, col: 1, text: 'two\nlines' },
    { row: 1, col: 2, text: '5' },
    { row: 2, col: 0, text: 'Gadget "pro"' },
    { row: 2, col: 2, text: '7' },
  ];
  const t = buildTable('t2', 'stream', specs, 3, 3, 1, [2, 2, 2], { 2: 300 });
  t.provenance = { ...t.provenance, bbox: box(40, 290, 270, 360), engine: 'ocr', engineVersion: '1.0', model: 'tiny' };
  return t;
}

/** A block; one line of words for text blocks (Markdown reads lines), none for table blocks. */
function block(id: string, page: number, order: number, type: Block['type'], text: string, bbox: BBox, extra: Partial<Block> = {}): Block {
  const lines: Block['lines'] =
    type === 'table' ? [] : [{ text, bbox, angle: 0, words: text.split(' ').map((w) => ({ text: w, bbox })) }];
  return { id, type, text, bbox, order, lines, ...extra, provenance: { page, bbox, engine: 'pdf-text', engineVersion: '5.6.205' } };
}

/** A valid 2-page Document with tables t1 (pages 1-2) and t2 (page 2) and their blocks. */
export function tableDocument(seed = 'tables'): Document {
  const t1 = table1();
  const t2 = table2();
  const text = (t: Table, page: number) =>
    t.rows
      .filter((_, r) => t.rowPages[r] === page)
      .map((r) => r.join(' '))
      .join('\n');
  const region = (t: Table, page: number) => t.regions.find((r) => r.page === page)!.bbox;
  return {
    schemaVersion: SCHEMA_VERSION,
    pipelineVersion: 'test-1',
    source: { uri: `file:///tmp/${seed}.pdf`, name: `${seed}.pdf`, mime: 'application/pdf', bytes: 4321, sha256: sha256Hex(seed) },
    title: 'Quarterly figures',
    metadata: {},
    pageCount: 2,
    pages: [
      {
        number: 1,
        width: 612,
        height: 792,
        rotation: 0,
        needsOcr: false,
        engine: 'pdf-text',
        blocks: [
          block('p1-b0', 1, 0, 'title', 'Quarterly figures', box(50, 60, 300, 84), { level: 1, fontSize: 24, bold: true }),
          block('p1-b1', 1, 1, 'paragraph', 'Revenue by region.', box(50, 120, 200, 130)),
          block('p1-b2', 1, 2, 'table', text(t1, 1), region(t1, 1), { tableId: 't1' }),
        ],
      },
      {
        number: 2,
        width: 612,
        height: 792,
        rotation: 0,
        needsOcr: false,
        engine: 'pdf-text',
        blocks: [
          block('p2-b3', 2, 3, 'table', text(t1, 2), region(t1, 2), { tableId: 't1' }),
          block('p2-b4', 2, 4, 'table', text(t2, 2), region(t2, 2), { tableId: 't2' }),
          block('p2-b5', 2, 5, 'paragraph', 'End of figures.', box(50, 400, 200, 410)),
        ],
      },
    ],
    tables: [t1, t2],
    warnings: [],
  };
}
