// folio through Kafka, against a real broker (kafka/broker.mjs) and a real PostgreSQL: `folio
// ingest` queues files, `folio worker` processes store them; every document is stored once,
// with one folio.results event, and the same rows as a clean `folio process` of the same files.
// Bad messages land in folio.dlq with their reason while the others flow.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { openDatabase } from '../db/client.ts';
import { IngestMessage, type DlqMessage, type ResultMessage } from '../schemas/messages.ts';
import type { Broker } from '../kafka/broker.mjs';
import type { BatchReport } from '../pipelines/batch.ts';
import { garbagePdf } from './fixtures/pdfs.ts';
import { cleanProcess, freePort, kafkaCorpus, kafkaWorld, partitionsShared, produce, readTopic, runFolio, storedBySha, testBroker } from './support/kafka.ts';
import { makeTmpDir } from './support/tmp.ts';

let broker: Broker;
let stopBroker: () => Promise<void>;
const world = (extra: Record<string, string> = {}) => kafkaWorld(broker, extra);

before(async () => {
  ({ broker, cleanup: stopBroker } = await testBroker());
});
after(async () => {
  await stopBroker?.();
});

describe('folio through Kafka', () => {
  test('folio schema --message prints the JSON Schema a producer in another language writes by', async () => {
    const r = await runFolio(['schema', '--message', 'ingest'], {});
    assert.equal(r.code, 0, r.stderr);
    const schema = JSON.parse(r.stdout) as { required: string[]; properties: Record<string, unknown>; additionalProperties: boolean };
    assert.deepEqual([...schema.required].sort(), ['docId', 'uri']);
    for (const k of ['docId', 'uri', 'sha256', 'mime', 'size', 'options']) assert.ok(k in schema.properties, k);
    assert.equal(schema.additionalProperties, false);
    // What another language's producer writes validates with an independent validator, and what
    // folio would refuse does not.
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    const sha = 'a'.repeat(64);
    assert.ok(validate({ docId: 'inv-1', uri: 'https://files.example/a.pdf', sha256: sha, mime: 'application/pdf', size: 10, options: { engine: 'ocr' } }), JSON.stringify(validate.errors));
    assert.ok(validate({ docId: 'inv-2', uri: 'file:///data/b.pdf' }));
    assert.equal(validate({ docId: 'inv-3' }), false);
    assert.equal(validate({ docId: 'inv-4', uri: 'x', sha256: 'short' }), false);
    assert.equal(validate({ docId: 'inv-5', uri: 'x', extra: 1 }), false);
    const dlq = JSON.parse((await runFolio(['schema', '--message', 'dlq'], {})).stdout) as { required: string[] };
    for (const k of ['payload', 'code', 'message', 'attempts']) assert.ok(dlq.required.includes(k), k);
    const bad = await runFolio(['schema', '--message', 'nope'], {});
    assert.notEqual(bad.code, 0);
  });

  test('a worker without DATABASE_URL says it needs PostgreSQL', async () => {
    const r = await runFolio(['worker'], { KAFKA_BROKERS: broker.brokers, DATABASE_URL: '', FOLIO_METRICS_PORT: '0' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /needs a PostgreSQL server: set DATABASE_URL/);
  });

  test('two workers store every document once, with one results event each and the rows of a clean folio process', async (t) => {
    // Documents over 6 pages are read in ranges of 3 pages by whichever worker takes them.
    const w = await world({ FOLIO_FANOUT_PAGES: '6', FOLIO_PAGE_RANGE: '3' });
    const corpus = await kafkaCorpus(14, { long: 2, longPages: 8 });
    t.after(() => Promise.all([w.cleanup(), corpus.dir.cleanup()]));

    // Both workers in the group, each holding some partitions, before anything is queued: otherwise
    // the first to join may take every document before the group rebalances.
    const a = w.worker('a', { FOLIO_METRICS_PORT: String(await freePort()) });
    const b = w.worker('b');
    await Promise.all([a.ready, b.ready]);
    await partitionsShared([a, b], w.topic('ingest'));

    const ingest = await runFolio(['ingest', corpus.dir.path], w.env);
    assert.equal(ingest.code, 0, ingest.stderr);
    const queued = ingest.stdout.split('\n').filter((l) => l.startsWith('queued '));
    assert.equal(queued.length, corpus.files.length, ingest.stdout);
    assert.match(ingest.stdout, new RegExp(`${corpus.files.length} queued on ${w.topic('ingest').replace('.', '\\.')}`));
    const results = await readTopic<ResultMessage>(broker.brokers, w.topic('results'), { until: (got) => got.length >= corpus.files.length, settleMs: 3000 });

    // One event per document, every one done, none twice.
    const ids = results.map((r) => r.value.docId);
    assert.equal(new Set(ids).size, ids.length, 'a document announced twice');
    assert.equal(results.length, corpus.files.length);
    assert.deepEqual(results.filter((r) => r.value.status !== 'done').map((r) => r.value), []);
    const docIdOf = new Map(queued.map((l) => [l.split(' ')[2]!, l.split(' ')[1]!]));
    assert.deepEqual(new Set(ids), new Set(docIdOf.values()));
    // Both workers did some of the work.
    assert.equal(new Set(results.map((r) => r.value.worker)).size, 2, JSON.stringify(results.map((r) => r.value.worker)));

    const database = await openDatabase({ url: w.db.url, migrate: false });
    try {
      const stored = await storedBySha(database);
      const clean = await cleanProcess(corpus.files);
      assert.equal(stored.size, corpus.files.length);
      assert.deepEqual(Object.fromEntries(stored), Object.fromEntries(clean));
      // The long documents were split, and their ranges assembled into one Document.
      const ranges = await database.query(`select count(distinct fanout)::int as splits, count(*)::int as ranges, count(*) filter (where completer)::int as completers, count(part)::int as left from page_ranges`);
      assert.deepEqual(ranges.rows[0], { splits: 2, ranges: 6, completers: 2, left: 0 });
      const tables = await database.query(`select count(*)::int as n from table_rows`);
      assert.ok((tables.rows[0] as { n: number }).n > 0, 'no table rows');
    } finally {
      await database.close();
    }

    // Health and metrics.
    const port = (a.lines.find((l) => l.msg === 'worker running') as { metricsPort: number }).metricsPort;
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const name of ['folio_messages_total', 'folio_documents_total', 'folio_pages_total', 'folio_consumer_lag', 'folio_stage_seconds_bucket']) {
      assert.match(metrics, new RegExp(`^${name}`, 'm'), name);
    }
    assert.match(metrics, /^folio_documents_total\{status="done"\} [1-9]/m);

    // SIGTERM: both leave cleanly.
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
    assert.ok(a.lines.some((l) => l.msg === 'stopped'));
  });

  test('poison messages land in the DLQ after their tries while the others flow', async (t) => {
    // A port nobody listens on: the fetch fails and is tried again; a host on the allowlist.
    const closed = await freePort();
    const w = await world({ FOLIO_HTTP_ALLOW: `127.0.0.1:${closed}` });
    const corpus = await kafkaCorpus(3);
    const bad = await corpus.dir.write('corrupt.pdf', garbagePdf());
    t.after(() => Promise.all([w.cleanup(), corpus.dir.cleanup()]));
    const ingest = await runFolio(['ingest', ...corpus.files, bad], w.env);
    assert.equal(ingest.code, 0, ingest.stderr);
    await produce(broker.brokers, w.topic('ingest'), [
      { key: 'x', value: '{"docId": "broken json' },
      { key: 'y', value: JSON.stringify({ docId: 'no-uri' }) },
      { key: 'z', value: JSON.stringify({ docId: 'unreachable', uri: `http://127.0.0.1:${closed}/report.pdf` }) },
    ]);
    const worker = w.worker('p');
    await worker.ready;
    const dlq = await readTopic<DlqMessage>(broker.brokers, w.topic('dlq'), { until: (got) => got.length >= 4 });
    const results = await readTopic<ResultMessage>(broker.brokers, w.topic('results'), { until: (got) => got.length >= 5, settleMs: 500 });

    const byReason = Object.fromEntries(dlq.map((m) => [m.value.docId ?? m.value.payload.slice(0, 12), m.value]));
    assert.equal(dlq.length, 4, JSON.stringify(dlq.map((m) => m.value)));
    const broken = dlq.find((m) => m.value.payload === '{"docId": "broken json')!.value;
    assert.equal(broken.code, 'invalid_message');
    assert.match(broken.message, /not JSON/);
    assert.equal(broken.attempts, 1);
    assert.equal(byReason['no-uri']!.code, 'invalid_message');
    assert.match(byReason['no-uri']!.message, /uri/);
    // A passing failure is tried the configured number of times, then given up.
    assert.equal(byReason.unreachable!.code, 'fetch_failed');
    assert.equal(byReason.unreachable!.attempts, 3);
    assert.ok(worker.lines.filter((l) => /trying again/.test(String(l.msg))).length >= 2);
    // A corrupt file gives the same answer every time: given up at once, recorded against the document.
    const corrupt = dlq.find((m) => m.value.code === 'corrupt_pdf' || m.value.code === 'not_a_pdf');
    assert.ok(corrupt, JSON.stringify(dlq.map((m) => m.value.code)));
    assert.equal(IngestMessage.parse(JSON.parse(corrupt.value.payload)).name, 'corrupt.pdf');

    // The good documents went through; the failed ones are announced as failed.
    const status = results.map((r) => `${r.value.name}:${r.value.status}`).sort();
    assert.deepEqual(status, ['corrupt.pdf:failed', 'doc-000.pdf:done', 'doc-001.pdf:done', 'doc-002.pdf:done', 'report.pdf:failed']);
    const database = await openDatabase({ url: w.db.url, migrate: false });
    try {
      const rows = await database.query(`select filename, status, error_code from documents order by filename`);
      assert.deepEqual(
        rows.rows.map((r) => `${r.filename}:${r.status}`),
        ['corrupt.pdf:failed', 'doc-000.pdf:done', 'doc-001.pdf:done', 'doc-002.pdf:done'],
      );
    } finally {
      await database.close();
    }
  });

  test('sources outside FOLIO_ROOTS or the HTTP allowlist are refused, and an endless download is cut at the limit', async (t) => {
    const inside = await kafkaCorpus(1);
    const outside = await kafkaCorpus(1);
    // A server on the allowlist that sends more bytes than FOLIO_MAX_BYTES (and never stops).
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/pdf' });
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = () => {
        while (res.write(chunk)) if (res.destroyed) return;
        res.once('drain', pump);
      };
      pump();
      req.on('close', () => res.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const w = await world({ FOLIO_ROOTS: inside.dir.path, FOLIO_HTTP_ALLOW: `127.0.0.1:${port}`, FOLIO_MAX_BYTES: String(2 * 1024 * 1024) });
    t.after(async () => {
      server.closeAllConnections();
      server.close();
      await Promise.all([w.cleanup(), inside.dir.cleanup(), outside.dir.cleanup()]);
    });
    const fileUrl = (f: string) => `file://${f}`;
    // The worker creates the topics.
    const worker = w.worker('s');
    await worker.ready;
    await produce(broker.brokers, w.topic('ingest'), [
      { value: JSON.stringify({ docId: 'inside', uri: fileUrl(inside.files[0]!) }) },
      { value: JSON.stringify({ docId: 'outside', uri: fileUrl(outside.files[0]!) }) },
      { value: JSON.stringify({ docId: 'dotdot', uri: fileUrl(path.join(inside.dir.path, '..', path.basename(outside.dir.path), 'doc-000.pdf')) }) },
      { value: JSON.stringify({ docId: 'other-host', uri: `http://localhost:${port}/a.pdf` }) },
      { value: JSON.stringify({ docId: 'endless', uri: `http://127.0.0.1:${port}/endless.pdf` }) },
    ]);
    const dlq = await readTopic<DlqMessage>(broker.brokers, w.topic('dlq'), { until: (got) => got.length >= 4 });
    const code = Object.fromEntries(dlq.map((m) => [m.value.docId, m.value.code]));
    assert.deepEqual(code, { outside: 'source_forbidden', dotdot: 'source_forbidden', 'other-host': 'source_forbidden', endless: 'too_large' });
    assert.match(dlq.find((m) => m.value.docId === 'endless')!.value.message, /cut/);
    const results = await readTopic<ResultMessage>(broker.brokers, w.topic('results'), { until: (got) => got.length >= 5, settleMs: 500 });
    assert.equal(results.find((r) => r.value.docId === 'inside')?.value.status, 'done');
  });

  test('folio batch through Kafka: workers store the files while the run waits for their results; run again, all unchanged; with no worker, a time-out', async (t) => {
    const w = await world();
    const corpus = await kafkaCorpus(5);
    t.after(() => Promise.all([w.cleanup(), corpus.dir.cleanup()]));
    const worker = w.worker('a');
    await worker.ready;

    // KAFKA_BROKERS is set: the batch goes through Kafka, and the report has what the workers stored.
    const first = await runFolio(['batch', corpus.dir.path, '--json'], w.env);
    assert.equal(first.code, 0, first.stderr);
    const r1 = JSON.parse(first.stdout) as BatchReport;
    assert.equal(r1.transport, 'kafka');
    assert.deepEqual([r1.files, r1.processed, r1.unchanged, r1.failed], [5, 5, 0, 0]);
    assert.ok(r1.pages >= 5, String(r1.pages));
    assert.ok(r1.tables.length >= 1, 'the table of the fifth file is in the report');
    assert.equal(r1.perDocument.length, 5);
    const html = fs.readFileSync(path.join(w.data.path, 'reports', r1.runId, 'report.html'), 'utf8');
    assert.match(html, /through Kafka/);
    assert.ok(fs.existsSync(path.join(w.data.path, 'reports', r1.runId, 'tables', `${r1.tables[0]!.document.slice(0, 8)}-${r1.tables[0]!.table}.csv`)));

    // The next night: the workers find every file stored.
    const second = await runFolio(['batch', corpus.dir.path, '--json'], w.env);
    assert.equal(second.code, 0, second.stderr);
    const r2 = JSON.parse(second.stdout) as BatchReport;
    assert.deepEqual([r2.files, r2.processed, r2.unchanged, r2.failed], [5, 0, 5, 0]);

    const database = await openDatabase({ url: w.db.url, migrate: false });
    try {
      const stored = await storedBySha(database);
      assert.equal(stored.size, 5);
    } finally {
      await database.close();
    }

    // No worker: the run gives up waiting after --wait-timeout, says so per file, and fails.
    worker.kill('SIGTERM');
    assert.equal(await worker.exited, 0);
    const started = performance.now();
    const third = await runFolio(['batch', corpus.dir.path, '--wait-timeout', '2'], w.env);
    assert.equal(third.code, 1, third.stderr);
    assert.match(third.stdout, /folio batch FAILED: 5 files, 0 processed, 0 unchanged, 5 failed \(timeout 5\)/);
    assert.ok(performance.now() - started >= 2000);
    // Through Kafka the report reads the workers' database: without its address the run says so.
    const noDb = await runFolio(['batch', corpus.dir.path, '--data-dir', path.join(w.data.path, 'nodb')], { ...w.env, DATABASE_URL: '' });
    assert.equal(noDb.code, 2, noDb.stderr);
    assert.match(noDb.stderr, /needs the PostgreSQL server the workers store into: set DATABASE_URL/);
    assert.ok(!fs.existsSync(path.join(w.data.path, 'nodb', 'db')), 'no embedded database made');
    // The local transport is still there when asked for.
    const local = await runFolio(['batch', corpus.files[0]!, '--transport', 'local', '--json', '--data-dir', path.join(w.data.path, 'local')], { ...w.env, DATABASE_URL: '' });
    assert.equal(local.code, 0, local.stderr);
    assert.equal((JSON.parse(local.stdout) as BatchReport).transport, 'local');
  });
});
