// Table detection on PDFs generated here: assertions on the cell grid, spans, header rows,
// typed values, page-break merging and rotated pages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { extractDocument } from '../pipelines/extract.ts';
import { loadConfig } from '../schemas/config.ts';
import type { Document, Table } from '../schemas/document.ts';
import { detectTables, looksTabular } from '../extractors/tables.ts';
import type { PageWord } from '../extractors/layout.ts';
import { expectedGrid, SALES_TABLE, tablesPdf, type TableSpec } from './fixtures/tables.ts';

const cfg = { ...loadConfig({}, {}), render: 'none' as const };

async function extract(bytes: Uint8Array, name = 't.pdf'): Promise<Document> {
  return extractDocument({ bytes, uri: `file:///${name}`, name }, cfg);
}

const cell = (t: Table, row: number, col: number) => t.cells.find((c) => c.row === row && c.col === col);

const SPANNED = SALES_TABLE;

describe('table detection', () => {
  test('a ruled table with a stacked, spanning header, multi-line cells and typed values', async () => {
    const doc = await extract(await tablesPdf([{ tables: [SPANNED], texts: [['Quarterly sales by region, all figures audited.', 72, 100]] }]));
    assert.equal(doc.tables.length, 1);
    const t = doc.tables[0]!;
    assert.equal(t.method, 'lattice');
    assert.deepEqual([t.rowCount, t.colCount, t.headerRows], [5, 4, 2]);
    assert.deepEqual(t.rows, expectedGrid(SPANNED));
    assert.deepEqual(
      t.cells.filter((c) => c.rowSpan > 1 || c.colSpan > 1).map((c) => [c.text, c.row, c.col, c.rowSpan, c.colSpan]),
      [
        ['Region', 0, 0, 2, 1],
        ['Sales', 0, 1, 1, 2],
        ['Change', 0, 3, 2, 1],
      ],
    );
    assert.equal(cell(t, 3, 0)!.text, 'South\nEast');
    assert.ok(t.cells.filter((c) => c.row < 2).every((c) => c.header));
    assert.ok(t.cells.filter((c) => c.row >= 2).every((c) => !c.header));
    assert.deepEqual(cell(t, 2, 1)!.value, { type: 'number', value: 1234 });
    assert.deepEqual(cell(t, 2, 2)!.value, { type: 'number', value: -1500 });
    assert.deepEqual(cell(t, 2, 3)!.value, { type: 'percent', value: 0.125 });
    assert.equal(cell(t, 3, 1)!.value?.type, 'currency');
    assert.deepEqual(cell(t, 4, 1)!.value, { type: 'date', value: '2024-03-31' });
    assert.equal(cell(t, 2, 0)!.value, undefined, 'text stays text');
    // Cell boxes are the ruled cells: 'Sales' spans the two middle columns.
    const sales = cell(t, 0, 1)!;
    assert.ok(Math.abs(sales.bbox.x0 - 182) < 1.5 && Math.abs(sales.bbox.x1 - 342) < 1.5, JSON.stringify(sales.bbox));
    // The table is one block in reading order, after the sentence above it; its words are not
    // repeated as paragraphs.
    const blocks = doc.pages[0]!.blocks;
    assert.deepEqual(blocks.map((b) => b.type), ['paragraph', 'table']);
    assert.equal(blocks[1]!.tableId, t.id);
    assert.doesNotMatch(blocks[0]!.text, /North|Region/);
  });

  test('an unruled table is found from text alignment', async () => {
    const spec: TableSpec = {
      x: 72,
      y: 140,
      colWidths: [120, 70, 70, 70],
      rowHeight: 16,
      rules: 'none',
      headerRows: 1,
      rows: [
        ['Item', 'Qty', 'Price', 'Total'],
        ['Apples', '3', '1.20', '3.60'],
        ['Pears', '10', '0.50', '5.00'],
        ['Plums', '7', '2.00', '14.00'],
        ['Figs', '1', '9.99', '9.99'],
        ['Dates', '12', '0.25', '3.00'],
      ],
    };
    const doc = await extract(
      await tablesPdf([{ tables: [spec], texts: [['Fruit sales in the first quarter were strong across every market we serve.', 72, 110]] }]),
    );
    assert.equal(doc.tables.length, 1);
    const t = doc.tables[0]!;
    assert.equal(t.method, 'stream');
    assert.deepEqual(t.rows, spec.rows);
    assert.equal(t.headerRows, 1);
    assert.deepEqual(cell(t, 3, 3)!.value, { type: 'number', value: 14 });
    assert.ok(doc.pages[0]!.blocks.some((b) => b.type === 'paragraph' && b.text.startsWith('Fruit sales')));
  });

  test('prose in two columns is not a table', async () => {
    const words = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i} lorem ipsum dolor sit amet`).join(' ');
    const texts: [string, number, number][] = [];
    for (let i = 0; i < 30; i++) {
      texts.push([words('left', 1).slice(0, 40), 50, 100 + i * 12], [words('right', 1).slice(0, 40), 320, 100 + i * 12]);
    }
    const doc = await extract(await tablesPdf([{ tables: [], texts }]));
    assert.equal(doc.tables.length, 0);
  });

  test('two tables on one page stay two tables', async () => {
    const a: TableSpec = { ...SPANNED, spans: [], headerRows: 1, rows: [['A', 'B', 'C', 'D'], ['1', '2', '3', '4'], ['5', '6', '7', '8']] };
    const b: TableSpec = { ...a, y: 400, rows: [['E', 'F', 'G', 'H'], ['9', '10', '11', '12']] };
    const doc = await extract(await tablesPdf([{ tables: [a, b] }]));
    assert.deepEqual(
      doc.tables.map((t) => t.rows),
      [a.rows, b.rows],
    );
    assert.deepEqual(doc.pages[0]!.blocks.filter((x) => x.type === 'table').map((x) => x.tableId), doc.tables.map((t) => t.id));
  });

  test('a table continued on the next page is one table that keeps each row’s page', async () => {
    const header = ['Account', 'Q1', 'Q2', 'Q3'];
    const body = (from: number, n: number) => Array.from({ length: n }, (_, i) => [`Account ${from + i}`, `${(from + i) * 10}`, `${(from + i) * 11}`, `${(from + i) * 12}`]);
    const base = { x: 72, colWidths: [150, 80, 80, 80], rowHeight: 18, rules: 'grid' as const, headerRows: 1 };
    const p1: TableSpec = { ...base, y: 460, rows: [header, ...body(1, 14)] }; // runs to the foot of page 1
    const p2: TableSpec = { ...base, y: 60, rows: [header, ...body(15, 5)] }; // header repeated on page 2
    const doc = await extract(await tablesPdf([{ tables: [p1], texts: [['Ledger of accounts for the year.', 72, 440]] }, { tables: [p2] }]));
    assert.equal(doc.tables.length, 1, JSON.stringify(doc.tables.map((t) => t.regions)));
    const t = doc.tables[0]!;
    assert.equal(t.rowCount, 1 + 14 + 5, 'the repeated header is not a row');
    assert.deepEqual(t.rows, [header, ...body(1, 19)]);
    assert.deepEqual(t.rowPages, [...Array(15).fill(1), ...Array(5).fill(2)]);
    assert.deepEqual(t.regions.map((r) => r.page), [1, 2]);
    assert.equal(cell(t, 17, 0)!.page, 2);
    const tableBlocks = doc.pages.flatMap((p) => p.blocks.filter((b) => b.type === 'table'));
    assert.deepEqual(tableBlocks.map((b) => [b.provenance.page, b.tableId]), [[1, t.id], [2, t.id]]);
  });

  test('a table on a page with /Rotate 90 reads as displayed', async () => {
    const spec: TableSpec = { ...SPANNED, x: 80, y: 90, colWidths: [160, 110, 110, 110] };
    const doc = await extract(await tablesPdf([{ rotation: 90, tables: [spec] }]));
    assert.equal(doc.pages[0]!.width, 792);
    assert.equal(doc.tables.length, 1);
    assert.deepEqual(doc.tables[0]!.rows, expectedGrid(spec));
    const bbox = doc.tables[0]!.regions[0]!.bbox;
    assert.ok(Math.abs(bbox.x0 - 80) < 1.5 && Math.abs(bbox.x1 - 570) < 1.5, JSON.stringify(bbox));
  });

  test('unruled cells that form an L stay separate cells, never overlapping spans', () => {
    // A 2x2 grid at (100..300, 100..300) missing the rules between (0,0)-(0,1) and (0,0)-(1,0).
    const seg = (dir: 'h' | 'v', pos: number, from: number, to: number) => ({ dir, pos, from, to });
    const segments = [
      seg('h', 100, 100, 300), seg('h', 300, 100, 300), seg('h', 200, 200, 300),
      seg('v', 100, 100, 300), seg('v', 300, 100, 300), seg('v', 200, 200, 300),
    ];
    const word = (text: string, x: number, y: number) => ({ text, bbox: { x0: x, y0: y, x1: x + 30, y1: y + 10 }, angle: 0, size: 10, bold: false });
    const words = [word('a', 120, 140), word('b', 220, 140), word('c', 120, 240), word('d', 220, 240)];
    const [t] = detectTables(words, segments, 612);
    assert.ok(t);
    assert.deepEqual(
      t.cells.map((c) => [c.row, c.col, c.rowSpan, c.colSpan, c.text]),
      [[0, 0, 1, 1, 'a'], [0, 1, 1, 1, 'b'], [1, 0, 1, 1, 'c'], [1, 1, 1, 1, 'd']],
    );
  });

  test('a totals row under the rules joins the table; a sentence under it does not, even where no word crosses a border', () => {
    // A 3 x 2 grid at (100..400, 100..190), rows of 30 pt.
    const seg = (dir: 'h' | 'v', pos: number, from: number, to: number) => ({ dir, pos, from, to });
    const segments = [100, 130, 160, 190].map((y) => seg('h', y, 100, 400)).concat([100, 250, 400].map((x) => seg('v', x, 100, 190)));
    const word = (text: string, x: number, y: number, w = 30) => ({ text, bbox: { x0: x, y0: y, x1: x + w, y1: y + 10 }, angle: 0, size: 10, bold: false });
    const cells = [word('Rent', 110, 110), word('120', 260, 110), word('Power', 110, 140), word('45', 260, 140), word('Water', 110, 170), word('12', 260, 170)];
    // A line of running text 8 pt under the grid; the column border at x = 250 falls in the word space between "costs" and "for".
    const sentence = [word('These', 110, 198), word('are', 143, 198, 16), word('monthly', 162, 198, 40), word('costs', 205, 198, 41), word('for', 249, 198, 15), word('the', 267, 198, 17), word('office.', 287, 198, 32)];
    const [t] = detectTables([...cells, ...sentence], segments, 612);
    assert.deepEqual([t?.rows, t?.cols], [3, 2], 'the sentence stays out');
    const totals = [word('Total', 110, 198), word('177', 260, 198)];
    const [u] = detectTables([...cells, ...totals], segments, 612);
    assert.deepEqual([u?.rows, u?.cols], [4, 2], 'the totals row comes in');
  });

  describe('ruled grids that are not tables', () => {
    const seg = (dir: 'h' | 'v', pos: number, from: number, to: number) => ({ dir, pos, from, to });
    // A 10 x 8 grid of 20 pt squares at (100..260, 100..300): a chart's gridlines.
    const grid = [
      ...Array.from({ length: 11 }, (_, i) => seg('h', 100 + 20 * i, 100, 260)),
      ...Array.from({ length: 9 }, (_, i) => seg('v', 100 + 20 * i, 100, 300)),
    ];
    const word = (text: string, row: number, col: number) => ({ text, bbox: { x0: 102 + 20 * col, y0: 104 + 20 * row, x1: 116 + 20 * col, y1: 114 + 20 * row }, angle: 0, size: 8, bold: false });

    test('a chart: axis labels down one column and a legend entry', () => {
      const words = [...Array.from({ length: 10 }, (_, r) => word(`${100 - 10 * r}`, r, 0)), word('Load', 4, 5)];
      assert.deepEqual(detectTables(words, grid, 612), []);
    });

    test('the same grid with a few cells filled on every row is a (sparse) table', () => {
      const words = Array.from({ length: 10 }, (_, r) => [word(`r${r}`, r, 0), word(`${r * 3}`, r, 3 + (r % 4))]).flat();
      const [t] = detectTables(words, grid, 612);
      assert.ok(t, 'a table');
      assert.deepEqual([t.rows, t.cols], [10, 8]);
    });

    test('labels in a symbol font (punctuation to pdf.js) are not a table; words are', () => {
      const soup = Array.from({ length: 10 }, (_, r) => [word('%#', r, 0), word('&(', r, 1), word('$', r, 2 + (r % 6))]).flat();
      assert.deepEqual(detectTables(soup, grid, 612), []);
      const words = Array.from({ length: 10 }, (_, r) => [word('%#', r, 0), word(`a${r}`, r, 1), word(`${r}`, r, 2 + (r % 6))]).flat();
      assert.equal(detectTables(words, grid, 612).length, 1);
      // A matrix of check marks and placeholders is a table, though few cells hold a letter.
      const marks = Array.from({ length: 10 }, (_, r) => [word(`f${r}`, r, 0), ...[1, 2, 3, 4, 5, 6, 7].map((c) => word((r + c) % 3 ? '✓' : '--', r, c))]).flat();
      assert.equal(detectTables(marks, grid, 612).length, 1);
    });

    test('OCR: a grid whose words the engine is mostly unsure of is a chart read as text, not a table', () => {
      // The sparse table above, read from pixels: sure of its cells it is a table; with the
      // engine's junk from a chart's curves (unsure words) in two cells of five, it is not.
      const cells = Array.from({ length: 10 }, (_, r) => [word(`r${r}`, r, 0), word(`${r * 3}`, r, 3 + (r % 4))]).flat();
      const sure = cells.map((w) => ({ ...w, conf: 0.93 }));
      assert.equal(detectTables(sure, grid, 612).length, 1);
      const junk = sure.map((w, i) => (i % 5 < 2 ? { ...w, text: 'Lal', conf: 0.31 } : w));
      assert.deepEqual(detectTables(junk, grid, 612).filter((t) => t.method === 'lattice'), []);
      // A poor scan's table, a few words in ten unsure, stays a table.
      const poor = sure.map((w, i) => (i % 10 < 2 ? { ...w, conf: 0.45 } : w));
      assert.equal(detectTables(poor, grid, 612).filter((t) => t.method === 'lattice').length, 1);
    });
  });

  test('tables can be switched off (the text-only path)', async () => {
    const doc = await extractDocument({ bytes: await tablesPdf([{ tables: [SPANNED] }]), uri: 'file:///x.pdf', name: 'x.pdf' }, { ...cfg, tables: false });
    assert.equal(doc.tables.length, 0);
    assert.ok(doc.pages[0]!.blocks.some((b) => /North/.test(b.text)));
  });
});

describe('looksTabular (whether a page is worth reading its rules for)', () => {
  // One word per entry: [text, x0, baseline y]; 10 pt type, 5.5 pt per character.
  const words = (rows: [string, number][][], top = 100): PageWord[] =>
    rows.flatMap((row, i) =>
      row.map(([text, x]) => ({ text, bbox: { x0: x, y0: top + 14 * i, x1: x + 5.5 * text.length, y1: top + 14 * i + 10 }, angle: 0, size: 10, bold: false })),
    );

  test('rows of short pieces that line up in columns are tabular', () => {
    const rows: [string, number][][] = ['North', 'South', 'East', 'West'].map((region, i) => [
      [region, 72],
      [`${120 + i}`, 200],
      [`${(3.5 + i).toFixed(1)}%`, 300],
    ]);
    assert.equal(looksTabular(words(rows)), true);
    // Numbers aligned on their right edges only are a column too.
    const right: [string, number][][] = ['1', '22', '333', '4444'].map((n, i) => [
      [`Item ${i}`, 72],
      [n, 260 - 5.5 * n.length],
    ]);
    assert.equal(looksTabular(words(right)), true);
  });

  test('prose, and short pieces that do not line up, are not', () => {
    const prose: [string, number][][] = Array.from({ length: 8 }, () => [['The', 72], ['quick', 95], ['brown', 127], ['fox', 160], ['jumps', 180], ['over', 215], ['the', 240], ['lazy', 262], ['dog.', 288]]);
    assert.equal(looksTabular(words(prose)), false);
    // Justified lines wrongly split into short pieces: only the margins (72 and 500) line up.
    const split: [string, number][][] = [
      [['ab', 72], ['cd', 141], ['ef', 300], ['gh', 489]],
      [['ijk', 72], ['kl', 190], ['mn', 377], ['opq', 483.5]],
      [['q', 72], ['st', 233], ['uv', 268], ['w', 494.5]],
      [['yzab', 72], ['ab', 111], ['cd', 402], ['efgh', 478]],
    ];
    assert.equal(looksTabular(words(split)), false);
    // Glyphs pdf.js cannot map (punctuation soup), even where some of them line up.
    const soup: [string, number][][] = Array.from({ length: 5 }, (_, i) => [['%', 91 + 40 * (i % 2)], ['&', 200], ['$', 300 + 7 * i]]);
    assert.equal(looksTabular(words(soup)), false);
  });
});

describe('unruled tables beside running text', () => {
  // Words of 10 pt type, 5.5 pt per character, 3 pt between words; rows 14 pt apart.
  const line = (text: string, x: number): [string, number][] => {
    const out: [string, number][] = [];
    for (const w of text.split(' ')) {
      out.push([w, x]);
      x += 5.5 * w.length + 3;
    }
    return out;
  };
  const toWords = (rows: [string, number][][]): PageWord[] =>
    rows.flatMap((row, i) => row.map(([text, x]) => ({ text, bbox: { x0: x, y0: 100 + 14 * i, x1: x + 5.5 * text.length, y1: 110 + 14 * i }, angle: 0, size: 10, bold: false })));
  const prose = [
    'Because traces are in SSA form and have no join points',
    'or phi nodes, certain optimizations are easy to apply.',
    'To get good startup performance the optimizations must',
    'run quickly, so we chose a small set of optimizations.',
    'We implemented them as pipelined filters so that they',
    'can be turned on and off independently of each other.',
  ];

  test('a column of prose lines is not part of the table beside it', () => {
    const table = [
      ['Tag', 'Type', 'Description'],
      ['xx1', 'number', 'integer value'],
      ['000', 'object', 'object handle'],
      ['010', 'number', 'double handle'],
      ['100', 'string', 'string handle'],
      ['110', 'boolean', 'null or boolean'],
    ];
    const rows = prose.map((p, i) => [...line(p, 40), ...line(table[i]![0]!, 380), ...line(table[i]![1]!, 420), ...line(table[i]![2]!, 470)]);
    const found = detectTables(toWords(rows), [], 612);
    assert.equal(found.length, 1);
    const t = found[0]!;
    assert.equal(t.cols, 3);
    const text = (r: number, c: number) => t.cells.find((x) => x.row === r && x.col === c)?.text;
    assert.deepEqual([0, 1, 2].map((c) => text(0, c)), ['Tag', 'Type', 'Description']);
    assert.deepEqual([0, 1, 2].map((c) => text(5, c)), ['110', 'boolean', 'null or boolean']);
    assert.ok(t.bbox.x0 >= 370, `the table starts right of the prose, not at ${t.bbox.x0}`);
  });

  test('prose beside the scattered labels of a figure gives no table', () => {
    const labels: [string, number][][] = [[['Symbol Key', 520]], [['Interpret', 440]], [['Record', 390], ['Enter', 450]], [['loop', 450]], [['Compile', 390], ['Execute', 460]], [['Leave', 500]]];
    const rows = prose.map((p, i) => [...line(p, 40), ...labels[i]!]);
    assert.deepEqual(detectTables(toWords(rows), [], 612), []);
  });
});
