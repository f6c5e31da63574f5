// The table benchmark's scorer (bench/table-score.ts) on small hand-made grids; no corpus needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  alignAndMatch,
  alignTables,
  assign,
  cellsFromGrid,
  cellsFromTable,
  compact,
  normalizeCellText,
  parseExpected,
  prf,
  scoreDocument,
  type ScoreCell,
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
