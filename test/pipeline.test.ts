// folio process end to end, against each database back end: real generated PDFs and images,
// bad inputs with their error codes, idempotency, and what is stored (content, order, boxes).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Database } from '../db/client.ts';
import { loadDocument } from '../db/persist.ts';
import { loadConfig, type Config } from '../schemas/config.ts';
import type { Block, Document } from '../schemas/document.ts';
import { processInputs, type Summary } from '../pipelines/process.ts';
import { BlobStore } from '../db/blobs.ts';
import { largeImage, multiPageTiff, orientedJpeg, textPng } from './fixtures/images.ts';
import {
  columnWords,
  emptyFile,
  encryptedPdf,
  garbagePdf,
  imageOnlyPdf,
  pagesPdf,
  reportPdf,
  REPORT_HEADER,
  REPORT_TITLE,
  ROTATED_PAGE_LINES,
  rotatedPagePdf,
  rotatedTextPdf,
  truncatedPdf,
  type Box,
  type ReportFixture,
} from './fixtures/pdfs.ts';
import { listTables, materializeTable, quoteIdent } from '../db/tables.ts';
import { SALES_TABLE, tablesPdf } from './fixtures/tables.ts';
import { backends } from './support/backends.ts';
import { makeTmpDir, type TmpDir } from './support/tmp.ts';

const near = (a: Box, b: Box, tol = 3) =>
  Math.abs(a.x0 - b.x0) <= tol && Math.abs(a.y0 - b.y0) <= tol && Math.abs(a.x1 - b.x1) <= tol && Math.abs(a.y1 - b.y1) <= tol;

const outcome = (s: Summary, name: string) => {
  const o = s.outcomes.find((x) => x.file.endsWith('/' + name));
  assert.ok(o, `no outcome for ${name} in ${JSON.stringify(s.outcomes.map((x) => x.file))}`);
  return o;
};

async function counts(db: Database): Promise<Record<string, number>> {
  const r = await db.query(
    `select (select count(*) from documents)::int as documents, (select count(*) from pages)::int as pages, (select count(*) from blocks)::int as blocks`,
  );
  return r.rows[0] as Record<string, number>;
}

for (const backend of backends) {
  describe(`folio process on ${backend.name}`, () => {
    let db: Database;
    let tmp: TmpDir;
    let cfg: Config;
    let report: ReportFixture;
    let first: Summary;
    const files: Record<string, string> = {};

    before(async () => {
      db = await backend.open();
      tmp = await makeTmpDir();
      cfg = loadConfig({ dataDir: tmp.join('data'), workers: 2, maxPages: 20, maxPixels: 4_000_000, logLevel: 'silent' }, {});
      report = await reportPdf({ pages: 3 });
      const inputs: [string, Uint8Array | Buffer][] = [
        ['report.pdf', report.bytes],
        ['rotated-page.pdf', (await rotatedPagePdf({ rotation: 90 })).bytes],
        ['rotated-text.pdf', (await rotatedTextPdf()).bytes],
        ['scan.pdf', (await imageOnlyPdf()).bytes],
        ['photo.jpg', (await orientedJpeg({ orientation: 6 })).bytes],
        ['two-pages.tiff', (await multiPageTiff({ pages: 2 })).bytes],
        ['text.png', (await textPng()).bytes],
        // Bad inputs: each must fail alone with its code.
        ['empty.pdf', emptyFile()],
        ['garbage.pdf', garbagePdf()],
        ['truncated.pdf', await truncatedPdf(0.4)],
        ['locked.pdf', (await encryptedPdf({ userPassword: 'secret' })).bytes],
        ['too-many-pages.pdf', (await pagesPdf(25)).bytes],
        ['huge.png', (await largeImage({ width: 3000, height: 3000 })).bytes],
        ['notes.txt.pdf', new TextEncoder().encode('just some text, not a PDF at all\n'.repeat(10))],
      ];
      for (const [name, bytes] of inputs) files[name] = await tmp.write(`in/${name}`, bytes);
      first = await processInputs([tmp.join('in')], cfg, db);
    });

    after(async () => {
      await db?.close();
      await tmp?.cleanup();
    });

    test('good files are stored, each bad file fails alone with its code', async () => {
      const expectFail: Record<string, string> = {
        'empty.pdf': 'empty_file',
        'garbage.pdf': 'not_a_pdf',
        'notes.txt.pdf': 'not_a_pdf',
        'truncated.pdf': 'corrupt_pdf',
        'locked.pdf': 'encrypted',
        'too-many-pages.pdf': 'too_many_pages',
        'huge.png': 'too_many_pixels',
      };
      for (const [name, code] of Object.entries(expectFail)) {
        const o = outcome(first, name);
        assert.equal(o.status, 'failed', `${name}: ${JSON.stringify(o)}`);
        assert.equal(o.code, code, `${name}: ${o.message}`);
      }
      for (const name of ['report.pdf', 'rotated-page.pdf', 'rotated-text.pdf', 'scan.pdf', 'photo.jpg', 'two-pages.tiff', 'text.png']) {
        assert.equal(outcome(first, name).status, 'done', `${name}: ${JSON.stringify(outcome(first, name))}`);
      }
      assert.equal(first.failed, Object.keys(expectFail).length);
      assert.equal(first.done, 7);
      assert.equal(first.errors.encrypted, 1);
      // The failures are recorded on their document rows, with the code and a message.
      const r = await db.query(`select filename, status, error_code, error_message from documents where status = 'failed' order by filename`);
      assert.deepEqual(
        r.rows.map((x) => [x.filename, x.error_code]),
        Object.entries(expectFail).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      for (const row of r.rows) assert.ok(String(row.error_message).length > 10);
    });

    test('processing the same files again adds no rows', async () => {
      const before = await counts(db);
      const again = await processInputs([tmp.join('in')], cfg, db);
      assert.deepEqual(await counts(db), before);
      assert.equal(again.done, 0);
      assert.equal(again.skipped, 7);
      assert.equal(outcome(again, 'report.pdf').documentId, outcome(first, 'report.pdf').documentId);
    });

    test('the encrypted PDF opens with the password, replacing its failure', async () => {
      const fail = await processInputs([files['locked.pdf']!], { ...cfg, password: 'wrong' }, db);
      assert.equal(fail.outcomes[0]!.code, 'bad_password');
      const ok = await processInputs([files['locked.pdf']!], { ...cfg, password: 'secret' }, db);
      assert.equal(ok.outcomes[0]!.status, 'done', JSON.stringify(ok.outcomes[0]));
      const r = await db.query(`select d.status, d.error_code, b.text from documents d join blocks b on b.document_id = d.id where d.filename = $1`, ['locked.pdf']);
      assert.deepEqual(r.rows, [{ status: 'done', error_code: null, text: 'Secret text' }]);
    });

    test('the report comes back in reading order with types and boxes', async () => {
      const doc: Document = await loadDocument(db, outcome(first, 'report.pdf').documentId!);
      assert.equal(doc.pageCount, 3);
      assert.equal(doc.title, REPORT_TITLE);
      const blocks = doc.pages.flatMap((p) => p.blocks);
      assert.deepEqual(blocks.map((b) => b.order), blocks.map((_, i) => i), 'orders are 0..n-1 in page order');
      for (const page of doc.pages) {
        const pb = page.blocks;
        assert.equal(pb[0]!.type, 'page_header', `page ${page.number} starts with its running header`);
        assert.equal(pb[0]!.text, REPORT_HEADER);
        assert.equal(pb.at(-1)!.type, 'page_footer');
        assert.equal(pb.at(-1)!.text, `Page ${page.number}`);
        // Every word of the left column before every word of the right column, each in order.
        const words = pb.flatMap((b) => b.text.split(/\s+/)).filter((w) => /^(alpha|beta)\d+$/.test(w));
        assert.deepEqual(words, [...columnWords(report, page.number, 'left'), ...columnWords(report, page.number, 'right')]);
      }
      const byType = (t: Block['type']) => blocks.filter((b) => b.type === t);
      assert.equal(byType('title').length, 1);
      assert.equal(byType('title')[0]!.text, REPORT_TITLE);
      assert.equal(byType('title')[0]!.bold, true);
      assert.ok(byType('heading').some((b) => b.text === '1. Overview' && b.level === 2));
      assert.ok(byType('list_item').length >= 2);
      assert.ok(byType('caption').some((b) => b.text.startsWith('Figure 1:')));
      const fig = report.figures[0]!;
      assert.ok(byType('figure').some((b) => near(b.bbox, fig.bbox, 1)), 'the gray figure is found where it was drawn');
      // Boxes: each drawn line of text lies where it was drawn.
      const lines = doc.pages.flatMap((p) => p.blocks.flatMap((b) => b.lines.map((l) => ({ page: p.number, ...l }))));
      let checked = 0;
      for (const t of report.texts) {
        const l = lines.find((x) => x.page === t.page && x.text === t.text);
        if (!l) continue;
        // Vertical extents depend on which ascent the font declares: allow a fifth of the size.
        assert.ok(near(l.bbox, t.bbox, Math.max(2, 0.2 * t.size)), `${t.text}: ${JSON.stringify(l.bbox)} vs drawn ${JSON.stringify(t.bbox)}`);
        checked++;
      }
      assert.ok(checked >= report.texts.length * 0.8, `only ${checked} of ${report.texts.length} lines matched exactly`);
    });

    test('a page with /Rotate 90 is laid out as displayed', async () => {
      const doc = await loadDocument(db, outcome(first, 'rotated-page.pdf').documentId!);
      const page = doc.pages[0]!;
      assert.deepEqual([page.width, page.height, page.rotation], [792, 612, 90]);
      const lines = page.blocks.flatMap((b) => b.lines);
      assert.deepEqual(lines.map((l) => l.text), ROTATED_PAGE_LINES);
      assert.ok(lines.every((l) => l.angle === 0));
      lines.forEach((l, i) => assert.ok(Math.abs(l.bbox.x0 - 72) < 1 && l.bbox.y1 > 100 + 30 * i && l.bbox.y0 < 100 + 30 * i, JSON.stringify(l.bbox)));
    });

    test('rotated text keeps its direction and its words', async () => {
      const doc = await loadDocument(db, outcome(first, 'rotated-text.pdf').documentId!);
      const lines = doc.pages[0]!.blocks.flatMap((b) => b.lines);
      const angleOf = (t: string) => lines.find((l) => l.text === t)?.angle;
      assert.equal(angleOf('Horizontal reference line'), 0);
      assert.equal(angleOf('Reads bottom to top'), 270);
      assert.equal(angleOf('Reads top to bottom'), 90);
    });

    test('image-only pages and images are marked needs_ocr with stored page images', async () => {
      const r = await db.query(
        `select d.filename, p.page_no, p.needs_ocr, p.image, p.thumbnail, p.width, p.height from pages p join documents d on d.id = p.document_id
         where d.filename in ('scan.pdf', 'photo.jpg', 'two-pages.tiff', 'report.pdf') order by d.filename, p.page_no`,
      );
      const rows = r.rows as { filename: string; needs_ocr: boolean; image: string | null; thumbnail: string | null; width: number; height: number }[];
      const of = (f: string) => rows.filter((x) => x.filename === f);
      assert.equal(of('two-pages.tiff').length, 2);
      assert.ok(of('report.pdf').every((x) => !x.needs_ocr && x.image === null));
      const blobs = new BlobStore(`${cfg.dataDir}/blobs`);
      for (const row of [...of('scan.pdf'), ...of('photo.jpg'), ...of('two-pages.tiff')]) {
        assert.equal(row.needs_ocr, true, row.filename);
        assert.ok(row.image && row.thumbnail, row.filename);
        const png = await blobs.get(row.image!);
        assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
      }
      const jpg = of('photo.jpg')[0]!;
      const fx = await orientedJpeg({ orientation: 6 });
      // EXIF orientation 6 turns the stored pixels a quarter turn: the page is as displayed.
      assert.equal(jpg.width > jpg.height, fx.upright.width > fx.upright.height);
      assert.notEqual(fx.upright.width > fx.upright.height, fx.stored.width > fx.stored.height);
    });

    test('a table found in a PDF is queried by its header in SQL, and as a typed view', async () => {
      const f = await tmp.write('tables/sales.pdf', await tablesPdf([{ tables: [SALES_TABLE] }]));
      const s = await processInputs([f], cfg, db);
      const documentId = s.outcomes[0]!.documentId!;
      assert.equal(s.outcomes[0]!.status, 'done', JSON.stringify(s.outcomes[0]));
      const r = await db.query(
        `select data->>'Region' as region, data->>'Sales / 2024' as sales, (values->>'Sales / 2024')::float8 as n, (values->>'Change')::float8 as change
         from table_rows where document_id = $1 order by row_no`,
        [documentId],
      );
      assert.deepEqual(r.rows, [
        { region: 'North', sales: '(1,500)', n: -1500, change: 0.125 },
        { region: 'South\nEast', sales: '4,000', n: 4000, change: -0.032 },
        { region: 'West', sales: '7', n: 7, change: 0 },
      ]);
      const [table] = await listTables(db, documentId);
      const view = await materializeTable(db, table!.id);
      // Sales / 2023 mixes a number, a currency and a date: text. Sales / 2024 and Change: numeric.
      assert.deepEqual(view.columns.map((c) => c.type), ['text', 'text', 'numeric', 'numeric']);
      const v = await db.query(`select sum(sales_2024)::float8 as total, max(change)::float8 as best from ${quoteIdent(view.view)}`);
      assert.deepEqual(v.rows, [{ total: 2507, best: 0.125 }]);
    });

    test('a document over the time limit fails with timeout and the next one is processed', async () => {
      const slowFile = await tmp.write('slow/two-page-report.pdf', (await reportPdf({ pages: 2 })).bytes);
      const slow = await processInputs([slowFile], { ...cfg, timeoutMs: 1 }, db);
      assert.equal(slow.outcomes[0]!.code, 'timeout', JSON.stringify(slow.outcomes[0]));
      const f = await tmp.write('later/one.pdf', (await reportPdf({ pages: 1 })).bytes);
      const ok = await processInputs([f, slowFile], cfg, db);
      assert.deepEqual(ok.outcomes.map((o) => o.status), ['done', 'done']);
    });

    test('a file stored earlier and now over the byte limit is skipped as done, not failed', async () => {
      const bytes = (await reportPdf({ pages: 2, wordsPerParagraph: 37 })).bytes;
      const f = await tmp.write('bytes/earlier.pdf', bytes);
      const first = await processInputs([f], cfg, db);
      assert.deepEqual(first.outcomes.map((o) => o.status), ['done']);
      const later = await processInputs([f], { ...cfg, maxBytes: bytes.length - 1 }, db);
      assert.deepEqual(later.outcomes.map((o) => [o.status, o.documentId]), [['skipped', first.outcomes[0]!.documentId]]);
      assert.equal(later.failed, 0);
      const r = await db.query(`select status, error_code from documents where id = $1`, [first.outcomes[0]!.documentId]);
      assert.deepEqual(r.rows, [{ status: 'done', error_code: null }]);
    });

    test('a file over the byte limit fails with too_large and the smaller one is stored', async () => {
      // Bytes no other test of this file stores (a document already done is never marked failed).
      const big = (await reportPdf({ pages: 3, wordsPerParagraph: 31 })).bytes;
      const small = (await pagesPdf(1)).bytes;
      assert.ok(big.length > small.length + 100);
      const bigFile = await tmp.write('bytes/big.pdf', big);
      const smallFile = await tmp.write('bytes/small.pdf', small);
      const s = await processInputs([bigFile, smallFile], { ...cfg, maxBytes: small.length + 50 }, db);
      assert.deepEqual(s.outcomes.map((o) => [o.status, o.code]), [['failed', 'too_large'], ['done', undefined]]);
      assert.match(s.outcomes[0]!.message!, new RegExp(`${big.length} bytes`));
      // The big file is recorded against its own document (hashed as a stream, never parsed).
      const r = await db.query(`select id, filename, status, error_code, mime, bytes, sha256 from documents where id = $1`, [s.outcomes[0]!.documentId]);
      assert.deepEqual(
        r.rows.map((x) => [x.id, x.status, x.error_code, x.mime, Number(x.bytes), x.sha256]),
        [[s.outcomes[0]!.documentId, 'failed', 'too_large', 'application/pdf', big.length, createHash('sha256').update(big).digest('hex')]],
      );
    });
  });
}
