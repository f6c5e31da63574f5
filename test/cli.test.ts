// The `folio` command as a user runs it: a child process, real files, real databases.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { emptyFile, encryptedPdf, reportPdf, REPORT_TITLE } from './fixtures/pdfs.ts';
import { imageOnlyPdf, letterPage, render } from './fixtures/scans.ts';
import { openDatabase } from '../db/client.ts';
import { persistDocument } from '../db/persist.ts';
import { tableToCsv } from '../db/tables.ts';
import { createTestDatabase, dropTestDatabase } from './support/backends.ts';
import { T1_TOTALS, tableDocument } from './support/tables.ts';
import { makeTmpDir, type TmpDir } from './support/tmp.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'folio.js');

async function folio(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env: { ...process.env, FOLIO_LOG_LEVEL: 'warn', ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('folio CLI', () => {
  let tmp: TmpDir;
  let reportFile: string;
  let scanFile: string;
  let pg: { name: string; url: string };

  before(async () => {
    tmp = await makeTmpDir();
    reportFile = await tmp.write('in/report.pdf', (await reportPdf({ pages: 2 })).bytes);
    await tmp.write('in/locked.pdf', (await encryptedPdf()).bytes);
    await tmp.write('in/empty.pdf', emptyFile());
    scanFile = await tmp.write('scans/scan.pdf', await imageOnlyPdf(await render((await letterPage()).pdf, 200)));
    pg = await createTestDatabase();
  });
  after(async () => {
    await tmp?.cleanup();
    if (pg) await dropTestDatabase(pg.name);
  });

  test('extract prints a Document that validates against `folio schema`', async () => {
    const schema = await folio(['schema']);
    assert.equal(schema.code, 0, schema.stderr);
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(schema.stdout));
    const out = await folio(['extract', reportFile, '--format', 'json']);
    assert.equal(out.code, 0, out.stderr);
    const doc = JSON.parse(out.stdout);
    assert.equal(validate(doc), true, JSON.stringify(validate.errors?.slice(0, 3)));
    assert.equal(doc.title, REPORT_TITLE);
    assert.equal(doc.pageCount, 2);
    // The JSON Schema is not a rubber stamp: a broken Document fails it.
    doc.pages[0].blocks[0].bbox = { x0: 1 };
    assert.equal(validate(doc), false);
    // A scan, read by OCR with the engine installed with folio, validates too.
    const scan = await folio(['extract', scanFile, '--format', 'json']);
    assert.equal(scan.code, 0, scan.stderr);
    const read = JSON.parse(scan.stdout);
    assert.equal(validate(read), true, JSON.stringify(validate.errors?.slice(0, 3)));
    assert.equal(read.pages[0].engine, 'ocr');
    assert.match(read.pages[0].blocks.map((b: { text: string }) => b.text).join(' '), /Quarterly Field Report/);
    read.pages[0].blocks[1].lines[0].words[0].conf = 1.5;
    assert.equal(validate(read), false);
  });

  test('extract --format md gives headings and paragraphs, without running headers', async () => {
    const out = await folio(['extract', reportFile, '--format', 'md']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`^# ${REPORT_TITLE}$`, 'm'));
    assert.match(out.stdout, /^## 1\. Overview$/m);
    assert.match(out.stdout, /^- alpha\d+/m);
    assert.doesNotMatch(out.stdout, /ACME Corp/);
  });

  test('extract of an encrypted PDF fails with its code, and opens with --password', async () => {
    const locked = tmp.join('in/locked.pdf');
    const fail = await folio(['extract', locked]);
    assert.equal(fail.code, 1);
    assert.match(fail.stderr, /encrypted/);
    const ok = await folio(['extract', locked, '--password', 'secret', '--format', 'md']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Secret text/);
  });

  for (const where of ['embedded', 'postgres'] as const) {
    test(`process, query and export on the ${where} database`, async () => {
      const env: Record<string, string> = where === 'postgres' ? { DATABASE_URL: pg.url } : {};
      const dataDir = tmp.join(`data-${where}`);
      const run = await folio(['process', tmp.join('in'), '--data-dir', dataDir, '--json'], env);
      assert.equal(run.code, 1, 'a failed file makes the exit code 1');
      const summary = JSON.parse(run.stdout);
      assert.equal(summary.database, where === 'postgres' ? 'postgres' : 'pglite');
      assert.deepEqual([summary.done, summary.failed], [1, 2]);
      assert.deepEqual(summary.errors, { empty_file: 1, encrypted: 1 });

      const q = await folio(['query', 'select count(*)::int as n from blocks', '--data-dir', dataDir, '--json'], env);
      assert.equal(q.code, 0, q.stderr);
      const n = JSON.parse(q.stdout)[0].n as number;
      assert.ok(n > 10, `blocks: ${n}`);
      const text = await folio(['query', "select filename, error_code from documents where status = 'failed' order by 1", '--data-dir', dataDir], env);
      assert.match(text.stdout, /empty\.pdf\s+\| empty_file/);
      assert.match(text.stdout, /\(2 rows\)/);

      const id = summary.outcomes.find((o: { file: string }) => o.file.endsWith('report.pdf')).documentId as string;
      const exported = await folio(['export', id.slice(0, 8), '--format', 'json', '--data-dir', dataDir], env);
      assert.equal(exported.code, 0, exported.stderr);
      const extracted = await folio(['extract', reportFile, '--format', 'json']);
      assert.deepEqual(JSON.parse(exported.stdout), JSON.parse(extracted.stdout), 'what is stored is what was extracted');

      const again = await folio(['process', reportFile, '--data-dir', dataDir, '--json'], env);
      assert.equal(again.code, 0);
      assert.equal(JSON.parse(again.stdout).skipped, 1);
      const q2 = await folio(['query', 'select count(*)::int as n from blocks', '--data-dir', dataDir, '--json'], env);
      assert.equal(JSON.parse(q2.stdout)[0].n, n, 're-processing adds no rows');
    });
  }

  // Until `folio extract` detects tables, a hand-built Document with tables is stored directly.
  for (const where of ['embedded', 'postgres'] as const) {
    test(`tables, export --tables and tables materialize on the ${where} database`, async (t) => {
      const dataDir = tmp.join(`tables-${where}`);
      let url: string | undefined;
      if (where === 'postgres') {
        const created = await createTestDatabase();
        t.after(() => dropTestDatabase(created.name));
        url = created.url;
      }
      const env: Record<string, string> = url ? { DATABASE_URL: url } : {};
      const cli = (args: string[]) => folio([...args, '--data-dir', dataDir], env);
      const database = await openDatabase(url ? { url } : { pgliteDir: path.join(dataDir, 'db') });
      const doc = tableDocument('Cli Tables');
      const { documentId } = await persistDocument(database, doc).finally(() => database.close());
      const docId = documentId.slice(0, 8);

      const listed = await cli(['tables', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      const tables = JSON.parse(listed.stdout) as { id: string; key: string; documentId: string; pages: number[]; columns: string[] }[];
      assert.deepEqual(
        tables.map((x) => [x.key, x.documentId, x.pages, x.columns.length]),
        [
          ['t1', documentId, [1, 2], 7],
          ['t2', documentId, [2], 3],
        ],
      );
      const text = await cli(['tables', docId]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`^${tables[0]!.id} \\| t1 +\\| ${docId} Cli Tables\\.pdf \\| 1-2 +\\| 6 x 7 \\| lattice \\| Region \\| Revenue \\/ 2023 \\| Revenue \\/ 2024`, 'm'));
      assert.match(text.stdout, /\(2 rows\)/);

      // CSV: one table, named by its key or by its id (prefix); a document with several needs --table.
      const csv = await cli(['export', docId, '--table', 't2', '--format', 'csv']);
      assert.equal(csv.code, 0, csv.stderr);
      assert.equal(csv.stdout, tableToCsv(doc.tables[1]!));
      assert.equal(csv.stdout, 'Item,col_2,Item_2\r\n"Widget, large","two\nlines",5\r\n"Gadget ""pro""",,7\r\n');
      const byId = await cli(['export', docId, '--tables', '--table', tables[0]!.id.slice(0, 8), '--format', 'csv']);
      assert.equal(byId.stdout, tableToCsv(doc.tables[0]!));
      const several = await cli(['export', docId, '--tables', '--format', 'csv']);
      assert.equal(several.code, 1);
      assert.match(several.stderr, /has 2 tables \(t1, t2\); CSV holds one: choose it with --table/);
      const notTables = await cli(['export', docId, '--format', 'csv']);
      assert.equal(notTables.code, 1);
      assert.match(notTables.stderr, /--format csv exports tables/);
      const noSuch = await cli(['export', docId, '--table', 't9', '--format', 'csv']);
      assert.notEqual(noSuch.code, 0);
      assert.match(noSuch.stderr, /has no table t9/);

      // JSON: the Document's tables; Markdown of the Document: GitHub tables.
      const json = await cli(['export', docId, '--tables']);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout), JSON.parse(JSON.stringify(doc.tables)));
      const md = await cli(['export', docId, '--format', 'md']);
      assert.match(md.stdout, /^\| Region \| Revenue \/ 2023 \| Revenue \/ 2024 \| Growth \| Total \| Reported \| Note \|$/m);
      assert.match(md.stdout, /^\| North \| 2,000 \| 2 500 \| \(3\.2%\) \| \$1,200\.50 \| 31 Mar 2024 \| 12-34 \|$/m);

      // SQL: table_rows, then a materialized view per table.
      const rows = await cli(['query', `select data->>'Total' as total from table_rows where table_id = '${tables[0]!.id}' order by row_no`, '--json']);
      assert.equal(rows.code, 0, rows.stderr);
      assert.deepEqual(JSON.parse(rows.stdout).map((r: { total: string }) => r.total), T1_TOTALS);
      const usage = await cli(['tables', 'materialize']);
      assert.equal(usage.code, 1);
      assert.match(usage.stderr, /name one table id, or --all/);
      const made = await cli(['tables', 'materialize', '--all']);
      assert.equal(made.code, 0, made.stderr);
      assert.match(made.stdout, new RegExp(`^cli_tables_t1\\t${tables[0]!.id}\\tregion text, revenue_2023 numeric, revenue_2024 numeric, growth numeric, total numeric, reported date, note text$`, 'm'));
      assert.match(made.stdout, new RegExp(`^cli_tables_t2\\t${tables[1]!.id}\\titem text, col_2 text, item_2 numeric$`, 'm'));
      const one = await cli(['tables', 'materialize', tables[0]!.id.slice(0, 8)]);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(one.stdout.split('\t')[0], 'cli_tables_t1');
      const view = await cli(['query', 'select region, total::float8 as total, reported::text as reported from cli_tables_t1 order by _row', '--json']);
      assert.equal(view.code, 0, view.stderr);
      assert.deepEqual(JSON.parse(view.stdout), [
        { region: 'North', total: 3, reported: '2024-03-31' },
        { region: 'North', total: 1200.5, reported: '2024-03-31' },
        { region: 'South', total: 12, reported: '2024-03-31' },
        { region: 'West', total: 3, reported: null },
      ]);
    });
  }

  test('bad SQL and unknown documents are clear errors', async () => {
    const dataDir = tmp.join('data-errors');
    const q = await folio(['query', 'select nope from nowhere', '--data-dir', dataDir]);
    assert.notEqual(q.code, 0);
    assert.match(q.stderr, /nowhere/);
    const e = await folio(['export', '00000000', '--data-dir', dataDir]);
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /no document 00000000/);
  });
});
