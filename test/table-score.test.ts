// The table benchmark's scorer (bench/table-score.ts) on small hand-made grids; no corpus needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  adjacencyRelations,
  alignAndMatch,
  alignTables,
  assign,
  cellsFromGrid,
  cellsFromTable,
  compact,
  looksNumeric,
  multisetDiff,
  normalizeCellText,
  numericColumns,
  parseExpected,
  pdfBoxToPage,
  piecesOf,
  prf,
  relationKey,
  scoreDocument,
  scoreIcdar,
  type ScoreCell,
  type Span,
  type TableLike,
} from '../bench/table-score.ts';

const G = [
  ['Name', 'Qty', 'Price'],
  ['apple', '3', '1.20'],
  ['pear', '', '0.80'],
];

/** Grid -> 1x1 extracted cells (as Table.cells would list them), texts as given. */
const cellsOf = (rows: string[][], dr = 0, dc = 0) => rows.flatMap((r, i) => r.map((text, j) => ({ row: i + dr, col: j + dc, rowSpan: 1, colSpan: 1, text })));
const score = (want: string[][], got: ReturnType<typeof cellsOf>, spans: [number, number, number, number][] = []) => alignAndMatch(cellsFromGrid(want, spans), cellsFromTable(got));

/** A TableLike on `page` whose cells sit on a 10 pt grid starting at (x, y). */
function table(rows: string[][], page = 1, x = 100, y = 100): TableLike {
  return {
    regions: [{ page }],
    cells: rows.flatMap((r, i) => r.map((text, j) => ({ row: i, col: j, rowSpan: 1, colSpan: 1, text, page, bbox: { x0: x + 10 * j, y0: y + 10 * i, x1: x + 10 * j + 10, y1: y + 10 * i + 10 } }))),
  };
}

describe('normalizeCellText', () => {
  test('whitespace (line breaks, tabula \\r, NBSP) removed, case folded, NFKC', () => {
    assert.equal(normalizeCellText('Read & \nWrite'), 'read&write');
    assert.equal(normalizeCellText('11/12\r(a)'), '11/12(a)');
    assert.equal(normalizeCellText('\u00a0 ＴＯＴＡＬ\u3000１２ '), 'total12');
    assert.equal(normalizeCellText('11,062 .6'), normalizeCellText('11,062.6'));
    assert.equal(normalizeCellText('ﬁle'), 'file');
  });

  test('dot leaders removed, but a cell of only dots keeps them', () => {
    assert.equal(normalizeCellText('Total   .\n .\n .  .  .'), 'total');
    assert.equal(normalizeCellText('Robbery . . . .'), normalizeCellText('Robbery'));
    assert.equal(normalizeCellText('1.20'), '1.20');
    assert.equal(normalizeCellText('..'), '..');
    assert.equal(normalizeCellText(' \r\n '), '');
  });
});

describe('cellsFromGrid', () => {
  test('only non-empty cells count', () => {
    assert.equal(cellsFromGrid(G).length, 8);
    assert.equal(cellsFromGrid([['', ' '], ['\n', '']]).length, 0);
  });

  test('spans: text at the top-left counts once with the span size; covered positions never count', () => {
    const cells = cellsFromGrid([['Header', 'dup', ''], ['a', 'b', 'c']], [[0, 0, 0, 2]]);
    assert.deepEqual(cells[0], { row: 0, col: 0, rowSpan: 1, colSpan: 3, text: 'header', at: [0, 0] });
    assert.equal(cells.length, 4);
  });
});

describe('alignAndMatch', () => {
  test('identity: every cell matches, exact', () => {
    const m = score(G, cellsOf(G));
    assert.deepEqual(m, { dr: 0, dc: 0, matched: 8, expected: 8, extracted: 8, exact: true });
  });

  test('shifted by one row and one column: found by the offset, still exact', () => {
    const m = score(G, cellsOf(G, 1, 1));
    assert.equal(m.dr, 1);
    assert.equal(m.dc, 1);
    assert.equal(m.matched, 8);
    assert.ok(m.exact);
  });

  test('texts compared normalised', () => {
    const m = score(G, cellsOf([['NAME ', 'qty', 'PRICE'], ['Apple', ' 3', '1.20'], ['pear', '', '0.80\n']]));
    assert.ok(m.exact);
  });

  test('an extra leading row (title) costs precision only; the body still aligns', () => {
    const m = score(G, cellsOf([['Table 1: fruit', '', ''], ...G]));
    assert.deepEqual([m.dr, m.dc, m.matched, m.extracted, m.exact], [1, 0, 8, 9, false]);
    const r = prf(m.matched, m.expected, m.extracted);
    assert.equal(r.recall, 1);
    assert.equal(r.precision, 8 / 9);
  });

  test('a missing leading row (camelot split header the extraction joined) costs recall only', () => {
    const m = score([['', 'Unit'], ['Name', 'Price'], ...G.slice(1).map((r) => [r[0]!, r[2]!])], cellsOf([['Name', 'Unit Price'], ['apple', '1.20'], ['pear', '0.80']]));
    assert.deepEqual([m.dr, m.matched, m.expected, m.extracted], [-1, 5, 7, 6]);
  });

  test('a missing cell: recall < 1, not exact', () => {
    const got = cellsOf(G).filter((c) => c.text !== '0.80');
    const m = score(G, got);
    assert.deepEqual([m.matched, m.expected, m.extracted, m.exact], [7, 8, 7, false]);
  });

  test('an extra column: precision < 1, not exact', () => {
    const m = score(G, cellsOf(G.map((r, i) => [...r, `note ${i}`])));
    assert.deepEqual([m.matched, m.expected, m.extracted, m.exact], [8, 8, 11, false]);
  });

  test('a column split in two: one offset aligns the larger part, the split cells are misses and extras', () => {
    const m = score(G, cellsOf([['Na', 'me', 'Qty', 'Price'], ['app', 'le', '3', '1.20'], ['pe', 'ar', '', '0.80']]));
    assert.deepEqual([m.dr, m.dc, m.matched, m.expected, m.extracted, m.exact], [0, 1, 5, 8, 11, false]);
  });

  test('expected span: the text found anywhere inside the span matches', () => {
    const want = [['Header', '', ''], ['a', 'b', 'c']];
    const got = cellsOf([['', 'Header', ''], ['a', 'b', 'c']]);
    assert.ok(score(want, got, [[0, 0, 0, 2]]).exact);
    // Without the span annotation the centred header is a miss and an extra.
    assert.deepEqual([score(want, got).matched, score(want, got).exact], [3, false]);
  });

  test('extracted span (Table.cells): covers the expected position', () => {
    const want = [['', 'Header', ''], ['a', 'b', 'c']];
    const got = [{ row: 0, col: 0, rowSpan: 1, colSpan: 3, text: 'Header' }, ...cellsOf([['a', 'b', 'c']], 1)];
    assert.ok(alignAndMatch(cellsFromGrid(want), cellsFromTable(got)).exact);
  });

  test('spanned text repeated in every position (Table.rows style) counts the copies as extra', () => {
    const want = [['Header', '', ''], ['a', 'b', 'c']];
    const m = score(want, cellsOf([['Header', 'Header', 'Header'], ['a', 'b', 'c']]), [[0, 0, 0, 2]]);
    assert.deepEqual([m.matched, m.extracted, m.exact], [4, 6, false]);
  });

  test('one-to-one: two equal expected texts cannot both match one extracted cell', () => {
    const want = cellsFromGrid([['x', 'x']], [[0, 0, 0, 0]]);
    const got: ScoreCell[] = [{ row: 0, col: 0, rowSpan: 1, colSpan: 2, text: 'x' }];
    const m = alignAndMatch(want, got);
    assert.deepEqual([m.matched, m.expected, m.extracted], [1, 2, 1]);
  });

  test('nothing extracted: P = R = F1 = 0', () => {
    const m = alignAndMatch(cellsFromGrid(G), []);
    assert.deepEqual(prf(m.matched, m.expected, m.extracted), { precision: 0, recall: 0, f1: 0 });
  });
});

describe('alignTables', () => {
  test('blank spacer rows on one side: aligned without the empty rows/columns', () => {
    const spaced = G.flatMap((r) => [[r[0]!, '', r[1]!, r[2]!], ['', '', '', '']]);
    const a = alignTables(cellsFromGrid(G), cellsFromTable(cellsOf(spaced)));
    assert.ok(a.compacted);
    assert.ok(a.exact);
  });

  test('a stray mark in a row the expectation leaves empty: aligned as the grids are', () => {
    const want = [['a', 'b'], ['', ''], ['c', 'd'], ['e', 'f']];
    const got = cellsOf([['a', 'b'], ['*', ''], ['c', 'd'], ['e', 'f']]);
    const a = alignTables(cellsFromGrid(want), cellsFromTable(got));
    assert.equal(a.compacted, false);
    assert.deepEqual([a.matched, a.extracted], [6, 7]);
  });

  test('crop: extracted cells beyond the expected extent do not count', () => {
    const got = cellsOf([['Partida', ...G[0]!, 'M.U$S'], ['0301', ...G[1]!, '61'], ['0302', ...G[2]!, '14']]);
    const a = alignTables(cellsFromGrid(G), cellsFromTable(got), { crop: true });
    assert.deepEqual([a.dc, a.matched, a.extracted, a.exact], [1, 8, 8, true]);
    assert.equal(alignTables(cellsFromGrid(G), cellsFromTable(got)).extracted, 14);
  });

  test('compact keeps span sizes and the source position', () => {
    const c = compact([{ row: 2, col: 4, rowSpan: 2, colSpan: 1, text: 'x' }, { row: 5, col: 9, rowSpan: 1, colSpan: 1, text: 'y' }]);
    assert.deepEqual(c, [
      { row: 0, col: 0, rowSpan: 2, colSpan: 1, text: 'x', at: [2, 4] },
      { row: 2, col: 1, rowSpan: 1, colSpan: 1, text: 'y', at: [5, 9] },
    ]);
  });
});

describe('assign', () => {
  test('maximises the total, where greedy on the best pair would not', () => {
    assert.deepEqual(assign([[0.9, 0.8], [0.85, 0.1]]), [1, 0]);
  });

  test('rectangular; zero-weight pairs stay unassigned', () => {
    assert.deepEqual(assign([[0, 0.5, 0], [0, 0, 0]]), [1, -1]);
    assert.deepEqual(assign([[0.2], [0.7], [0.1]]), [-1, 0, -1]);
    assert.deepEqual(assign([[], []]), [-1, -1]);
    assert.deepEqual(assign([]), []);
  });
});

describe('parseExpected', () => {
  test('table_pages, tabula area key, per-table spans', () => {
    const e = parseExpected({
      page: 2,
      tables: [[['a']], [['b']]],
      table_pages: [2, 3],
      ground_truth: 'human',
      spans: [[[0, 0, 0, 1]], []],
      params: { area_top_left_bottom_right_pt: [10, 20, 30, 40] },
    });
    assert.equal(e.groundTruth, 'human');
    assert.deepEqual(e.tables.map((t) => [t.page, t.spans.length, t.area]), [
      [2, 1, [10, 20, 30, 40]],
      [3, 0, [10, 20, 30, 40]],
    ]);
  });

  test('page for every table without table_pages; flat spans for one table; no area', () => {
    const e = parseExpected({ page: 1, tables: [[['a', '']]], spans: [[0, 0, 0, 1]] });
    assert.deepEqual(e.tables[0], { page: 1, rows: [['a', '']], spans: [[0, 0, 0, 1]] });
    assert.throws(() => parseExpected({ page: 1, tables: [[['a']], [['b']]], spans: [[0, 0, 0, 1]] }), /several tables/);
    assert.throws(() => parseExpected({ page: 1, tables: [[['a']]], params: { area: [1, 2] } }), /top,left,bottom,right/);
  });
});

describe('scoreDocument', () => {
  const exp = (tables: string[][][], extra: object = {}) => parseExpected({ page: 1, ground_truth: 'tool-regression', tables, ...extra });

  test('pairs tables one-to-one whatever their order; an unpaired table on the page is false positives', () => {
    const A = [['a', '1'], ['b', '2']];
    const B = [['x', '9'], ['y', '8']];
    const s = scoreDocument(exp([A, B]), [table([['junk']]), table(B), table(A)]);
    assert.deepEqual(s.tables.map((t) => t.table), [2, 1]);
    assert.deepEqual([s.matched, s.expected, s.extracted, s.exact, s.foundTables], [8, 8, 9, 2, 3]);
  });

  test('only tables with a region on the expected page, and only their cells on that page', () => {
    const other = table([['a', '1']], 2);
    const spread: TableLike = { regions: [{ page: 1 }, { page: 2 }], cells: [...table([['a', '1']], 1).cells, ...table([['zzz', 'yyy']], 2).cells.map((c) => ({ ...c, row: 1 }))] };
    const s = scoreDocument(exp([[['a', '1']]]), [other, spread]);
    assert.deepEqual([s.matched, s.extracted, s.exact, s.foundTables], [2, 2, 1, 1]);
  });

  test('area: cells whose centre lies outside it do not count', () => {
    // Cell centres at x 105/115/125, y 105/115: the area [top,left,bottom,right] keeps 'a' and '1' only.
    const t = table([['title', 'x', 'far'], ['a', '1', 'z']]);
    const s = scoreDocument(exp([[['a', '1']]], { params: { area: [108, 95, 125, 121] } }), [t]);
    assert.deepEqual([s.matched, s.expected, s.extracted, s.exact], [2, 2, 2, 1]);
    const wide = scoreDocument(exp([[['a', '1']]], { params: { area: [95, 95, 125, 135] } }), [t]);
    // Inside the area but beyond the expected grid's extent at the alignment: cropped too.
    assert.deepEqual([wide.matched, wide.extracted, wide.exact], [2, 2, 1]);
    const noArea = scoreDocument(exp([[['a', '1']]]), [t]);
    assert.deepEqual([noArea.matched, noArea.extracted, noArea.exact], [2, 6, 0]);
  });

  test('nothing extracted: every expected cell missed', () => {
    const s = scoreDocument(exp([G]), []);
    assert.deepEqual([s.matched, s.expected, s.extracted, s.exact, s.foundTables], [0, 8, 0, 0, 0]);
    assert.equal(s.tables[0]!.table, -1);
  });
});

// ---------------------------------------------------------------------------------------------
// ICDAR 2013: adjacency relations, pairing by region, cell-text F1, diagnoses, numeric columns.

/** Relations of a grid as sorted readable keys: "a>b" (right neighbour), "a^b" (below). */
const rels = (rows: string[][], spans: Span[] = []) =>
  adjacencyRelations(cellsFromGrid(rows, spans))
    .map((r) => `${r.a}${r.dir === 'h' ? '>' : '^'}${r.b}`)
    .sort();

const PAGE = { width: 600, height: 800 };
/** A box given top-left (x, y, w, h) as ICDAR's table_bboxes_pdf: [x1, y1, x2, y2], origin bottom-left of an 800 pt page. */
const pdfBox = (x: number, y: number, w: number, h: number) => [x, PAGE.height - (y + h), x + w, PAGE.height - y];

interface Extracted {
  rows: string[][];
  page?: number;
  /** Top-left of the grid; cells are 20 x 10 pt. */
  x?: number;
  y?: number;
  spans?: Span[];
  /** Per cell text: its typed value, when any. */
  typed?: (text: string) => string | undefined;
  headerRows?: number;
}

/** A folio-like table: one cell per span origin / non-covered position, 20 x 10 pt cells, region around them. */
function extracted(...parts: Extracted[]): TableLike {
  const cells: TableLike['cells'][number][] = [];
  const regions: { page: number; bbox: { x0: number; y0: number; x1: number; y1: number } }[] = [];
  let row0 = 0;
  for (const { rows, page = 1, x = 100, y = 100, spans = [], typed, headerRows = 0 } of parts) {
    const covered = new Set<string>();
    const origin = new Map<string, Span>();
    for (const sp of spans) {
      origin.set(`${sp[0]},${sp[1]}`, sp);
      for (let r = sp[0]; r <= sp[2]; r++) for (let c = sp[1]; c <= sp[3]; c++) if (r !== sp[0] || c !== sp[1]) covered.add(`${r},${c}`);
    }
    rows.forEach((cols, r) =>
      cols.forEach((text, c) => {
        if (covered.has(`${r},${c}`)) return;
        const sp = origin.get(`${r},${c}`);
        const rowSpan = sp ? sp[2] - sp[0] + 1 : 1;
        const colSpan = sp ? sp[3] - sp[1] + 1 : 1;
        const type = typed?.(text);
        cells.push({
          row: row0 + r,
          col: c,
          rowSpan,
          colSpan,
          text,
          page,
          header: r < headerRows,
          bbox: { x0: x + 20 * c, y0: y + 10 * r, x1: x + 20 * (c + colSpan), y1: y + 10 * (r + rowSpan) },
          ...(type ? { value: { type } } : {}),
        });
      }),
    );
    const w = Math.max(...rows.map((r) => r.length));
    regions.push({ page, bbox: { x0: x, y0: y, x1: x + 20 * w, y1: y + 10 * rows.length } });
    row0 += rows.length;
  }
  return { regions, cells };
}

/** An ICDAR expectation: tables on `pages`, regions given top-left as [x, y, w, h]. */
const icdar = (tables: string[][][], pages: number[], boxes: [number, number, number, number][], spans: Span[][] = []) =>
  parseExpected({ page: pages[0], table_pages: pages, tables, table_bboxes_pdf: boxes.map((b) => pdfBox(...b)), spans, ground_truth: 'human' });
const scoreOf = (exp: ReturnType<typeof icdar>, tables: TableLike[]) => scoreIcdar(exp, tables, () => PAGE);

describe('adjacencyRelations', () => {
  test('a simple grid: each cell to its right neighbour and the one below', () => {
    assert.deepEqual(rels([['a', 'b', 'c'], ['d', 'e', 'f']]), ['a>b', 'a^d', 'b>c', 'b^e', 'c^f', 'd>e', 'e>f']);
  });

  test('texts are normalised; direction matters', () => {
    const r = adjacencyRelations(cellsFromGrid([['Total \n', 'X']]));
    assert.deepEqual(r, [{ a: 'total', b: 'x', dir: 'h' }]);
    assert.notEqual(relationKey({ a: 'a', b: 'b', dir: 'h' }), relationKey({ a: 'a', b: 'b', dir: 'v' }));
  });

  test('a column-spanning header relates to every cell below it, never to itself', () => {
    assert.deepEqual(rels([['h', '', ''], ['a', 'b', 'c']], [[0, 0, 0, 2]]), ['a>b', 'b>c', 'h^a', 'h^b', 'h^c']);
  });

  test('a pair of cells met in several rows is counted once', () => {
    // x and y both span two rows: one relation, not two; z below x.
    assert.deepEqual(rels([['x', 'y'], ['', ''], ['z', '']], [[0, 0, 1, 0], [0, 1, 1, 1]]), ['x>y', 'x^z']);
    // A row-spanning label next to two cells: one relation with each.
    assert.deepEqual(rels([['l', '1'], ['', '2']], [[0, 0, 1, 0]]), ['1^2', 'l>1', 'l>2']);
  });

  test('empty cells are skipped: the nearest non-empty neighbour is related', () => {
    assert.deepEqual(rels([['a', '', 'b'], ['', ' ', ''], ['c', 'd', '\n']]), ['a>b', 'a^c', 'c>d']);
    assert.deepEqual(rels([['', ''], ['', '']]), []);
  });

  test('extracted Table.cells with a span give the same relations as the annotated grid', () => {
    const cells = cellsFromTable([
      { row: 0, col: 0, rowSpan: 1, colSpan: 3, text: 'H' },
      { row: 1, col: 0, rowSpan: 1, colSpan: 1, text: 'a' },
      { row: 1, col: 1, rowSpan: 1, colSpan: 1, text: 'b' },
      { row: 1, col: 2, rowSpan: 1, colSpan: 1, text: 'c' },
    ]);
    const keys = (r: ReturnType<typeof adjacencyRelations>) => r.map(relationKey).sort();
    assert.deepEqual(keys(adjacencyRelations(cells)), keys(adjacencyRelations(cellsFromGrid([['H', '', ''], ['a', 'b', 'c']], [[0, 0, 0, 2]]))));
  });

  test('relations compare as multisets', () => {
    const want = adjacencyRelations(cellsFromGrid([['0', '0'], ['0', '0']]));
    const got = adjacencyRelations(cellsFromGrid([['0', '0']]));
    assert.equal(want.length, 4);
    const d = multisetDiff(want, got, relationKey);
    assert.deepEqual([d.matched, d.missed.length, d.extra.length], [1, 3, 0]);
  });
});

describe('ICDAR pairing and scores', () => {
  test('table_bboxes_pdf: read per table, turned to the top-left frame of the displayed page', () => {
    const e = icdar([[['a']], [['b']]], [1, 2], [[50, 60, 100, 40], [0, 0, 10, 10]]);
    assert.deepEqual(e.tables[0]!.bboxPdf, [50, 700, 150, 740]);
    assert.deepEqual(pdfBoxToPage(e.tables[0]!.bboxPdf!, PAGE), { x0: 50, y0: 60, x1: 150, y1: 100 });
    // /Rotate 90: the displayed page is 800 wide, 600 high; PDF (x, y) shows at (y, x).
    assert.deepEqual(pdfBoxToPage([50, 700, 150, 740], { width: 800, height: 600, rotation: 90 }), { x0: 700, y0: 50, x1: 740, y1: 150 });
    assert.deepEqual(pdfBoxToPage([50, 700, 150, 740], { width: 600, height: 800, rotation: 180 }), { x0: 450, y0: 700, x1: 550, y1: 740 });
    assert.throws(() => parseExpected({ page: 1, tables: [[['a']], [['b']]], table_bboxes_pdf: [[1, 2, 3, 4]] }), /table_bboxes_pdf/);
  });

  test('pairs by region overlap; an unpaired extracted table costs precision, an unpaired annotated one recall', () => {
    const A = [['Name', 'Qty'], ['apple', '3'], ['pear', '5']]; // 7 relations, 6 cells
    const B = [['x', 'y'], ['1', '2']]; // 4 relations, 4 cells
    const exp = icdar([A, B], [1, 1], [[100, 100, 40, 30], [100, 300, 40, 20]]);
    // One table found over A (same text), a junk 2x2 table elsewhere on the page, nothing over B;
    // a copy of B's texts on page 2 must not pair with B (other page).
    const junk = extracted({ rows: [['j1', 'j2'], ['j3', 'j4']], x: 400, y: 500 });
    const onA = extracted({ rows: A, x: 100, y: 100 });
    const bElsewhere = extracted({ rows: B, page: 2, x: 100, y: 300 });
    const s = scoreOf(exp, [junk, onA, bElsewhere]);
    assert.deepEqual(s.tables.map((t) => t.table), [1, -1]);
    assert.deepEqual(s.tables.map((t) => t.diagnosis), ['ok', 'missed']);
    assert.deepEqual(s.relations, { matched: 7, expected: 7 + 4, extracted: 7 + 4 + 4 });
    assert.deepEqual(s.cells, { matched: 6, expected: 6 + 4, extracted: 6 + 4 + 4 });
    assert.deepEqual(s.unpaired.map((u) => u.piece).sort(), [0, 2]);
  });

  test('pairing follows the region, not the text: a wrong table over the region is paired and scores 0', () => {
    const exp = icdar([[['a', 'b'], ['c', 'd']]], [1], [[100, 100, 40, 20]]);
    const s = scoreOf(exp, [extracted({ rows: [['a', 'b'], ['c', 'd']], x: 300, y: 400 }), extracted({ rows: [['p', 'q'], ['r', 's']], x: 100, y: 100 })]);
    assert.equal(s.tables[0]!.table, 1);
    assert.deepEqual(s.relations, { matched: 0, expected: 4, extracted: 8 });
  });

  test('a table merged across pages is scored on the page it pairs on; its part on the other page counts as extra', () => {
    const exp = icdar([[['a', 'b'], ['c', 'd']]], [2], [[100, 100, 40, 20]]);
    const t = extracted({ rows: [['x', 'y'], ['z', 'w']], page: 1, x: 100, y: 700 }, { rows: [['a', 'b'], ['c', 'd']], page: 2, x: 100, y: 100 });
    assert.deepEqual(piecesOf([t]).map((p) => [p.page, p.cells.length]), [
      [1, 4],
      [2, 4],
    ]);
    const s = scoreOf(exp, [t]);
    assert.equal(s.tables[0]!.page, 2);
    assert.deepEqual([s.tables[0]!.relations.matched, s.tables[0]!.relations.extracted], [4, 4]);
    // Rows 2-3 of the table on page 2 relate among themselves only: nothing crosses the page break.
    assert.deepEqual(s.relations, { matched: 4, expected: 4, extracted: 8 });
  });

  test('the larger overlap wins; each extracted table pairs once', () => {
    // Annotated: a one-row table B (listed first) under a three-row table A.
    const exp = icdar([[['g', 'h']], [['a', 'b'], ['c', 'd'], ['e', 'f']]], [1, 1], [[100, 130, 40, 10], [100, 100, 40, 30]]);
    // One 4-row table over both regions: 6 of its cells lie in A, 2 in B: it pairs with A, B is left unpaired (merged into it).
    const s = scoreOf(exp, [extracted({ rows: [['a', 'b'], ['c', 'd'], ['e', 'f'], ['g', 'h']], x: 100, y: 100 })]);
    assert.deepEqual(s.pairing.overlap, [[2], [6]]);
    assert.deepEqual(s.tables.map((t) => t.table), [-1, 0]);
    assert.deepEqual(s.tables.map((t) => t.diagnosis), ['merged', 'merged']);
    // A's 7 relations match; B's 1 is missed; the piece's 10 relations all count as extracted.
    assert.deepEqual(s.relations, { matched: 7, expected: 8, extracted: 10 });
  });

  test('cell F1: spanned cells counted once, matched by normalised text as a multiset', () => {
    const exp = icdar([[['Head', '', ''], ['a', 'b', 'a']]], [1], [[100, 100, 60, 20]], [[[0, 0, 0, 2]]]);
    // Found with the span (Table.cells): 4 of 4.
    const spanned = scoreOf(exp, [extracted({ rows: [['HEAD', '', ''], ['a', 'b', 'a']], spans: [[0, 0, 0, 2]] })]);
    assert.deepEqual(spanned.cells, { matched: 4, expected: 4, extracted: 4 });
    // The header repeated in every column (no span): the copies are extra; one 'a' missing: a miss.
    const repeated = scoreOf(exp, [extracted({ rows: [['Head', 'Head', 'Head'], ['a', 'b', '']] })]);
    assert.deepEqual(repeated.cells, { matched: 3, expected: 4, extracted: 5 });
    const c = prf(repeated.cells.matched, repeated.cells.expected, repeated.cells.extracted);
    assert.equal(c.f1, (2 * (3 / 5) * (3 / 4)) / (3 / 5 + 3 / 4));
    // Not found at all: every cell missed.
    assert.deepEqual(scoreOf(exp, []).cells, { matched: 0, expected: 4, extracted: 0 });
  });
});

describe('ICDAR diagnoses', () => {
  const A = [['k', 'v'], ['a', '1'], ['b', '2'], ['c', '3']];
  const region: [number, number, number, number] = [100, 100, 40, 40];
  const one = (tables: TableLike[]) => scoreOf(icdar([A], [1], [region]), tables).tables[0]!;

  test('ok: same rows and columns', () => {
    const t = one([extracted({ rows: A })]);
    assert.deepEqual([t.diagnosis, t.size, t.extractedSize], ['ok', [4, 2], [4, 2]]);
  });

  test('missed: nothing overlaps the region (a table elsewhere with the same text does not count)', () => {
    const t = one([extracted({ rows: A, x: 300, y: 500 })]);
    assert.deepEqual([t.diagnosis, t.table, t.extractedSize], ['missed', -1, undefined]);
  });

  test('split: two extracted tables each hold a part of it', () => {
    const t = one([extracted({ rows: A.slice(0, 2) }), extracted({ rows: A.slice(2), y: 120 })]);
    assert.equal(t.diagnosis, 'split');
    assert.equal(t.table, 0);
    assert.deepEqual(t.overlapping, [0, 1]);
  });

  test('merged: the paired table also covers another annotated table', () => {
    const exp = icdar([A, [['x', 'y'], ['8', '9']]], [1, 1], [region, [100, 140, 40, 20]]);
    const s = scoreOf(exp, [extracted({ rows: [...A, ['x', 'y'], ['8', '9']] })]);
    assert.deepEqual(s.tables.map((t) => [t.diagnosis, t.table]), [
      ['merged', 0],
      ['merged', -1],
    ]);
  });

  test('rows: a row too many (a title taken in); cols: a column split in two', () => {
    const title = one([extracted({ rows: [['Table 1', ''], ...A], y: 90 })]);
    assert.deepEqual([title.diagnosis, title.size, title.extractedSize], ['rows', [4, 2], [5, 2]]);
    // Relations: the title adds one (title above 'k'), everything else matches.
    assert.deepEqual([title.relations.matched, title.relations.expected, title.relations.extracted], [10, 10, 11]);
    // 'a' read as two cells 'a' and 'x': a third occupied column.
    const split = one([extracted({ rows: [['k', '', 'v'], ['a', 'x', '1'], ['b', '', '2'], ['c', '', '3']] })]);
    assert.deepEqual([split.diagnosis, split.size, split.extractedSize], ['cols', [4, 2], [4, 3]]);
    // a>1 becomes a>x and x>1: 9 of 10 match, 11 extracted (x^.. none: alone in its column).
    assert.deepEqual([split.relations.matched, split.relations.expected, split.relations.extracted], [9, 10, 11]);
  });

  test('empty rows and columns do not change the size', () => {
    const t = one([extracted({ rows: [['', '', ''], ['k', '', 'v'], ['a', '', '1'], ['b', '', '2'], ['c', '', '3']], y: 90 })]);
    assert.deepEqual([t.diagnosis, t.extractedSize], ['ok', [4, 2]]);
    assert.deepEqual([t.relations.matched, t.relations.expected, t.relations.extracted], [10, 10, 10]);
  });
});

describe('numeric columns', () => {
  test('looksNumeric', () => {
    for (const yes of ['12', '1,234', '1,234.5', '1.234,5', '-3.2%', '(1 200)', '$12', 'US$ 5', '12 €', '.5', '+7', '−4', '0,25', '12 %']) assert.ok(looksNumeric(yes), yes);
    for (const no of ['', '-', 'n/a', '12-34', '1.2.3', '12a', 'A12', '1269 (19.9%)', '..', '12/03/2024']) assert.ok(!looksNumeric(no), no);
  });

  const A = [['Item', 'Qty', 'Price', 'Note'], ['a', '1,200', '$3.50', 'x'], ['b', '7', '$4.00', '12']];
  const typed = (t: string) => (/^\$/.test(t) ? 'currency' : /^[\d,]+$/.test(t) ? 'number' : undefined);

  test('every body cell of a numeric column typed: ok; a column with a word in its body is not numeric', () => {
    const cells = piecesOf([extracted({ rows: A, typed, headerRows: 1 })])[0]!.cells;
    const n = numericColumns(cellsFromGrid(A), cells);
    assert.deepEqual(n.map((c) => [c.col, c.extractedCol, c.typed, c.cells, c.ok]), [
      [1, 1, 2, 2, true],
      [2, 2, 2, 2, true],
    ]);
  });

  test('an untyped body cell fails the column; the extracted column is found by its texts, header cells do not count', () => {
    // The annotation's first row is a title, so the year row counts as body: its columns are numeric.
    const want = [['Table 1', '', ''], ['Item', '2024', '2025'], ['a', '1,200', '$3.50'], ['b', '7', '$4.00']];
    // Extracted one column to the right, with two header rows (years untyped there), and '7' left untyped.
    const rows = want.map((r) => ['', ...r]);
    const cells = piecesOf([extracted({ rows, typed: (t) => (['7', '2024', '2025'].includes(t) ? undefined : typed(t)), headerRows: 2 })])[0]!.cells;
    const n = numericColumns(cellsFromGrid(want), cells);
    assert.deepEqual(n.map((c) => [c.col, c.extractedCol, c.typed, c.cells, c.ok]), [
      [1, 2, 1, 2, false],
      [2, 3, 2, 2, true],
    ]);
  });

  test('a column whose texts are nowhere in the extracted table is not numeric; scoreIcdar counts paired tables only', () => {
    const n = numericColumns(cellsFromGrid([['h'], ['1'], ['2']]), piecesOf([extracted({ rows: [['h'], ['12']] })])[0]!.cells);
    assert.deepEqual(n.map((c) => [c.extractedCol, c.cells, c.ok]), [[-1, 0, false]]);
    const exp = icdar([A], [1], [[100, 100, 80, 30]]);
    assert.deepEqual(scoreOf(exp, [extracted({ rows: A, typed, headerRows: 1 })]).numeric, { columns: 2, ok: 2 });
    assert.deepEqual(scoreOf(exp, []).numeric, { columns: 0, ok: 0 });
  });
});
