// `folio batch`: a generated folder of reports, run again, changed, killed midway, run twice at once.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { describe, test } from 'node:test';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import pg from 'pg';
import { openDatabase } from '../db/client.ts';
import { reportPaths, runBatch, takeBatchLock } from '../pipelines/batch.ts';
import { loadConfig, type Config } from '../schemas/config.ts';
import { FolioError } from '../schemas/errors.ts';
import { createTestDatabase, dropTestDatabase } from './support/backends.ts';
import { tmpDirFor, type TmpDir } from './support/tmp.ts';

/** A small report: a title and a few lines on each of `pages` pages; `n` makes its bytes its own. */
async function report(n: number, pages = 2, extra = ''): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let p = 0; p < pages; p++) {
    const page = doc.addPage([612, 792]);
    page.drawText(`Report ${n}${extra}, page ${p + 1}`, { x: 72, y: 720, size: 18, font });
    for (let l = 0; l < 20; l++) page.drawText(`Line ${l + 1} of the report on region ${n}: revenue ${1000 + n * 10 + l}.`, { x: 72, y: 680 - l * 18, size: 11, font });
  }
  return doc.save();
}

async function folder(dir: TmpDir, count: number, pages = 2): Promise<string> {
  for (let i = 1; i <= count; i++) await dir.write(`reports/r${String(i).padStart(2, '0')}.pdf`, await report(i, pages));
  return dir.join('reports');
}

const cfg = (dir: TmpDir, over: Partial<Record<keyof Config, unknown>> = {}) => loadConfig({ logLevel: 'silent', dataDir: dir.join('data'), ...over }, {});

describe('folio batch', () => {
  test('changed files only: a second run processes nothing, a changed file alone is processed again; a report per run', async (t) => {
    const dir = await tmpDirFor(t);
    const reports = await folder(dir, 5);
    await dir.write('reports/notes.txt', 'not a report');
    const c = cfg(dir);
    const db = await openDatabase({ pgliteDir: dir.join('data', 'db') });
    t.after(() => db.close());
    const first = await runBatch([reports], c, db, { include: ['**/*.pdf'] });
    assert.deepEqual([first.files, first.processed, first.unchanged, first.failed, first.ok], [5, 5, 0, 0, true]);
    const p = reportPaths(c.dataDir, first.runId);
    assert.deepEqual(JSON.parse(fs.readFileSync(p.json, 'utf8')).runId, first.runId);
    assert.match(fs.readFileSync(p.md, 'utf8'), /\| 5 \| 5 \| 0 \| 0 \| 10 \|/);
    assert.equal(JSON.parse(fs.readFileSync(p.latestJson, 'utf8')).runId, first.runId);

    const second = await runBatch([reports], c, db, { include: ['**/*.pdf'] });
    assert.deepEqual([second.processed, second.unchanged], [0, 5]);
    assert.notEqual(second.runId, first.runId);
    assert.equal(JSON.parse(fs.readFileSync(p.latestJson, 'utf8')).runId, second.runId);

    await dir.write('reports/r03.pdf', await report(3, 2, ' (revised)'));
    const third = await runBatch([reports], c, db, { include: ['**/*.pdf'] });
    assert.deepEqual([third.processed, third.unchanged], [1, 4]);
    assert.match(third.slowest[0]!.file, /r03\.pdf$/);
  });

  test('the lock refuses a second run while the first lives, and a dead run\'s lock is taken over', async (t) => {
    const dir = await tmpDirFor(t);
    const reports = await folder(dir, 1);
    const c = cfg(dir);
    const release = takeBatchLock(c.dataDir, 'first-run');
    const db = await openDatabase({ pgliteDir: dir.join('data', 'db') });
    t.after(() => db.close());
    await assert.rejects(runBatch([reports], c, db), (e: unknown) => e instanceof FolioError && e.code === 'batch_locked' && /batch run first-run \(pid \d+/.test(e.message));
    // The command says so and exits non-zero.
    const cli = spawnSync(process.execPath, ['bin/folio.js', 'batch', reports, '--data-dir', c.dataDir], { encoding: 'utf8' });
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /batch_locked: batch run first-run/);
    release();
    // A lock left by a process that is gone.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(dir.join('data', 'batch.lock'), JSON.stringify({ pid: Number(dead.stdout), host: os.hostname(), runId: 'crashed', startedAt: new Date().toISOString() }));
    const run = await runBatch([reports], c, db);
    assert.equal(run.processed, 1);
    assert.equal(fs.existsSync(dir.join('data', 'batch.lock')), false, 'the lock is released');
  });

  test('a run killed with kill -9 midway and started again stores every file once', async (t) => {
    const dir = await tmpDirFor(t);
    const reports = await folder(dir, 24, 6);
    const { name, url } = await createTestDatabase();
    t.after(() => dropTestDatabase(name));
    const args = ['bin/folio.js', 'batch', reports, '--db', url, '--data-dir', dir.join('data'), '--workers', '1'];
    const env = { ...process.env, FOLIO_LOG_LEVEL: 'silent' };
    const proc = spawn(process.execPath, args, { env, stdio: 'ignore' });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    // Wait until some files are stored (and some are not), then kill it.
    let stored = 0;
    for (let i = 0; i < 1200 && stored < 3; i++) {
      await new Promise((r) => setTimeout(r, 250));
      try {
        stored = Number((await client.query(`select count(*)::int as n from documents where status = 'done'`)).rows[0].n);
      } catch {
        /* migrations still running */
      }
    }
    const exited = new Promise((r) => proc.once('exit', (_code, signal) => r(signal)));
    proc.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.ok(stored >= 3 && stored < 24, `${stored} stored when killed`);
    const again = spawnSync(process.execPath, [...args, '--json'], { encoding: 'utf8', env });
    assert.equal(again.status, 0, again.stderr);
    const r = JSON.parse(again.stdout) as { processed: number; unchanged: number; failed: number };
    assert.equal(r.failed, 0);
    assert.equal(r.processed + r.unchanged, 24);
    assert.ok(r.unchanged >= stored, `${r.unchanged} unchanged, ${stored} were stored before`);
    const rows = await client.query(`select count(*)::int as n, count(distinct sha256)::int as files from documents where status = 'done'`);
    await client.end();
    assert.deepEqual(rows.rows[0], { n: 24, files: 24 });
  });

  test('the HTML report shows the tables found and the pages with their blocks outlined (headless Chromium; a screenshot is kept)', async (t) => {
    const dir = await tmpDirFor(t);
    const { tablePage, letterPage, render, imageOnlyPdf } = await import('./fixtures/scans.ts');
    await dir.write('in/table.pdf', (await tablePage()).pdf);
    await dir.write('in/scan.pdf', await imageOnlyPdf(await render((await letterPage()).pdf, 150)));
    await dir.write('in/report.pdf', await report(1));
    const c = cfg(dir);
    const db = await openDatabase({ pgliteDir: dir.join('data', 'db') });
    t.after(() => db.close());
    const r = await runBatch([dir.join('in')], c, db);
    assert.equal(r.processed, 3);
    assert.ok(r.tables.length >= 1);
    const p = reportPaths(c.dataDir, r.runId);
    const html = fs.readFileSync(p.html, 'utf8');
    assert.doesNotMatch(html, /<script|https?:\/\//, 'self-contained: no scripts, nothing fetched');
    const csv = /href="(tables\/[^"]+\.csv)"/.exec(html)?.[1];
    assert.ok(csv, 'a link to the table rows');
    assert.match(fs.readFileSync(`${p.dir}/${csv}`, 'utf8'), /Region/);
    const chromium = process.env.CHROMIUM_BIN || 'chromium';
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars'];
    const dom = spawnSync(chromium, [...flags, '--dump-dom', `file://${p.html}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(dom.status, 0, dom.stderr);
    // What the browser built: the charts, the tables' outlines, a scan's thumbnail under its outlines.
    assert.match(dom.stdout, /Pages per second over the run/);
    assert.match(dom.stdout, /Pages per document/);
    assert.ok((dom.stdout.match(/class="table-box"/g) ?? []).length >= 1, 'a table outlined');
    assert.ok((dom.stdout.match(/class="block-box"/g) ?? []).length >= 5, 'blocks outlined');
    assert.match(dom.stdout, /<image href="data:image\/(png|webp);base64,/);
    const artifacts = 'test-artifacts';
    fs.mkdirSync(artifacts, { recursive: true });
    const shot = `${process.cwd()}/${artifacts}/batch-report.png`;
    const s = spawnSync(chromium, [...flags, `--screenshot=${shot}`, '--window-size=1280,1400', `file://${p.html}`], { encoding: 'utf8' });
    assert.equal(s.status, 0, s.stderr);
    assert.ok(fs.statSync(shot).size > 20_000, 'a screenshot with something on it');
  });

  test('exit code and cron summary: failures over --max-failed fail the run', async (t) => {
    const dir = await tmpDirFor(t);
    const reports = await folder(dir, 2);
    await dir.write('reports/broken.pdf', '%PDF-1.7\nnot really');
    const base = ['bin/folio.js', 'batch', reports, '--data-dir', dir.join('data')];
    const strict = spawnSync(process.execPath, base, { encoding: 'utf8', env: { ...process.env, FOLIO_LOG_LEVEL: 'silent' } });
    assert.equal(strict.status, 1);
    assert.match(strict.stdout, /^folio batch FAILED: 3 files, 2 processed, 0 unchanged, 1 failed \(corrupt_pdf 1\)/);
    assert.match(strict.stdout, /report: .*reports\/.*\/report\.html/);
    const lenient = spawnSync(process.execPath, [...base, '--max-failed', '1'], { encoding: 'utf8', env: { ...process.env, FOLIO_LOG_LEVEL: 'silent' } });
    assert.equal(lenient.status, 0, lenient.stdout + lenient.stderr);
    assert.match(lenient.stdout, /^folio batch OK: 3 files, 0 processed, 2 unchanged, 1 failed/);
  });
});
