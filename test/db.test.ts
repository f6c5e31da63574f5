// Persistence against both back ends (PGlite and a real PostgreSQL server): migrations, idempotent
// writes, failures, round trips and atomicity.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { MIGRATIONS_DIR, type Database } from '../db/client.ts';
import { findDone, loadDocument, persistDocument, recordFailure } from '../db/persist.ts';
import { Document as DocumentSchema, type Document } from '../schemas/document.ts';
import { backends, type Backend } from './support/backends.ts';
import { sampleDocument } from './support/documents.ts';
import fs from 'node:fs';

async function counts(database: Database): Promise<{ documents: number; pages: number; blocks: number }> {
  const r = await database.query(
    'select (select count(*) from documents)::int as documents, (select count(*) from pages)::int as pages, (select count(*) from blocks)::int as blocks',
  );
  return r.rows[0] as { documents: number; pages: number; blocks: number };
}

async function open(backend: Backend, t: TestContext): Promise<Database> {
  const database = await backend.open();
  t.after(() => database.close());
  return database;
}

/** The message of an error and of its causes (drizzle wraps driver errors in "Failed query: …"). */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e = err as { message?: unknown; cause?: unknown } | undefined; e && out.length < 5; e = e.cause as typeof e) out.push(String(e.message));
  return out.join('\n');
}
const failsWith = (re: RegExp) => (err: unknown) => re.test(messages(err));

const blockCount = (doc: Document) => doc.pages.reduce((n, p) => n + p.blocks.length, 0);

for (const backend of backends) {
  describe(`db on ${backend.name}`, () => {
    test('migrations apply, and applying them again changes nothing', async (t) => {
      const database = await open(backend, t);
      assert.equal(database.kind, backend.name);
      const tables = await database.query(
        "select table_name from information_schema.tables where table_schema = 'public' order by table_name",
      );
      const names = tables.rows.map((r) => r.table_name);
      for (const name of ['blocks', 'documents', 'pages']) assert.ok(names.includes(name), `table ${name} in ${names.join(', ')}`);
      const journal = JSON.parse(fs.readFileSync(`${MIGRATIONS_DIR}/meta/_journal.json`, 'utf8')) as { entries: unknown[] };
      const applied = await database.query('select count(*)::int as n from drizzle.__drizzle_migrations');
      assert.equal(applied.rows[0]!.n, journal.entries.length);
      await database.migrate();
      const again = await database.query('select count(*)::int as n from drizzle.__drizzle_migrations');
      assert.equal(again.rows[0]!.n, journal.entries.length);
    });

    test('a fresh database is empty (each open is isolated)', async (t) => {
      const a = await open(backend, t);
      await persistDocument(a, sampleDocument());
      const b = await open(backend, t);
      assert.deepEqual(await counts(b), { documents: 0, pages: 0, blocks: 0 });
    });

    test('persistDocument stores the document, its pages and its blocks', async (t) => {
      const database = await open(backend, t);
      const doc = sampleDocument();
      assert.equal(await findDone(database, doc.source.sha256, doc.pipelineVersion), undefined);
      const r = await persistDocument(database, doc, { blob: 'blobkey' });
      assert.equal(r.inserted, true);
      assert.match(r.documentId, /^[0-9a-f-]{36}$/);
      assert.deepEqual(await counts(database), { documents: 1, pages: 2, blocks: blockCount(doc) });

      const row = await findDone(database, doc.source.sha256, doc.pipelineVersion);
      assert.ok(row);
      assert.equal(row.id, r.documentId);
      assert.equal(row.status, 'done');
      assert.equal(row.errorCode, null);
      assert.equal(row.pageCount, 2);
      assert.equal(row.blob, 'blobkey');
      assert.equal(row.filename, doc.source.name);
      assert.deepEqual(row.metadata, doc.metadata);

      const pages = await database.query('select page_no, rotation, needs_ocr, engine, reader, text from pages where document_id = $1 order by page_no', [r.documentId]);
      assert.deepEqual(
        pages.rows.map((p) => [p.page_no, p.rotation, p.needs_ocr, p.engine, p.reader]),
        doc.pages.map((p) => [p.number, p.rotation, p.needsOcr, p.engine, p.reader ?? null]),
      );
      // Word confidences (OCR) are kept with the words.
      const confs = await database.query(
        "select (w->>'conf')::float as conf from blocks b, jsonb_array_elements(b.lines) l, jsonb_array_elements(l->'words') w where b.page_no = 2 and w ? 'conf' order by 1 desc",
      );
      assert.ok(confs.rows.length > 0);
      assert.equal(confs.rows[0]!.conf, 0.9);
      assert.equal(pages.rows[0]!.text, doc.pages[0]!.blocks.map((b) => b.text).join('\n\n'));

      const blocks = await database.query('select block_key, reading_order, type, page_no, engine, model from blocks order by reading_order');
      assert.deepEqual(
        blocks.rows.map((b) => [b.block_key, b.reading_order, b.type, b.page_no]),
        doc.pages.flatMap((p) => p.blocks.map((b) => [b.id, b.order, b.type, p.number])),
      );
      assert.equal(blocks.rows.at(-1)!.engine, 'ocr');
      assert.equal(blocks.rows.at(-1)!.model, 'tiny');
    });

    test('persisting the same Document again returns inserted:false and adds no rows', async (t) => {
      const database = await open(backend, t);
      const doc = sampleDocument();
      const first = await persistDocument(database, doc);
      const before = await counts(database);
      const second = await persistDocument(database, doc);
      assert.deepEqual(second, { documentId: first.documentId, inserted: false });
      assert.deepEqual(await counts(database), before);
      // Another pipeline version of the same bytes is another document.
      const v2 = await persistDocument(database, { ...doc, pipelineVersion: 'test-2' });
      assert.equal(v2.inserted, true);
      assert.notEqual(v2.documentId, first.documentId);
      assert.equal((await counts(database)).documents, 2);
    });

    test('concurrent writes of the same Document store it once', async (t) => {
      const database = await open(backend, t);
      const doc = sampleDocument();
      const results = await Promise.all([persistDocument(database, doc), persistDocument(database, doc), persistDocument(database, doc)]);
      assert.equal(results.filter((r) => r.inserted).length, 1);
      assert.equal(new Set(results.map((r) => r.documentId)).size, 1);
      assert.deepEqual(await counts(database), { documents: 1, pages: 2, blocks: blockCount(doc) });
    });

    test('recordFailure stores a failed document; a later persistDocument replaces it', async (t) => {
      const database = await open(backend, t);
      const doc = sampleDocument();
      const id = await recordFailure(database, { source: doc.source, pipelineVersion: doc.pipelineVersion, code: 'corrupt_pdf', message: 'bad xref' });
      const failed = await database.query('select id, status, error_code, error_message from documents');
      assert.deepEqual(failed.rows, [{ id, status: 'failed', error_code: 'corrupt_pdf', error_message: 'bad xref' }]);
      assert.equal(await findDone(database, doc.source.sha256, doc.pipelineVersion), undefined);
      await assert.rejects(loadDocument(database, id), /failed \(corrupt_pdf\)/);

      // A second failure updates the same row.
      const id2 = await recordFailure(database, { source: doc.source, pipelineVersion: doc.pipelineVersion, code: 'timeout', message: 'x'.repeat(5000) });
      assert.equal(id2, id);
      const again = await database.query('select status, error_code, length(error_message)::int as len from documents');
      assert.deepEqual(again.rows, [{ status: 'failed', error_code: 'timeout', len: 4000 }]);

      const r = await persistDocument(database, doc);
      assert.equal(r.inserted, true);
      const done = await database.query('select status, error_code, error_message from documents');
      assert.deepEqual(done.rows, [{ status: 'done', error_code: null, error_message: null }]);
      assert.deepEqual(await counts(database), { documents: 1, pages: 2, blocks: blockCount(doc) });
      assert.ok(await findDone(database, doc.source.sha256, doc.pipelineVersion));
    });

    test('a failure never overwrites a done document', async (t) => {
      const database = await open(backend, t);
      const doc = sampleDocument();
      const { documentId } = await persistDocument(database, doc);
      const before = await counts(database);
      const id = await recordFailure(database, { source: doc.source, pipelineVersion: doc.pipelineVersion, code: 'internal', message: 'late failure' });
      assert.equal(id, documentId);
      const rows = await database.query('select status, error_code, error_message from documents');
      assert.deepEqual(rows.rows, [{ status: 'done', error_code: null, error_message: null }]);
      assert.deepEqual(await counts(database), before);
      assert.deepEqual(await loadDocument(database, documentId), DocumentSchema.parse(doc));
    });

    test('loadDocument round-trips the stored Document (by id and by id prefix)', async (t) => {
      const database = await open(backend, t);
      const doc = sampleDocument({ pages: 3 });
      const { documentId } = await persistDocument(database, doc);
      const expected = DocumentSchema.parse(doc);
      const loaded = await loadDocument(database, documentId);
      assert.deepEqual(loaded, expected);
      assert.deepEqual(await loadDocument(database, documentId.slice(0, 8)), expected);
      await assert.rejects(loadDocument(database, '00000000-0000-0000-0000-000000000000'), /no document/);
    });

    test('JSON columns keep text outside ASCII, quotes and backslashes exactly (jsonb parameters)', async (t) => {
      const database = await open(backend, t);
      const doc = sampleDocument({ pages: 1 });
      const odd = 'Ŝtraße “quoted” \\ back\\slash — 表格 😀';
      const block = doc.pages[0]!.blocks[0]!;
      block.text = odd;
      block.lines = [{ text: odd, bbox: block.bbox, angle: 0, words: odd.split(' ').filter(Boolean).map((w) => ({ text: w, bbox: block.bbox })) }];
      doc.metadata = { ...doc.metadata, title: odd };
      const { documentId } = await persistDocument(database, doc);
      const loaded = await loadDocument(database, documentId);
      assert.deepEqual(loaded.pages[0]!.blocks[0]!.lines, block.lines);
      assert.equal(loaded.metadata.title, odd);
      const r = await database.query(`select lines->0->>'text' as line, lines->0->'words'->-1->>'text' as last from blocks where text = $1`, [odd]);
      assert.deepEqual(r.rows, [{ line: odd, last: '😀' }]);
      // A value given as an object is stored as JSON too.
      const v = await database.query('select ($1::jsonb)->>$2 as v', [{ k: odd }, 'k']);
      assert.equal(v.rows[0]!.v, odd);
    });

    test(
      'loadDocument keeps a provenance bbox that differs from the block bbox',
      {},
      async (t) => {
        const database = await open(backend, t);
        const doc = sampleDocument();
        const b = doc.pages[0]!.blocks[1]!;
        b.provenance = { ...b.provenance, bbox: { x0: 0, y0: 0, x1: 612, y1: 792 } };
        const { documentId } = await persistDocument(database, doc);
        const loaded = await loadDocument(database, documentId);
        assert.deepEqual(loaded.pages[0]!.blocks[1]!.provenance.bbox, { x0: 0, y0: 0, x1: 612, y1: 792 });
      },
    );

    test('an invalid Document is rejected and nothing is written', async (t) => {
      const database = await open(backend, t);
      const good = sampleDocument();
      const invalid = [
        { ...good, pageCount: 5 },
        { ...good, source: { ...good.source, sha256: 'not-a-sha' } },
        { ...good, pages: good.pages.map((p) => ({ ...p, blocks: p.blocks.map((b) => ({ ...b, order: 0 })) })) },
        { ...good, pages: [{ ...good.pages[0]!, blocks: [{ ...good.pages[0]!.blocks[0]!, bbox: { x0: 10, y0: 0, x1: 5, y1: 1 } }] }, good.pages[1]!] },
      ] as Document[];
      for (const doc of invalid) {
        await assert.rejects(persistDocument(database, doc), (err: Error) => err.name === 'ZodError' || /invalid|pageCount|sha256|bbox|order/i.test(err.message));
      }
      assert.deepEqual(await counts(database), { documents: 0, pages: 0, blocks: 0 });
    });

    test('an error in the middle of the transaction leaves nothing behind', async (t) => {
      const database = await open(backend, t);
      const doc = sampleDocument();
      // Simulated failure: the blocks insert (after the document and page rows) raises.
      await database.query(`
        create function folio_test_fail() returns trigger language plpgsql as $$
        begin raise exception 'simulated failure inserting block %', new.block_key; end $$`);
      await database.query('create trigger folio_test_fail before insert on blocks for each row execute function folio_test_fail()');
      await assert.rejects(persistDocument(database, doc), failsWith(/simulated failure/));
      assert.deepEqual(await counts(database), { documents: 0, pages: 0, blocks: 0 });

      // A previously recorded failure survives a failed replacement unchanged.
      await recordFailure(database, { source: doc.source, pipelineVersion: doc.pipelineVersion, code: 'timeout', message: 'first try' });
      await assert.rejects(persistDocument(database, doc), failsWith(/simulated failure/));
      const rows = await database.query('select status, error_code from documents');
      assert.deepEqual(rows.rows, [{ status: 'failed', error_code: 'timeout' }]);
      assert.deepEqual(await counts(database), { documents: 1, pages: 0, blocks: 0 });

      await database.query('drop trigger folio_test_fail on blocks');
      const r = await persistDocument(database, doc);
      assert.equal(r.inserted, true);
      assert.deepEqual(await counts(database), { documents: 1, pages: 2, blocks: blockCount(doc) });
    });

    test('text PostgreSQL cannot store (NUL) is rejected by the schema before anything is written', async (t) => {
      const database = await open(backend, t);
      const doc = sampleDocument();
      const b = doc.pages[1]!.blocks[1]!;
      b.text = 'before\u0000after';
      const parsed = DocumentSchema.safeParse(doc);
      assert.equal(parsed.success, false);
      assert.match(JSON.stringify(parsed.error?.issues), /NUL/);
      await assert.rejects(persistDocument(database, doc), (err: Error) => /NUL/.test(err.message));
      assert.deepEqual(await counts(database), { documents: 0, pages: 0, blocks: 0 });
    });
  });
}
