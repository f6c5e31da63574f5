// Tables in the database, on both back ends: storage with the document in one transaction, the
// round trip, typed cell values, the table_rows / table_columns views and materialized views;
// and the pure side (column names, grid, CSV, Markdown).
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { Database } from '../db/client.ts';
import { loadDocument, persistDocument, recordFailure } from '../db/persist.ts';
import {
  columnNames,
  csvField,
  gridText,
  headerTexts,
  inferColumnType,
  listTables,
  materializeAll,
  materializeTable,
  quoteIdent,
  sanitizeIdentifier,
  sqlColumnNames,
  tableToCsv,
  tableToMarkdown,
  viewName,
} from '../db/tables.ts';
import { toMarkdown } from '../pipelines/markdown.ts';
import { Document as DocumentSchema, type Document, type Table } from '../schemas/document.ts';
import { backends, type Backend } from './support/backends.ts';
import { sha256Hex } from './support/documents.ts';
import { T1_TOTALS, table1, table2, tableDocument } from './support/tables.ts';

async function open(backend: Backend, t: TestContext): Promise<Database> {
  const database = await backend.open();
  t.after(() => database.close());
  return database;
}

async function counts(database: Database): Promise<Record<string, number>> {
  const r = await database.query(
    `select (select count(*) from documents)::int as documents, (select count(*) from pages)::int as pages,
            (select count(*) from blocks)::int as blocks, (select count(*) from tables)::int as tables,
            (select count(*) from table_cells)::int as cells`,
  );
  return r.rows[0] as Record<string, number>;
}

function messages(err: unknown): string {
  const out: string[] = [];
  for (let e = err as { message?: unknown; cause?: unknown } | undefined; e && out.length < 5; e = e.cause as typeof e) out.push(String(e.message));
  return out.join('\n');
}

const cellCount = (doc: Document) => doc.tables.reduce((n, t) => n + t.cells.length, 0);
const blockCount = (doc: Document) => doc.pages.reduce((n, p) => n + p.blocks.length, 0);

/** A table with a header that tries SQL injection, to show that no header text reaches the SQL. */
function hostileDocument(): Document {
  const doc = tableDocument('hostile');
  const t2 = doc.tables[1]!;
  t2.cells.find((c) => c.row === 0 && c.col === 2)!.text = `x"); drop table documents; --`;
  t2.cells.find((c) => c.row === 0 && c.col === 1)!.text = 'row_no'; // the name of a column inside the view's SQL
  t2.rows = gridText(t2);
  return doc;
}

describe('tables without a database', () => {
  test('the hand-built Document is valid', () => {
    const doc = tableDocument();
    assert.deepEqual(DocumentSchema.parse(doc), doc);
    assert.equal(doc.tables[0]!.cells.find((c) => c.text === 'North')!.rowSpan, 2);
  });

  test('column names: stacked headers joined, spans cover each column, col_N, duplicates numbered', () => {
    assert.deepEqual(headerTexts(table1()), ['Region', 'Revenue / 2023', 'Revenue / 2024', 'Growth', 'Total', 'Reported', 'Note']);
    assert.deepEqual(columnNames(table2()), ['Item', 'col_2', 'Item_2']);
    const t = table2();
    t.headerRows = 0;
    assert.deepEqual(columnNames(t), ['col_1', 'col_2', 'col_3']);
    // Whitespace inside a header folds to one space.
    const u = table2();
    u.cells[0]!.text = '  Unit\n price\u00a0 ';
    assert.deepEqual(columnNames(u), ['Unit price', 'col_2', 'Item']);
  });

  test('gridText repeats a spanning cell and leaves positions without a cell empty', () => {
    const g = gridText(table1());
    assert.deepEqual(g[0], ['Region', 'Revenue', 'Revenue', 'Growth', 'Total', 'Reported', 'Note']);
    assert.deepEqual(g[1], ['Region', '2023', '2024', 'Growth', 'Total', 'Reported', 'Note']);
    assert.equal(g[3]![0], 'North');
    assert.deepEqual(gridText(table2())[2], ['Gadget "pro"', '', '7']);
  });

  test('CSV is RFC 4180: one header line of column names, quoted fields, doubled quotes, CRLF', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('cr\rhere'), '"cr\rhere"');
    assert.equal(tableToCsv(table2()), 'Item,col_2,Item_2\r\n"Widget, large","two\nlines",5\r\n"Gadget ""pro""",,7\r\n');
    const csv = tableToCsv(table1());
    const lines = csv.split('\r\n');
    assert.equal(lines[0], 'Region,Revenue / 2023,Revenue / 2024,Growth,Total,Reported,Note');
    assert.equal(lines[1], 'North,"1,234","(1,234)",12.5%,$3.00,2024-03-31,ok');
    assert.equal(lines[2], 'North,"2,000",2 500,(3.2%),"$1,200.50",31 Mar 2024,12-34');
    assert.equal(lines[4], 'West,1 234 567,900,0%,£3,,"He said ""hi"", then left"');
    assert.equal(lines.length, 6); // header, 4 rows, '' after the final CRLF
  });

  test('Markdown renders a table block as a GitHub table, once for a table continued on the next page', () => {
    const md = toMarkdown(tableDocument());
    const t1 = tableToMarkdown(table1());
    assert.equal(md.split(t1).length, 2, 'table t1 written exactly once');
    assert.match(t1, /^\| Region \| Revenue \/ 2023 \| Revenue \/ 2024 \| Growth \| Total \| Reported \| Note \|\n\|( --- \|){7}\n\| North \| 1,234 \|/);
    assert.match(md, /\| West \| 1 234 567 \| 900 \| 0% \| £3 \|  \| He said "hi", then left \|/);
    // Pipes are escaped, line breaks folded.
    assert.match(tableToMarkdown(table2()), /^\| Item \|  \| Item \|\n\| --- \| --- \| --- \|\n\| Widget, large \| two lines \| 5 \|\n\| Gadget "pro" \|  \| 7 \|$/);
    const piped = table2();
    piped.cells[3]!.text = 'a|b';
    assert.match(tableToMarkdown(piped), /\| a\\\|b \|/);
    assert.ok(md.indexOf('Revenue by region.') < md.indexOf('| Region |'));
    assert.ok(md.indexOf('| Item |') < md.indexOf('End of figures.'));
  });

  test('identifiers: sanitized, unique, never starting with a digit; view names from the file name', () => {
    assert.equal(sanitizeIdentifier('Revenue 2023 (€ m)'), 'revenue_2023_m');
    assert.equal(sanitizeIdentifier('Größe / Änderung %'), 'gro_e_anderung_pct');
    assert.equal(sanitizeIdentifier('x"); drop table documents; --'), 'x_drop_table_documents');
    assert.equal(sanitizeIdentifier('a'.repeat(100)).length, 63);
    assert.deepEqual(sqlColumnNames(['Item', '', 'Item', 'item', '2024', '%', '_row']), ['item', 'col_2', 'item_2', 'item_3', 'c_2024', 'pct', 'row']);
    assert.equal(quoteIdent('we"ird'), '"we""ird"');
    assert.equal(viewName('Annual Report 2024.pdf', 0), 'annual_report_2024_t1');
    assert.equal(viewName('2024.pdf', 2), 'd_2024_t3');
    assert.equal(viewName('???.pdf', 0), 'doc_t1');
    assert.equal(viewName('Annual Report.pdf', 0, '3f9a2c11-0000-4000-8000-000000000000'), 'annual_report_t1_3f9a2c11');
    const long = viewName('x'.repeat(200) + '.pdf', 11, '3f9a2c11-0000-4000-8000-000000000000');
    assert.equal(long.length, 63);
    assert.match(long, /^x+_t12_3f9a2c11$/);
  });

  test('column types: numeric, date or text from the body cells; dashes and n/a count as empty', () => {
    const c = (text: string, valueType: string | null) => ({ text, valueType });
    assert.equal(inferColumnType([c('1', 'number'), c('5%', 'percent'), c('$3', 'currency'), c('—', null), c('', null)]), 'numeric');
    assert.equal(inferColumnType([c('2024-01-01', 'date'), c('n/a', null)]), 'date');
    assert.equal(inferColumnType([c('1', 'number'), c('2024-01-01', 'date')]), 'text');
    assert.equal(inferColumnType([c('1', 'number'), c('A12', null)]), 'text');
    assert.equal(inferColumnType([c('-', null), c(' ', null)]), 'text');
    assert.equal(inferColumnType([]), 'text');
  });
});

for (const backend of backends) {
  describe(`tables on ${backend.name}`, () => {
    test('migrations create tables, table_cells and the views', async (t) => {
      const database = await open(backend, t);
      const r = await database.query(
        "select table_name, table_type from information_schema.tables where table_schema = 'public' and table_name like 'table%' order by 1",
      );
      assert.deepEqual(
        r.rows.map((x) => [x.table_name, x.table_type]),
        [
          ['table_cells', 'BASE TABLE'],
          ['table_columns', 'VIEW'],
          ['table_grid', 'VIEW'],
          ['table_rows', 'VIEW'],
          ['tables', 'BASE TABLE'],
        ],
      );
      const col = await database.query("select data_type from information_schema.columns where table_name = 'blocks' and column_name = 'table_key'");
      assert.equal(col.rows[0]!.data_type, 'text');
    });

    test('tables and cells are stored with the document, and the Document round-trips', async (t) => {
      const database = await open(backend, t);
      const doc = tableDocument();
      const { documentId } = await persistDocument(database, doc);
      assert.deepEqual(await counts(database), { documents: 1, pages: 2, blocks: blockCount(doc), tables: 2, cells: cellCount(doc) });
      const loaded = await loadDocument(database, documentId);
      assert.deepEqual(loaded, DocumentSchema.parse(doc));
      assert.deepEqual(
        loaded.pages.flatMap((p) => p.blocks.filter((b) => b.tableId).map((b) => [p.number, b.tableId])),
        [
          [1, 't1'],
          [2, 't1'],
          [2, 't2'],
        ],
      );
      const tables = await database.query(
        'select table_key, table_no, method, row_count, col_count, header_rows, page, row_pages, engine, model, prov_bbox from tables order by table_no',
      );
      assert.deepEqual(
        tables.rows.map((r) => [r.table_key, r.table_no, r.method, r.row_count, r.col_count, r.header_rows, r.page, r.row_pages, r.engine, r.model]),
        [
          ['t1', 0, 'lattice', 6, 7, 2, 1, [1, 1, 1, 1, 2, 2], 'pdf-text', null],
          ['t2', 1, 'stream', 3, 3, 1, 2, [2, 2, 2], 'ocr', 'tiny'],
        ],
      );
      assert.equal(tables.rows[0]!.prov_bbox, null);
      assert.deepEqual(tables.rows[1]!.prov_bbox, doc.tables[1]!.provenance.bbox);
      const blocks = await database.query("select block_key, table_key from blocks where type = 'table' order by reading_order");
      assert.deepEqual(blocks.rows, [
        { block_key: 'p1-b2', table_key: 't1' },
        { block_key: 'p2-b3', table_key: 't1' },
        { block_key: 'p2-b4', table_key: 't2' },
      ]);

      // Deleting the document deletes its tables and cells.
      await database.query('delete from documents where id = $1', [documentId]);
      assert.deepEqual(await counts(database), { documents: 0, pages: 0, blocks: 0, tables: 0, cells: 0 });
    });

    test('cells keep their text beside the typed value, and their provenance', async (t) => {
      const database = await open(backend, t);
      const { documentId } = await persistDocument(database, tableDocument());
      const r = await database.query(
        `select c.text, c.value_type, c.value_num, c.value_text, c.header, c.page, c.row_span, c.col_span
         from table_cells c join tables t on t.id = c.table_id where t.table_key = 't1' and c.document_id = $1 order by c.row_no, c.col_no`,
        [documentId],
      );
      const by = new Map(r.rows.map((x) => [x.text as string, x]));
      const typed = (text: string) => {
        const x = by.get(text)!;
        return [x.value_type, x.value_num, x.value_text];
      };
      assert.deepEqual(typed('(1,234)'), ['number', -1234, null]);
      assert.deepEqual(typed('1 234 567'), ['number', 1234567, null]);
      assert.deepEqual(typed('1.234,56'), ['number', 1234.56, null]);
      assert.deepEqual(typed('12.5%'), ['percent', 0.125, null]);
      assert.deepEqual(typed('(3.2%)'), ['percent', -0.032, null]);
      assert.deepEqual(typed('−12%'), ['percent', -0.12, null]);
      assert.deepEqual(typed('$3.00'), ['currency', 3, '$']);
      assert.deepEqual(typed('€ 12'), ['currency', 12, 'EUR']);
      assert.deepEqual(typed('£3'), ['currency', 3, 'GBP']);
      assert.deepEqual(typed('2024-03-31'), ['date', null, '2024-03-31']);
      assert.deepEqual(typed('31 Mar 2024'), ['date', null, '2024-03-31']);
      assert.deepEqual(typed('03/31/2024'), ['date', null, '2024-03-31']);
      for (const text of ['—', '12-34', 'A12', 'North', 'ok']) assert.deepEqual(typed(text), [null, null, null], text);
      // Header cells carry no value ('2023' is a label), and the header flag.
      assert.deepEqual([by.get('2023')!.value_type, by.get('2023')!.header, by.get('North')!.header], [null, true, false]);
      assert.deepEqual([by.get('Revenue')!.col_span, by.get('North')!.row_span], [2, 2]);
      assert.deepEqual(
        r.rows.filter((x) => !x.header).map((x) => x.page),
        [...Array(13).fill(1), ...Array(14).fill(2)], // rows 2-3 (North spans both) on page 1, rows 4-5 on page 2
      );
    });

    test('one transaction: a failure while writing table cells leaves nothing of the document', async (t) => {
      const database = await open(backend, t);
      const doc = tableDocument();
      await database.query(`
        create function folio_test_fail() returns trigger language plpgsql as $$
        begin raise exception 'simulated failure inserting cell %', new.text; end $$`);
      await database.query('create trigger folio_test_fail before insert on table_cells for each row execute function folio_test_fail()');
      await assert.rejects(persistDocument(database, doc), (err: unknown) => /simulated failure inserting cell/.test(messages(err)));
      assert.deepEqual(await counts(database), { documents: 0, pages: 0, blocks: 0, tables: 0, cells: 0 });

      // An earlier recorded failure stays as it was.
      await recordFailure(database, { source: doc.source, pipelineVersion: doc.pipelineVersion, code: 'timeout', message: 'first try' });
      await assert.rejects(persistDocument(database, doc), (err: unknown) => /simulated failure/.test(messages(err)));
      assert.deepEqual(await counts(database), { documents: 1, pages: 0, blocks: 0, tables: 0, cells: 0 });
      const row = await database.query('select status, error_code from documents');
      assert.deepEqual(row.rows, [{ status: 'failed', error_code: 'timeout' }]);

      await database.query('drop trigger folio_test_fail on table_cells');
      const ok = await persistDocument(database, doc);
      assert.equal(ok.inserted, true);
      assert.deepEqual(await counts(database), { documents: 1, pages: 2, blocks: blockCount(doc), tables: 2, cells: cellCount(doc) });
    });

    test("table_rows: select data->>'Total' from table_rows where table_id = $1", async (t) => {
      const database = await open(backend, t);
      const doc = tableDocument();
      const { documentId } = await persistDocument(database, doc);
      const ids = await database.query('select id, table_key from tables where document_id = $1 order by table_no', [documentId]);
      const t1 = ids.rows[0]!.id as string;
      const t2 = ids.rows[1]!.id as string;

      const total = await database.query(`select data->>'Total' as total from table_rows where table_id = $1 order by row_no`, [t1]);
      assert.deepEqual(total.rows.map((r) => r.total), T1_TOTALS);

      const rows = await database.query('select table_id, document_id, row_no, page, data, values from table_rows where table_id = $1 order by row_no', [t1]);
      assert.deepEqual(
        rows.rows.map((r) => [r.row_no, r.page, r.document_id]),
        [
          [2, 1, documentId],
          [3, 1, documentId],
          [4, 2, documentId],
          [5, 2, documentId],
        ],
      );
      // The body rows as JSON keyed by column name: the row-spanning "North" is in both of its rows.
      const names = columnNames(doc.tables[0]!);
      const grid = gridText(doc.tables[0]!);
      assert.deepEqual(
        rows.rows.map((r) => r.data),
        grid.slice(2).map((cells) => Object.fromEntries(names.map((n, i) => [n, cells[i]]))),
      );
      assert.equal((rows.rows[1]!.data as Record<string, string>).Region, 'North');
      // Typed values: numbers as JSON numbers (percent as a fraction), dates as strings, null where none.
      assert.deepEqual(rows.rows[0]!.values, {
        Region: null,
        'Revenue / 2023': 1234,
        'Revenue / 2024': -1234,
        Growth: 0.125,
        Total: 3,
        Reported: '2024-03-31',
        Note: null,
      });
      assert.deepEqual(rows.rows[2]!.values, {
        Region: null,
        'Revenue / 2023': null,
        'Revenue / 2024': 1234.56,
        Growth: -0.12,
        Total: 12,
        Reported: '2024-03-31',
        Note: null,
      });
      const sum = await database.query(`select sum((values->>'Revenue / 2023')::numeric)::text as s from table_rows where table_id = $1`, [t1]);
      assert.equal(sum.rows[0]!.s, String(1234 + 2000 + 1234567));

      // Header names: col_N for an empty header, _2 for a repeated one; '' where no cell is.
      const r2 = await database.query('select row_no, page, data from table_rows where table_id = $1 order by row_no', [t2]);
      assert.deepEqual(r2.rows, [
        { row_no: 1, page: 2, data: { Item: 'Widget, large', col_2: 'two\nlines', Item_2: '5' } },
        { row_no: 2, page: 2, data: { Item: 'Gadget "pro"', col_2: '', Item_2: '7' } },
      ]);

      // table_columns gives the same names as columnNames() (the CSV header).
      const cols = await database.query('select table_id, col_no, name, header_text from table_columns where document_id = $1 order by table_id, col_no', [documentId]);
      for (const [id, table] of [
        [t1, doc.tables[0]!],
        [t2, doc.tables[1]!],
      ] as [string, Table][]) {
        const mine = cols.rows.filter((r) => r.table_id === id);
        assert.deepEqual(
          mine.map((r) => r.name),
          columnNames(table),
        );
        assert.deepEqual(
          mine.map((r) => r.header_text),
          headerTexts(table),
        );
      }
      // Whitespace in headers folds the same way in SQL as in columnNames().
      const spaced = tableDocument('spaces');
      const st = spaced.tables[1]!;
      st.cells[0]!.text = '  Unit\n price\u00a0\t';
      st.cells[1]!.text = ' \u202f ';
      st.rows = gridText(st);
      const s = await persistDocument(database, spaced);
      const sc = await database.query(
        "select k.name from table_columns k join tables t on t.id = k.table_id where t.document_id = $1 and t.table_key = 't2' order by k.col_no",
        [s.documentId],
      );
      assert.deepEqual(sc.rows.map((r) => r.name), columnNames(st));
      assert.deepEqual(columnNames(st), ['Unit price', 'col_2', 'Item']);

      // All documents' rows, filtered by JSON: the query an analyst writes.
      const north = await database.query(`select count(*)::int as n from table_rows where data->>'Region' = 'North'`);
      assert.equal(north.rows[0]!.n, 4, 'two rows in each of the two documents');
    });

    test('listTables lists tables with pages, size and column names', async (t) => {
      const database = await open(backend, t);
      const { documentId } = await persistDocument(database, tableDocument());
      await persistDocument(database, { ...tableDocument('other'), tables: [], pages: tableDocument('other').pages.map((p) => ({ ...p, blocks: p.blocks.filter((b) => !b.tableId) })) });
      const all = await listTables(database);
      assert.equal(all.length, 2);
      const mine = await listTables(database, documentId.slice(0, 8));
      assert.deepEqual(
        mine.map((x) => [x.key, x.index, x.filename, x.pages, x.rowCount, x.colCount, x.headerRows, x.method, x.columns]),
        [
          ['t1', 0, 'tables.pdf', [1, 2], 6, 7, 2, 'lattice', columnNames(table1())],
          ['t2', 1, 'tables.pdf', [2], 3, 3, 1, 'stream', ['Item', 'col_2', 'Item_2']],
        ],
      );
      await assert.rejects(listTables(database, '00000000'), /no document 00000000/);
    });

    test('materialize creates a typed view per table, named from the file; no header text reaches the SQL', async (t) => {
      const database = await open(backend, t);
      const doc = hostileDocument();
      const { documentId } = await persistDocument(database, doc);
      const ids = await database.query('select id from tables where document_id = $1 order by table_no', [documentId]);
      const t1 = ids.rows[0]!.id as string;

      const m = await materializeTable(database, t1.slice(0, 8));
      assert.equal(m.view, 'hostile_t1');
      assert.deepEqual(
        m.columns.map((c) => [c.name, c.type, c.header]),
        [
          ['region', 'text', 'Region'],
          ['revenue_2023', 'numeric', 'Revenue / 2023'],
          ['revenue_2024', 'numeric', 'Revenue / 2024'],
          ['growth', 'numeric', 'Growth'],
          ['total', 'numeric', 'Total'],
          ['reported', 'date', 'Reported'],
          ['note', 'text', 'Note'],
        ],
      );
      const types = await database.query(
        "select column_name, data_type from information_schema.columns where table_name = 'hostile_t1' order by ordinal_position",
      );
      assert.deepEqual(
        types.rows.map((r) => [r.column_name, r.data_type]),
        [
          ['_row', 'integer'],
          ['_page', 'integer'],
          ['region', 'text'],
          ['revenue_2023', 'numeric'],
          ['revenue_2024', 'numeric'],
          ['growth', 'numeric'],
          ['total', 'numeric'],
          ['reported', 'date'],
          ['note', 'text'],
        ],
      );
      const rows = await database.query(
        `select _row, _page, region, revenue_2023::text as r23, revenue_2024::text as r24, growth::text as growth, total::text as total,
                reported::text as reported, note from hostile_t1`,
      );
      assert.deepEqual(rows.rows, [
        { _row: 2, _page: 1, region: 'North', r23: '1234', r24: '-1234', growth: '0.125', total: '3', reported: '2024-03-31', note: 'ok' },
        { _row: 3, _page: 1, region: 'North', r23: '2000', r24: '2500', growth: '-0.032', total: '1200.5', reported: '2024-03-31', note: '12-34' },
        { _row: 4, _page: 2, region: 'South', r23: null, r24: '1234.56', growth: '-0.12', total: '12', reported: '2024-03-31', note: 'A12' },
        { _row: 5, _page: 2, region: 'West', r23: '1234567', r24: '900', growth: '0', total: '3', reported: null, note: 'He said "hi", then left' },
      ]);
      // Analysts query it like any table.
      const agg = await database.query(`select sum(total)::text as s, max(reported)::text as d from hostile_t1 where region <> 'West'`);
      assert.deepEqual(agg.rows[0], { s: '1215.5', d: '2024-03-31' });

      // Re-materializing gives the same view; --all adds the second table, whose header was hostile.
      assert.equal((await materializeTable(database, t1)).view, 'hostile_t1');
      const all = await materializeAll(database);
      assert.deepEqual(
        all.map((x) => x.view),
        ['hostile_t1', 'hostile_t2'],
      );
      assert.deepEqual(
        all[1]!.columns.map((c) => [c.name, c.type]),
        [
          ['item', 'text'],
          ['row_no', 'text'],
          ['x_drop_table_documents', 'numeric'],
        ],
      );
      const t2rows = await database.query('select _row, item, row_no, x_drop_table_documents::int as n from hostile_t2');
      assert.deepEqual(t2rows.rows, [
        { _row: 1, item: 'Widget, large', row_no: 'two\nlines', n: 5 },
        { _row: 2, item: 'Gadget "pro"', row_no: null, n: 7 },
      ]);
      assert.equal((await counts(database)).documents, 1, 'the documents table is still there');
      const comment = await database.query("select obj_description('hostile_t1'::regclass, 'pg_class') as c");
      assert.equal(comment.rows[0]!.c, `folio table ${t1}`);
    });

    test('materialize: the same file name in two documents, or a name taken by another relation, gets the table id added', async (t) => {
      const database = await open(backend, t);
      const a = await persistDocument(database, tableDocument());
      const b = await persistDocument(database, { ...tableDocument(), source: { ...tableDocument().source, sha256: sha256Hex('tables-v2') } });
      await database.query('create table "tables_t2" (x int)'); // a user's own table
      const all = await materializeAll(database);
      const ids = await database.query('select id, document_id, table_no from tables');
      const byId = new Map(ids.rows.map((r) => [r.id as string, r]));
      assert.equal(all.length, 4);
      assert.equal(new Set(all.map((x) => x.view)).size, 4);
      for (const m of all) {
        const row = byId.get(m.tableId)!;
        const n = (row.table_no as number) + 1;
        const short = m.tableId.replace(/-/g, '').slice(0, 8);
        assert.ok(m.view === `tables_t${n}` || m.view === `tables_t${n}_${short}`, m.view);
        if (n === 2) assert.equal(m.view, `tables_t2_${short}`);
        const count = await database.query(`select count(*)::int as n from ${quoteIdent(m.view)}`);
        assert.equal(count.rows[0]!.n, n === 1 ? 4 : 2);
      }
      assert.deepEqual([a.inserted, b.inserted], [true, true]);
      // Materializing again keeps every name.
      assert.deepEqual(
        (await materializeAll(database)).map((x) => x.view).sort(),
        all.map((x) => x.view).sort(),
      );
      await assert.rejects(materializeTable(database, '00000000'), /no table 00000000/);
      await assert.rejects(materializeTable(database, "x'; drop"), /not a table id/);
    });
  });
}
