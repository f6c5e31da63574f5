// Faults during a Kafka run, each ending with 0 documents lost and 0 duplicated: every document
// stored once with the rows of a clean `folio process`, and one folio.results event each (read
// committed). The faults are real: a worker process killed with SIGKILL mid-document and started
// again, the broker restarted, the PostgreSQL server stopped for a while.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openDatabase } from '../db/client.ts';
import type { DlqMessage, ResultMessage } from '../schemas/messages.ts';
import type { Broker } from '../kafka/broker.mjs';
import { startPostgres, type TestPostgres } from './support/postgres.mjs';
import {
  cleanProcess,
  freePort,
  kafkaCorpus,
  kafkaWorld,
  readTopic,
  runFolio,
  storedBySha,
  testBroker,
  type KafkaWorld,
  type StoredCounts,
  type WorkerProc,
} from './support/kafka.ts';
import type { TmpDir } from './support/tmp.ts';

let broker: Broker;
let stopBroker: () => Promise<void>;
let pg: TestPostgres;
let corpus: { dir: TmpDir; files: string[] };
let clean: Map<string, StoredCounts>;

before(async () => {
  ({ broker, cleanup: stopBroker } = await testBroker());
  // A server of this file's own: one test stops it.
  pg = await startPostgres({ log: (m: string) => process.stderr.write(`[postgres] ${m}\n`) });
  // Text reports, pages of tables, scans (OCR: seconds each) and a long document read in ranges.
  corpus = await kafkaCorpus(16, { scans: 4, long: 1, longPages: 9 });
  clean = await cleanProcess(corpus.files);
});
after(async () => {
  await stopBroker?.();
  pg?.destroy();
  await corpus?.dir.cleanup();
});

/** Metrics port -> messages in hand now. */
async function inFlight(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^folio_messages_in_flight (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Wait until one of `ids` has a message in hand (mid-document); returns which. */
async function whenBusy(run: Run, ids: string[]): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    for (const id of ids) if ((await inFlight(run.workers.get(id)!.port).catch(() => 0)) > 0) return id;
    assert.ok(Date.now() < deadline, `none of ${ids.join(', ')} had a message in hand within 120 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Run {
  w: KafkaWorld;
  workers: Map<string, { proc: WorkerProc; port: number }>;
  start(id: string): Promise<void>;
}

/** Ingest the corpus and start workers a and b; `fault` runs while they work; then check the end state. */
async function runWithFault(fault: (run: Run) => Promise<void>): Promise<void> {
  const w = await kafkaWorld(broker, { FOLIO_FANOUT_PAGES: '6', FOLIO_PAGE_RANGE: '3' }, pg.url);
  try {
    const ingest = await runFolio(['ingest', corpus.dir.path], w.env);
    assert.equal(ingest.code, 0, ingest.stderr);
    const run: Run = {
      w,
      workers: new Map(),
      async start(id) {
        const port = await freePort();
        const proc = w.worker(id, { FOLIO_METRICS_PORT: String(port) });
        run.workers.set(id, { proc, port });
        await proc.ready;
      },
    };
    await Promise.all([run.start('a'), run.start('b')]);
    await fault(run);

    const n = corpus.files.length;
    const results = await readTopic<ResultMessage>(broker.brokers, w.topic('results'), { until: (got) => new Set(got.map((r) => r.value.docId)).size >= n, settleMs: 4000 });
    const ids = results.map((r) => r.value.docId);
    assert.equal(new Set(ids).size, n, 'documents missing from folio.results');
    assert.equal(ids.length, n, `${ids.length - n} duplicate results events`);
    assert.deepEqual(results.filter((r) => r.value.status !== 'done').map((r) => r.value), []);
    const dlq = await readTopic<DlqMessage>(broker.brokers, w.topic('dlq'), { until: () => false, timeoutMs: 500, settleMs: 0 });
    assert.deepEqual(dlq.map((m) => m.value), []);
    const database = await openDatabase({ url: w.db.url, migrate: false });
    try {
      assert.deepEqual(Object.fromEntries(await storedBySha(database)), Object.fromEntries(clean));
      const left = await database.query(`select count(part)::int as n from page_ranges`);
      assert.equal((left.rows[0] as { n: number }).n, 0, 'ranges left unassembled');
    } finally {
      await database.close();
    }
  } catch (err) {
    // What the workers said last: why a document never finished is in there.
    process.stderr.write(`${w.logTail()}\n`);
    throw err;
  } finally {
    await w.cleanup();
  }
}

describe('Kafka faults: nothing lost, nothing twice', () => {
  test('kill -9 a worker mid-document, three times, and start it again', async () => {
    const killed: string[] = [];
    await runWithFault(async (run) => {
      while (killed.length < 3) {
        // Mid-document: whichever worker has a message in hand now.
        const victim = await whenBusy(run, ['a', 'b']);
        const { proc } = run.workers.get(victim)!;
        proc.kill('SIGKILL');
        assert.equal(await proc.exited, 'SIGKILL');
        killed.push(victim);
        await run.start(victim);
      }
    });
    assert.equal(killed.length, 3);
  });

  test('the broker restarts during a run', async () => {
    await runWithFault(async (run) => {
      await whenBusy(run, ['a', 'b']);
      await broker.restart();
    });
  });

  test('PostgreSQL stops for a while during a run', async () => {
    let waited = false;
    await runWithFault(async (run) => {
      await whenBusy(run, ['a', 'b']);
      await pg.stop();
      await new Promise((r) => setTimeout(r, 8000));
      // The workers noticed, and wait for the database instead of giving documents up.
      waited = [...run.workers.values()].some(({ proc }) => proc.lines.some((l) => /database unreachable/.test(String(l.msg))));
      await pg.start();
    });
    assert.ok(waited, 'no worker said it was waiting for the database');
  });
});
