// Tables as people lay them out, on PDFs generated here: ruled only across (booktabs), partly
// ruled, unruled under a caption, stacked without space between them, a ruled box holding rows
// of figures, a title inside the frame, beside two columns of prose. Asserted: the grid, spans,
// header rows, the caption, and keys a person would type in SQL.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { persistDocument } from '../db/persist.ts';
import { toMarkdown } from '../pipelines/markdown.ts';
import { extractDocument } from '../pipelines/extract.ts';
import { loadConfig } from '../schemas/config.ts';
import type { Document, Table } from '../schemas/document.ts';
import { expectedGrid, tablesPdf, type TableSpec } from './fixtures/tables.ts';
import { backends } from './support/backends.ts';

const cfg = { ...loadConfig({}, {}), render: 'none' as const };
const extract = (bytes: Uint8Array, name = 't.pdf'): Promise<Document> => extractDocument({ bytes, uri: `file:///${name}`, name }, cfg);

const MONTHS: string[][] = [
  ['Month', 'Orders', 'Returns', 'Revenue'],
  ['January', '1,204', '31', '48,200'],
  ['February', '1,310', '28', '52,950'],
  ['March', '1,498', '40', '61,300'],
  ['April', '1,377', '35', '55,120'],
  ['May', '1,625', '44', '66,010'],
];

const spec = (over: Partial<TableSpec>): TableSpec => ({ x: 72, y: 140, colWidths: [120, 80, 80, 90], rowHeight: 18, headerRows: 1, rules: 'none', fontSize: 10, rows: MONTHS, ...over });

const only = (doc: Document): Table => {
  assert.equal(doc.tables.length, 1, JSON.stringify(doc.tables.map((t) => t.rows)));
  return doc.tables[0]!;
};

describe('table layouts', () => {
  test('ruled only across (booktabs): top rule, a rule under the header, a bottom rule', async () => {
    const t = only(await extract(await tablesPdf([{ tables: [spec({ rules: 'booktabs' })] }])));
    assert.deepEqual(t.rows, MONTHS);
    assert.equal(t.headerRows, 1);
  });

  test('partly ruled: the header boxed, the body ruled only across, its columns from its text', async () => {
    const t = only(await extract(await tablesPdf([{ tables: [spec({ rules: 'header' })] }])));
    assert.deepEqual(t.rows, MONTHS);
    assert.ok(t.cells.every((c) => c.colSpan === 1), 'no body row is one cell across the table');
  });

  test('unruled under a caption: the caption is the table title, not a row', async () => {
    const doc = await extract(await tablesPdf([{ tables: [spec({ caption: 'Table 2: Orders by month, 2024' })] }]));
    const t = only(doc);
    assert.equal(t.caption, 'Table 2: Orders by month, 2024');
    assert.deepEqual(t.rows, MONTHS);
    assert.equal(t.headerRows, 1);
    // In Markdown the caption comes once, above the table.
    const md = toMarkdown(doc);
    assert.equal(md.split('Table 2: Orders by month, 2024').length - 1, 1, md);
    assert.ok(md.indexOf('Table 2:') < md.indexOf('| Month |'), md);
  });

  test('a title inside the frame is the caption; the headers under it name the columns', async () => {
    const rows = [['Exhibit B.4 Orders and returns by month, 2024 (continued)', '', '', ''], ...MONTHS];
    const t = only(await extract(await tablesPdf([{ tables: [spec({ rules: 'grid', rows, headerRows: 2, spans: [{ row: 0, col: 0, rowSpan: 1, colSpan: 4 }] })] }])));
    assert.equal(t.caption, 'Exhibit B.4 Orders and returns by month, 2024 (continued)');
    assert.deepEqual(t.rows, MONTHS);
    assert.equal(t.headerRows, 1);
  });

  test('two unruled tables stacked with only a title between them are two tables', async () => {
    const second: string[][] = [
      ['Region', 'Stores', 'Staff', 'Area'],
      ['North', '12', '340', '8,400'],
      ['South', '9', '255', '6,100'],
      ['East', '15', '410', '9,950'],
      ['West', '7', '180', '4,300'],
    ];
    // The second table's columns sit elsewhere; its title is one line right under the first table.
    const b: TableSpec = { x: 72, y: 140 + 6 * 18 + 14, colWidths: [70, 130, 60, 110], rowHeight: 18, headerRows: 1, rules: 'none', fontSize: 10, rows: second, caption: 'Table 3: Stores by region' };
    const doc = await extract(await tablesPdf([{ tables: [spec({}), b] }]));
    assert.equal(doc.tables.length, 2, JSON.stringify(doc.tables.map((t) => t.rows)));
    assert.deepEqual(doc.tables[0]!.rows, MONTHS);
    assert.deepEqual(doc.tables[1]!.rows, second);
    assert.equal(doc.tables[1]!.caption, 'Table 3: Stores by region');
  });

  test('a ruled box holding rows of figures side by side is as many rows', async () => {
    // One ruled row holds three lines in every column (no rules between them).
    const rows = [
      ['Age cohort', 'Head Start', 'Control', 'Total'],
      ['3-year-olds\n4-year-olds\nTotal', '1,530\n1,253\n2,783', '1,029\n855\n1,884', '2,559\n2,108\n4,667'],
    ];
    const t = only(await extract(await tablesPdf([{ tables: [spec({ rules: 'grid', rows, colWidths: [110, 90, 90, 90] })] }])));
    assert.deepEqual(t.rows, [
      ['Age cohort', 'Head Start', 'Control', 'Total'],
      ['3-year-olds', '1,530', '1,029', '2,559'],
      ['4-year-olds', '1,253', '855', '2,108'],
      ['Total', '2,783', '1,884', '4,667'],
    ]);
  });

  test('wrapped text in one cell of a ruled row stays one cell', async () => {
    const rows = [
      ['Source', 'Definition'],
      ['Major', 'Emissions of ten tons a year\nor more of any one toxic'],
      ['Area', 'Less than ten tons a year'],
    ];
    const t = only(await extract(await tablesPdf([{ tables: [spec({ rules: 'grid', rows, colWidths: [100, 220] })] }])));
    assert.deepEqual(t.rows, expectedGrid({ ...spec({ rows }), rows }));
  });

  test('a table beside two columns of prose takes none of the prose', async () => {
    const prose = [
      'The survey covered every store in the four regions and',
      'counted the staff on the payroll at the end of the year,',
      'including part-time workers and seasonal helpers hired',
      'for the holidays. Areas are given in square metres of',
      'selling space, not counting storage or offices at all.',
    ];
    const texts = prose.map((l, i): [string, number, number] => [l, 72, 160 + i * 14]);
    const small: TableSpec = { x: 360, y: 150, colWidths: [60, 50, 60], rowHeight: 16, headerRows: 1, rules: 'none', fontSize: 9, rows: [['Region', 'Stores', 'Staff'], ['North', '12', '340'], ['South', '9', '255'], ['East', '15', '410'], ['West', '7', '180']] };
    const doc = await extract(await tablesPdf([{ tables: [small], texts }]));
    const t = only(doc);
    assert.deepEqual(t.rows, small.rows);
    assert.ok(t.cells.every((c) => !/survey|payroll/.test(c.text)));
    assert.match(doc.pages[0]!.blocks.filter((b) => b.type === 'paragraph').map((b) => b.text).join(' '), /survey covered every store/);
  });
});

for (const backend of backends) {
  describe(`keys a person can type, on ${backend.name}`, () => {
    test('stacked headers join with " / ", a title stays out of the keys, the caption is on the table row', async (t) => {
      const db = await backend.open();
      t.after(() => db.close());
      const rows = [
        ['Exhibit B.4 Testing by state, 2005–06', '', '', ''],
        ['State', 'Testing 2005–06', '', 'Remarks'],
        ['', 'Number of districts', 'Share tested', ''],
        ['Ohio', '612', '98%', 'all grades'],
        ['Iowa', '348', '95%', 'grades 3 to 8'],
        ['Utah', '41', '100%', 'all grades'],
      ];
      const s: TableSpec = {
        x: 60,
        y: 120,
        colWidths: [90, 130, 90, 110],
        rowHeight: 18,
        headerRows: 3,
        rules: 'grid',
        fontSize: 9,
        rows,
        spans: [
          { row: 0, col: 0, rowSpan: 1, colSpan: 4 },
          { row: 1, col: 0, rowSpan: 2, colSpan: 1 },
          { row: 1, col: 1, rowSpan: 1, colSpan: 2 },
          { row: 1, col: 3, rowSpan: 2, colSpan: 1 },
        ],
      };
      const doc = await extract(await tablesPdf([{ tables: [s] }]), 'exhibit.pdf');
      const table = only(doc);
      assert.equal(table.caption, 'Exhibit B.4 Testing by state, 2005–06');
      await persistDocument(db, doc);
      const cols = await db.query('select name from table_columns order by col_no');
      assert.deepEqual(cols.rows.map((r) => r.name), ['State', 'Testing 2005–06 / Number of districts', 'Testing 2005–06 / Share tested', 'Remarks']);
      const q = await db.query(
        `select data->>'State' as state, (values->>'Testing 2005–06 / Number of districts')::int as districts, (values->>'Testing 2005–06 / Share tested')::float8 as share
         from table_rows order by row_no`,
      );
      assert.deepEqual(
        q.rows.map((r) => [r.state, r.districts, r.share]),
        [
          ['Ohio', 612, 0.98],
          ['Iowa', 348, 0.95],
          ['Utah', 41, 1],
        ],
      );
      const cap = await db.query('select caption from tables');
      assert.equal(cap.rows[0]!.caption, 'Exhibit B.4 Testing by state, 2005–06');
    });
  });
}
