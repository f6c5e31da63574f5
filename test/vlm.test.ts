// The vision model engine against real llama.cpp code: llama-server built from node-llama-cpp's
// llama.cpp source (cached), tiny random-weight GGUF models generated here, and node-llama-cpp in
// process for text. Random weights say nothing meaningful: the tests assert that every answer is
// valid against its schema, lands where it belongs, and carries its provenance; never its text.
// A small HTTP server plays a misbehaving remote endpoint (invalid JSON, time-outs, errors).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import type { ModelProfile } from '../extractors/engines/vlm.ts';
import { toModelImage } from '../extractors/vlm.ts';
import { ensureServer } from '../extractors/engines/llama-server.ts';
import { loadDocument } from '../db/persist.ts';
import { processInputs } from '../pipelines/process.ts';
import { extractWithSchema } from '../pipelines/schema-extract.ts';
import { startVlm, vlmClient, type VlmRuntime } from '../pipelines/vlm.ts';
import { toMarkdown } from '../pipelines/markdown.ts';
import { loadConfig, type Config } from '../schemas/config.ts';
import { Document as DocumentSchema } from '../schemas/document.ts';
import { FolioError, type ErrorCode } from '../schemas/errors.ts';
import { taskJsonSchema } from '../schemas/vlm.ts';
import { imageOnlyPdf, letterPage, phonePhoto, png, render } from './fixtures/scans.ts';
import { backends } from './support/backends.ts';
import { makeProjector, makeTextModel } from './support/gguf.ts';
import { makeTmpDir, tmpDirFor, type TmpDir } from './support/tmp.ts';

const hasCode = (code: ErrorCode, also?: RegExp) => (err: unknown) => err instanceof FolioError && err.code === code && (!also || also.test(err.message));
const ajv = new Ajv2020({ strict: false });

let dir: TmpDir;
let models: { text: string; mmproj: string; wideMmproj: string; noPosition: string; brokenText: string };
let scanPdf: Uint8Array;
let photo: Buffer;
let pagePng: Buffer;

/** Settings for the tiny models: sampled (temperature 1), so that random weights give short, varied answers. */
function vlmConfig(over: Partial<Record<keyof Config, unknown>> = {}): Config {
  return loadConfig(
    { logLevel: 'silent', workers: 1, vlmModel: models.text, vlmMmproj: models.mmproj, vlmTemperature: 1, vlmParallel: 2, vlmThreads: 1, vlmTimeoutMs: 120_000, ...over },
    {},
  );
}

before(async () => {
  // Built once per llama.cpp version and CPU into the user's cache (CI builds it before the tests).
  await ensureServer();
  dir = await makeTmpDir('folio-vlm-');
  models = {
    text: dir.join('tiny.gguf'),
    mmproj: dir.join('tiny-mmproj.gguf'),
    wideMmproj: dir.join('wide-mmproj.gguf'),
    noPosition: dir.join('nopos-mmproj.gguf'),
    brokenText: dir.join('broken.gguf'),
  };
  makeTextModel(models.text);
  makeProjector(models.mmproj);
  makeProjector(models.wideMmproj, { textEmbedding: 96 });
  makeProjector(models.noPosition, { omit: ['v.position_embd.weight'] });
  makeTextModel(models.brokenText, { omit: ['blk.1.ffn_down.weight'] });
  const letter = await letterPage();
  const pixels = await render(letter.pdf, 100);
  scanPdf = await imageOnlyPdf(pixels);
  photo = await phonePhoto(pixels);
  pagePng = await png(pixels);
});
after(() => dir?.cleanup());

/** The test page as the model gets it. */
async function modelImage(profile: ModelProfile) {
  const raw = await sharp(pagePng).raw().toBuffer({ resolveWithObject: true });
  return toModelImage({ data: raw.data, width: raw.info.width, height: raw.info.height, channels: raw.info.channels as 3, scale: 100 / 72 }, profile);
}

describe('model files are checked before any page is read', () => {
  const cases: [string, () => Partial<Record<keyof Config, unknown>>, ErrorCode, RegExp][] = [
    ['a missing model file', () => ({ vlmModel: dir.join('nowhere.gguf') }), 'model_missing', /nowhere\.gguf/],
    ['a model missing a tensor', () => ({ vlmModel: models.brokenText }), 'model_invalid', /blk\.1\.ffn_down\.weight is missing/],
    ['an mmproj of another width', () => ({ vlmMmproj: models.wideMmproj }), 'model_invalid', /outputs 96-wide embeddings but the language model is 64 wide/],
    ['an mmproj without position embeddings (llama.cpp would crash)', () => ({ vlmMmproj: models.noPosition }), 'model_invalid', /v\.position_embd\.weight is missing/],
    ['an mmproj given as the model', () => ({ vlmModel: models.mmproj }), 'model_invalid', /vision projector/],
  ];
  for (const [name, over, code, message] of cases) {
    test(name, async (t) => {
      const tmp = await tmpDirFor(t);
      const db = await backends[0]!.open();
      t.after(() => db.close());
      const scan = await tmp.write('in/scan.pdf', scanPdf);
      let started = false;
      await assert.rejects(processInputs([scan], vlmConfig({ engine: 'vlm', dataDir: tmp.join('data'), ...over() }), db, { onStart: () => (started = true) }), hasCode(code, message));
      assert.equal(started, false, 'no file is read');
      assert.equal((await db.query('select count(*)::int as n from documents')).rows[0]!.n, 0);
    });
  }

  test('the command says why and exits 1, without a crash', async (t) => {
    const tmp = await tmpDirFor(t);
    const scan = await tmp.write('scan.pdf', scanPdf);
    const r = spawnSync(process.execPath, ['bin/folio.js', 'process', scan, '--engine', 'vlm', '--vlm-model', models.text, '--vlm-mmproj', models.wideMmproj, '--data-dir', tmp.join('data')], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /model_invalid: .*wide-mmproj\.gguf.*belongs to another model/);
    const models2 = spawnSync(process.execPath, ['bin/folio.js', 'models', '--vlm-model', models.text, '--vlm-mmproj', models.wideMmproj, '--json'], { encoding: 'utf8' });
    assert.equal(models2.status, 1);
    const rows = JSON.parse(models2.stdout) as { role: string; status: string }[];
    assert.deepEqual(rows.filter((r) => r.role !== 'llama-server' && r.role !== 'ocr').map((r) => [r.role, r.status]), [['vlm', 'ok'], ['mmproj', 'invalid']]);
  });

  test('an hf: URI that cannot be fetched says so', async () => {
    await assert.rejects(startVlm(vlmConfig({ vlmModel: 'hf:folio-test/none/none.gguf' })), hasCode('model_missing', /cannot fetch model hf:folio-test\/none\/none\.gguf/));
  });
});

describe('the managed llama-server', () => {
  let rt: VlmRuntime;
  before(async () => {
    rt = (await startVlm(vlmConfig()))!;
  });
  after(() => rt?.close());

  test('answers each task in JSON valid against its schema, with provenance and timings', async () => {
    const client = vlmClient(rt.settings);
    const img = await modelImage(client.profile);
    for (const task of ['page', 'table', 'chart'] as const) {
      const got = await client.task(task, img.image);
      assert.ok(ajv.validate(taskJsonSchema(task), got.value), `${task}: ${ajv.errorsText()}`);
      assert.ok(got.timings.request > 0 && got.timings.tries >= 1);
      assert.ok((got.timings.promptTokens ?? 0) > 16, 'the image tokens were read');
    }
    const sha = crypto.createHash('sha256').update(fs.readFileSync(models.text)).digest('hex');
    assert.deepEqual(
      { kind: rt.settings.info.kind, name: rt.settings.info.name, model: rt.settings.info.model, sha: rt.settings.info.modelSha256 },
      { kind: 'vlm', name: 'llama-server', model: 'tiny.gguf', sha },
    );
    assert.match(rt.settings.info.version, /^llama\.cpp@[0-9a-f]{10}$/);
  });

  test('is started again when it dies, and the request in flight is retried', async () => {
    const client = vlmClient({ ...rt.settings, retries: 6 });
    const pid = rt.server!.pid!;
    process.kill(pid, 'SIGKILL');
    const img = await modelImage(client.profile);
    const got = await client.task('page', img.image);
    assert.ok(ajv.validate(taskJsonSchema('page'), got.value));
    assert.notEqual(rt.server!.pid, pid, 'a new llama-server process');
  });

  for (const backend of backends) {
    test(`${backend.name}: a scanned PDF and a photo read with --engine vlm land in SQL with their provenance`, async (t) => {
      const tmp = await tmpDirFor(t);
      const db = await backend.open();
      t.after(() => db.close());
      await tmp.write('in/scan.pdf', scanPdf);
      await tmp.write('in/photo.jpg', photo);
      const cfg = vlmConfig({ engine: 'vlm', dataDir: tmp.join('data') });
      const run = await processInputs([tmp.join('in')], cfg, db, { vlmRuntime: rt });
      assert.deepEqual(run.outcomes.map((o) => [o.file.split('/').at(-1), o.status, o.code]), [['photo.jpg', 'done', undefined], ['scan.pdf', 'done', undefined]].sort());
      const pages = await db.query(
        `select d.filename, d.pipeline_version, p.engine, p.reader->>'model' as model, p.reader->>'modelSha256' as sha, p.reader->>'engine' as reader from pages p join documents d on d.id = p.document_id order by d.filename`,
      );
      const sha = rt.settings.info.modelSha256;
      for (const p of pages.rows) {
        assert.deepEqual([p.engine, p.model, p.sha, p.reader], ['vlm', 'tiny.gguf', sha, 'llama-server']);
        assert.match(String(p.pipeline_version), new RegExp(`\\+engine=vlm\\+vlm=${sha.slice(0, 12)}$`));
      }
      // Whatever blocks the model gave are stored with the model as their provenance.
      const engines = await db.query(`select distinct engine, model from blocks`);
      for (const r of engines.rows) assert.deepEqual([r.engine, r.model], ['vlm', 'tiny.gguf']);
      for (const o of run.outcomes) DocumentSchema.parse(await loadDocument(db, o.documentId!));
      // The same files again: stored already under this model.
      const again = await processInputs([tmp.join('in')], cfg, db, { vlmRuntime: rt });
      assert.equal(again.skipped, 2);
    });
  }

  test('FOLIO_VLM_URL: the same server used as a remote endpoint', async (t) => {
    const tmp = await tmpDirFor(t);
    const db = await backends[0]!.open();
    t.after(() => db.close());
    const file = await tmp.write('photo.jpg', photo);
    const run = await processInputs([file], vlmConfig({ engine: 'vlm', vlmUrl: rt.settings.url, vlmModel: undefined, vlmMmproj: undefined, vlmModelName: 'tiny', dataDir: tmp.join('data') }), db);
    assert.equal(run.done, 1, JSON.stringify(run.outcomes));
    const p = await db.query(`select p.engine, p.reader->>'engine' as reader, p.reader->>'model' as model, p.reader ? 'modelSha256' as has_sha from pages p`);
    assert.deepEqual(p.rows[0], { engine: 'vlm', reader: 'openai-compatible', model: 'tiny', has_sha: false });
  });

  test('folio extract --schema fills a user schema: text in-process, an image through the vision model', async (t) => {
    const tmp = await tmpDirFor(t);
    const schema = {
      type: 'object',
      properties: {
        invoice_number: { type: 'string', maxLength: 40 },
        total: { type: 'number' },
        paid: { type: 'boolean' },
        lines: { type: 'array', maxItems: 3, items: { type: 'object', properties: { item: { type: 'string', maxLength: 40 }, amount: { type: 'number' } }, required: ['item', 'amount'] } },
      },
      required: ['invoice_number', 'total', 'paid', 'lines'],
      additionalProperties: false,
    };
    const schemaFile = await tmp.write('invoice.json', JSON.stringify(schema));
    const check = new Ajv2020({ strict: false }).compile(schema);
    const letter = await letterPage();
    const text = await extractWithSchema({ bytes: letter.pdf, uri: 'mem://letter.pdf', name: 'letter.pdf' }, schemaFile, vlmConfig({ vlmMaxTokens: 512 }));
    assert.ok(check(text.data), JSON.stringify(check.errors));
    assert.equal(text.provenance.engine, 'llm');
    assert.equal(text.provenance.model, 'tiny.gguf');
    assert.match(text.provenance.engineVersion, /^node-llama-cpp@3\./);
    assert.deepEqual(text.provenance.pages, [1]);
    // The command, storing its result.
    const pdfFile = await tmp.write('letter.pdf', letter.pdf);
    const env = { ...process.env, FOLIO_LLM_MODEL: models.text, FOLIO_VLM_TEMPERATURE: '1', FOLIO_VLM_MAX_TOKENS: '512', FOLIO_LOG_LEVEL: 'silent', FOLIO_DATA_DIR: tmp.join('data') };
    const cli = spawnSync(process.execPath, ['bin/folio.js', 'extract', pdfFile, '--schema', schemaFile, '--store'], { encoding: 'utf8', env });
    assert.equal(cli.status, 0, cli.stderr);
    const printed = JSON.parse(cli.stdout) as { id: string; data: unknown; schemaSha256: string };
    assert.ok(check(printed.data), JSON.stringify(check.errors));
    const q = spawnSync(process.execPath, ['bin/folio.js', 'query', 'select id::text, schema_name, engine, model, data from extractions', '--json'], { encoding: 'utf8', env });
    assert.equal(q.status, 0, q.stderr);
    const stored = JSON.parse(q.stdout) as { id: string; schema_name: string; engine: string; model: string; data: unknown }[];
    assert.deepEqual(stored.map((r) => [r.id, r.schema_name, r.engine, r.model]), [[printed.id, 'invoice.json', 'llm', 'tiny.gguf']]);
    assert.deepEqual(stored[0]!.data, printed.data);
    const image = await extractWithSchema({ bytes: new Uint8Array(photo), uri: 'mem://photo.jpg', name: 'photo.jpg' }, schemaFile, vlmConfig({ vlmUrl: rt.settings.url, vlmModel: undefined, vlmMmproj: undefined }));
    assert.ok(check(image.data), JSON.stringify(check.errors));
    assert.equal(image.provenance.engine, 'remote');
  });
});

/**
 * An OpenAI-compatible endpoint that answers by script: each request takes the next behaviour
 * for its task (then the last one again). Answers are valid for their task unless told otherwise.
 */
function stubServer(script: Record<'page' | 'table' | 'chart', ('ok' | 'invalid' | 'hang' | 'error')[]>, opts: { firstImage?: 'invalid' | 'hang' | 'error' } = {}) {
  // With firstImage: every page request showing the first page image the stub saw gets that
  // behaviour, every other page request a valid answer (pages arrive in any order).
  let firstImage: string | undefined;
  const seen: string[] = [];
  const answers = {
    page: { blocks: [
      { type: 'title', box: { x0: 100, y0: 50, x1: 900, y1: 100 }, text: 'Quarterly report' },
      { type: 'paragraph', box: { x0: 100, y0: 120, x1: 900, y1: 300 }, text: 'Sales rose in every region.\nNorth led \ud83d (a lone surrogate and a NUL\u0000 a model may escape).' },
      { type: 'table', box: { x0: 100, y0: 320, x1: 900, y1: 600 }, text: '' },
      { type: 'figure', box: { x0: 100, y0: 620, x1: 900, y1: 950 }, text: '' },
    ] },
    table: { caption: 'Table 1: Sales', headerRows: 1, cells: [
      { row: 0, col: 0, rowSpan: 1, colSpan: 1, text: 'Region' }, { row: 0, col: 1, rowSpan: 1, colSpan: 1, text: 'Sales' },
      { row: 1, col: 0, rowSpan: 1, colSpan: 1, text: 'North' }, { row: 1, col: 1, rowSpan: 1, colSpan: 1, text: '1,200' },
      { row: 2, col: 0, rowSpan: 1, colSpan: 1, text: 'South' }, { row: 2, col: 1, rowSpan: 1, colSpan: 1, text: '950' },
    ] },
    chart: { chartType: 'bar', title: 'Sales by region', xAxis: { title: 'Region', unit: '' }, yAxis: { title: 'Sales', unit: 'kEUR' }, series: [{ name: '2026', points: [{ x: 'North', y: 1200 }, { x: 'South', y: 950 }] }] },
  };
  const count = { page: 0, table: 0, chart: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const q = JSON.parse(body) as { messages: { content: { type: string; text?: string; image_url?: { url: string } }[] }[] };
      const prompt = q.messages.at(-1)!.content.find((c) => c.type === 'text')!.text!;
      const image = q.messages.at(-1)!.content.find((c) => c.type === 'image_url')?.image_url?.url;
      const task = /is a figure/.test(prompt) ? 'chart' : /shows a table/.test(prompt) ? 'table' : 'page';
      const steps = script[task];
      let how = steps[Math.min(count[task]++, steps.length - 1)]!;
      if (opts.firstImage && task === 'page') {
        firstImage ??= image;
        how = image === firstImage ? opts.firstImage : 'ok';
      }
      seen.push(`${task}:${how}`);
      if (how === 'hang') return; // never answers: the client's time limit ends it
      if (how === 'error') {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"model crashed"}}');
        return;
      }
      const content = how === 'invalid' ? '{"blocks": [{"type": "para' : JSON.stringify(answers[task]);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ choices: [{ message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 100, completion_tokens: 20 } }),
      );
    });
  });
  return {
    seen,
    start: () => new Promise<string>((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    stop: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** Two scanned pages in one PDF (different pages: the letter and a table). */
async function twoPageScan(): Promise<Uint8Array> {
  const { tablePage } = await import('./fixtures/scans.ts');
  const out = await PDFDocument.create();
  for (const pdf of [scanPdf, await imageOnlyPdf(await render((await tablePage()).pdf, 100))]) {
    const src = await PDFDocument.load(pdf);
    out.addPage((await out.copyPages(src, [0]))[0]!);
  }
  return out.save();
}

describe('auto with a vision model configured', () => {
  test('a born-digital figure is read as a chart, a table on a scan is read again by the model; text stays with the text layer and OCR', async (t) => {
    const tmp = await tmpDirFor(t);
    const db = await backends[0]!.open();
    t.after(() => db.close());
    const stub = stubServer({ page: ['ok'], table: ['ok'], chart: ['ok'] });
    const url = await stub.start();
    t.after(() => stub.stop());
    // A report page: a paragraph of text and a picture (a chart) under it.
    const doc = await PDFDocument.create();
    const page = doc.addPage([612, 792]);
    page.drawText('Revenue grew in every quarter of the year.', { x: 72, y: 700, size: 12 });
    const chart = await sharp({ create: { width: 400, height: 260, channels: 3, background: '#ffffff' } })
      .composite([0, 1, 2, 3].map((i) => ({ input: { create: { width: 50, height: 60 + 40 * i, channels: 3 as const, background: '#3060c0' } }, left: 40 + 90 * i, top: 240 - 60 - 40 * i })))
      .png()
      .toBuffer();
    page.drawImage(await doc.embedPng(chart), { x: 72, y: 300, width: 400, height: 260 });
    await tmp.write('in/report.pdf', await doc.save());
    const { tablePage } = await import('./fixtures/scans.ts');
    await tmp.write('in/table-scan.pdf', await imageOnlyPdf(await render((await tablePage()).pdf, 200)));
    const run = await processInputs([tmp.join('in')], loadConfig({ logLevel: 'silent', workers: 1, vlmUrl: url, vlmModelName: 'stub', dataDir: tmp.join('data') }, {}), db);
    assert.equal(run.done, 2, JSON.stringify(run.outcomes));
    assert.ok(!stub.seen.some((s) => s.startsWith('page:')), 'no page goes to the model whole');
    const pages = await db.query(`select d.filename, p.engine from pages p join documents d on d.id = p.document_id order by d.filename`);
    assert.deepEqual(pages.rows.map((r) => [r.filename, r.engine]), [['report.pdf', 'pdf-text'], ['table-scan.pdf', 'ocr']]);
    const charts = await db.query(`select d.filename, c.chart_type, c.engine, c.model from charts c join documents d on d.id = c.document_id`);
    // Each answer carries the model as its provenance, whatever read the rest of its page.
    assert.deepEqual(charts.rows.map((r) => [r.filename, r.chart_type, r.engine, r.model]), [['report.pdf', 'bar', 'remote', 'stub']]);
    const tables = await db.query(`select d.filename, t.method, t.caption, t.engine, t.model from tables t join documents d on d.id = t.document_id`);
    assert.deepEqual(tables.rows.map((r) => [r.filename, r.method, r.caption, r.engine, r.model]), [['table-scan.pdf', 'vlm', 'Table 1: Sales', 'remote', 'stub']]);
    const version = await db.query(`select distinct pipeline_version from documents`);
    assert.match(String(version.rows[0]!.pipeline_version), /\+vlm=stub$/);
  });
});

describe('a remote endpoint that misbehaves', () => {
  for (const bad of ['invalid', 'hang', 'error'] as const) {
    test(`${bad === 'invalid' ? 'invalid JSON' : bad === 'hang' ? 'no answer in time' : 'HTTP 500'}: retried, then recorded on its page; the rest of the document is stored`, async (t) => {
      const tmp = await tmpDirFor(t);
      const db = await backends[0]!.open();
      t.after(() => db.close());
      // One page fails both its tries (whichever the stub saw first: pages are in flight
      // together); the other reads, and its table and figure go to their tasks.
      const stub = stubServer({ page: ['ok'], table: ['ok'], chart: ['ok'] }, { firstImage: bad });
      const url = await stub.start();
      t.after(() => stub.stop());
      const file = await tmp.write('report.pdf', await twoPageScan());
      const cfg = loadConfig({ logLevel: 'silent', workers: 1, engine: 'vlm', vlmUrl: url, vlmRetries: 1, vlmParallel: 1, vlmTimeoutMs: 1500, dataDir: tmp.join('data') }, {});
      const run = await processInputs([file], cfg, db);
      assert.equal(run.done, 1, JSON.stringify(run.outcomes));
      assert.deepEqual(stub.seen.filter((s) => s.startsWith('page:')).sort(), [`page:${bad}`, `page:${bad}`, 'page:ok'].sort());
      const doc = await loadDocument(db, run.outcomes[0]!.documentId!);
      const failed = doc.warnings.filter((x) => x.code === 'model_failed');
      assert.equal(failed.length, 1, JSON.stringify(doc.warnings));
      const w = failed[0]!;
      const [f, g] = w.page === 1 ? [1, 2] : [2, 1];
      assert.match(w!.message, bad === 'invalid' ? /not valid JSON/ : bad === 'hang' ? /no answer in 1500 ms/ : /HTTP 500/);
      assert.match(w!.message, /after 2 tries/);
      assert.equal(doc.pages[f - 1]!.blocks.length, 0, 'nothing of the failed page is stored');
      assert.deepEqual(doc.pages[g - 1]!.blocks.map((b) => b.type), ['title', 'paragraph', 'table', 'figure']);
      assert.match(doc.pages[g - 1]!.blocks[1]!.text, /North led \ufffd \(a lone surrogate and a NUL a model may escape\)/);
      // The table task's cells are rows in SQL, under their header.
      const rows = await db.query(`select r.data->>'Region' as region, r.values->>'Sales' as sales from table_rows r order by r.row_no`);
      assert.deepEqual(rows.rows.map((r) => [r.region, Number(r.sales)]), [['North', 1200], ['South', 950]]);
      const table = await db.query(`select method, caption from tables`);
      assert.deepEqual(table.rows[0], { method: 'vlm', caption: 'Table 1: Sales' });
      // The chart task's answer is a charts row, its points queryable.
      const pts = await db.query(`select c.chart_type, c.title, c.page, p.series, p.x, p.y from charts c join chart_points p on p.chart_id = c.id order by p.point_no`);
      assert.deepEqual(pts.rows.map((r) => [r.chart_type, r.title, r.page, r.series, r.x, r.y]), [['bar', 'Sales by region', g, '2026', 'North', 1200], ['bar', 'Sales by region', g, '2026', 'South', 950]]);
      assert.match(toMarkdown(doc), /\*Chart \(bar\): Sales by region\*\n\n\| Region \| 2026 \|\n\| --- \| --- \|\n\| North \| 1200 \|/);
    });
  }

  test('a document whose every page fails is recorded failed with model_failed', async (t) => {
    const tmp = await tmpDirFor(t);
    const db = await backends[0]!.open();
    t.after(() => db.close());
    const stub = stubServer({ page: ['error'], table: ['ok'], chart: ['ok'] });
    const url = await stub.start();
    t.after(() => stub.stop());
    const file = await tmp.write('photo.png', pagePng);
    const run = await processInputs([file], loadConfig({ logLevel: 'silent', workers: 1, engine: 'vlm', vlmUrl: url, vlmRetries: 2, dataDir: tmp.join('data') }, {}), db);
    assert.equal(run.failed, 1);
    assert.equal(run.outcomes[0]!.code, 'model_failed');
    assert.equal(stub.seen.length, 3, 'three tries');
    const d = await db.query(`select status, error_code from documents`);
    assert.deepEqual(d.rows[0], { status: 'failed', error_code: 'model_failed' });
  });
});
