// The `folio` command as a user runs it: a child process, real files, real databases.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { emptyFile, encryptedPdf, reportPdf, REPORT_TITLE } from './fixtures/pdfs.ts';
import { createTestDatabase, dropTestDatabase } from './support/backends.ts';
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
  let pg: { name: string; url: string };

  before(async () => {
    tmp = await makeTmpDir();
    reportFile = await tmp.write('in/report.pdf', (await reportPdf({ pages: 2 })).bytes);
    await tmp.write('in/locked.pdf', (await encryptedPdf()).bytes);
    await tmp.write('in/empty.pdf', emptyFile());
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
