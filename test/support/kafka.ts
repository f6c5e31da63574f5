// Kafka for tests: a real broker (kafka/broker.mjs), `folio worker` processes to start, kill and
// restart, a read_committed reader of folio's topics, and the corpus and row counts that the
// Kafka tests compare with a clean `folio process`.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { freePort, startBroker, type Broker } from '../../kafka/broker.mjs';
import { openDatabase, type Database } from '../../db/client.ts';
import { loadConfig } from '../../schemas/config.ts';
import { processInputs } from '../../pipelines/process.ts';
import { imageOnlyPdf } from '../fixtures/pdfs.ts';
import { createTestDatabase, dropTestDatabase } from './backends.ts';
import { reportPdf } from '../fixtures/pdfs.ts';
import { SALES_TABLE, tablesPdf } from '../fixtures/tables.ts';
import { makeTmpDir, type TmpDir } from './tmp.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'folio.js');

/** A broker with its data in a temp folder, stopped and removed by the returned cleanup. */
export async function testBroker(): Promise<{ broker: Broker; cleanup(): Promise<void> }> {
  const dir = await makeTmpDir('folio-kafka-');
  const broker = await startBroker({ dataDir: dir.path, heapMb: 384, log: (m) => process.stderr.write(`[kafka] ${m}\n`) });
  return {
    broker,
    async cleanup() {
      await broker.kill();
      await dir.cleanup();
    },
  };
}

export { freePort };

export type KafkaWorld = Awaited<ReturnType<typeof kafkaWorld>>;

/**
 * One test's world: its own topics and group on `broker`, its own database (on the test server,
 * or on `server`), its own data folder; workers started in it are killed by cleanup().
 */
export async function kafkaWorld(broker: Broker, extra: Record<string, string> = {}, server?: string) {
  const db = await createTestDatabase(server);
  const data = await makeTmpDir('folio-kafka-data-');
  const env: Record<string, string> = {
    KAFKA_BROKERS: broker.brokers,
    DATABASE_URL: db.url,
    FOLIO_DATA_DIR: data.path,
    FOLIO_WORKERS: '1',
    FOLIO_METRICS_PORT: '0',
    FOLIO_KAFKA_SESSION_TIMEOUT_MS: '6000',
    FOLIO_RETRY_BACKOFF_MS: '100',
    FOLIO_MAX_ATTEMPTS: '3',
    ...isolated(),
    ...extra,
  };
  const workers: WorkerProc[] = [];
  return {
    env,
    db,
    data,
    topic: (name: string) => `${env.FOLIO_KAFKA_PREFIX}${name}`,
    worker(id: string, more: Record<string, string> = {}) {
      const w = spawnWorker(id, { ...env, ...more });
      workers.push(w);
      return w;
    },
    /** The last `n` log lines of every worker started in this world (for a failing test's message). */
    logTail(n = 40): string {
      return workers.map((w, i) => `--- worker ${w.id} (#${i + 1}):\n${w.lines.slice(-n).map((l) => JSON.stringify(l)).join('\n')}`).join('\n');
    },
    async cleanup() {
      for (const w of workers) w.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      await dropTestDatabase(db.name, server);
      await data.cleanup();
    },
  };
}

/** The same files through a clean `folio process` into a fresh embedded database: sha256 -> counts. */
export async function cleanProcess(files: string[]): Promise<Map<string, StoredCounts>> {
  const dir = await makeTmpDir('folio-clean-');
  const cfg = loadConfig({ dataDir: dir.path, workers: 1 }, {});
  const database = await openDatabase({ pgliteDir: path.join(dir.path, 'db') });
  try {
    await processInputs(files, cfg, database);
    return await storedBySha(database);
  } finally {
    await database.close();
    await dir.cleanup();
  }
}

/** A topic prefix and consumer group no other test uses. */
export function isolated(): { FOLIO_KAFKA_PREFIX: string; FOLIO_KAFKA_GROUP: string } {
  const tag = crypto.randomBytes(4).toString('hex');
  return { FOLIO_KAFKA_PREFIX: `t${tag}.`, FOLIO_KAFKA_GROUP: `g${tag}` };
}

export interface WorkerProc {
  id: string;
  proc: ChildProcess;
  /** Its log lines (pino JSON parsed where they are JSON). */
  lines: Record<string, unknown>[];
  /** Resolves once it has joined its group ("worker running"); rejects if it exits first. */
  ready: Promise<void>;
  /** Resolves with its exit code (or signal name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

export function spawnWorker(id: string, env: Record<string, string>): WorkerProc {
  const proc = spawn(process.execPath, [BIN, 'worker', '--worker-id', id], {
    cwd: ROOT,
    env: { ...process.env, FOLIO_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let onReady: () => void = () => {};
  let rest = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    rest += chunk;
    const parts = rest.split('\n');
    rest = parts.pop()!;
    for (const l of parts) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(l) as Record<string, unknown>;
      } catch {
        rec = { msg: l };
      }
      lines.push(rec);
      if (rec.msg === 'worker running') onReady();
    }
  });
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    void exited.then((c) => reject(new Error(`worker ${id} exited (${c}) before it was ready:\n${lines.map((l) => JSON.stringify(l)).join('\n').slice(-3000)}`)));
  });
  ready.catch(() => {});
  return { id, proc, lines, ready, exited, kill: (signal = 'SIGTERM') => void proc.kill(signal) };
}

/** Run the folio command; resolves with its exit code and output. */
export function runFolio(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export interface TopicMessage<T = Record<string, unknown>> {
  partition: number;
  offset: string;
  key: string | null;
  value: T;
}

/**
 * A read_committed reader of a topic from its start: `until(messages)` says when enough has come
 * (checked as messages arrive); then it reads on for `settleMs` more, so that duplicates show.
 */
export async function readTopic<T = Record<string, unknown>>(
  brokers: string,
  topic: string,
  opts: { until: (got: TopicMessage<T>[]) => boolean; timeoutMs?: number; settleMs?: number },
): Promise<TopicMessage<T>[]> {
  const kafka = new Kafka({ clientId: 'folio-test-reader', brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 20, maxRetryTime: 3000 } });
  const consumer = kafka.consumer({ groupId: `reader-${crypto.randomBytes(4).toString('hex')}`, readUncommitted: false });
  const got: TopicMessage<T>[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let enough: () => void = () => {};
    const reached = new Promise<void>((r) => (enough = r));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const text = message.value?.toString('utf8') ?? '';
        let value: T;
        try {
          value = JSON.parse(text) as T;
        } catch {
          value = text as unknown as T;
        }
        got.push({ partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, value });
        if (opts.until(got)) enough();
      },
    });
    const timeout = opts.timeoutMs ?? 300_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([reached, new Promise<void>((r) => (timer = setTimeout(r, timeout)))]);
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, opts.settleMs ?? 1500));
    return got;
  } finally {
    await consumer.disconnect();
  }
}

/** Write raw messages (any bytes: a producer in another language, or a broken one). */
export async function produce(brokers: string, topic: string, messages: { key?: string; value: string }[]): Promise<void> {
  const kafka = new Kafka({ clientId: 'folio-test-producer', brokers: [brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key ?? null, value: m.value })) });
  } finally {
    await producer.disconnect();
  }
}

/**
 * `n` distinct PDFs in a folder: reports of 1-4 pages (words per paragraph differ, so no two are
 * the same bytes), every fifth one a page of tables; plus `long` reports of `longPages` pages.
 */
export async function kafkaCorpus(n: number, opts: { long?: number; longPages?: number; scans?: number } = {}): Promise<{ dir: TmpDir; files: string[] }> {
  const dir = await makeTmpDir('folio-kafka-corpus-');
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const bytes =
      i % 5 === 4
        ? await tablesPdf([{ tables: [{ ...SALES_TABLE, rows: SALES_TABLE.rows.map((r, k) => (k === 0 ? [`${r[0]} ${i}`, ...r.slice(1)] : r)) }] }])
        : (await reportPdf({ pages: 1 + (i % 4), wordsPerParagraph: 16 + i })).bytes;
    files.push(await dir.write(`doc-${String(i).padStart(3, '0')}.pdf`, bytes));
  }
  // Pages with no text layer: read by OCR, seconds each.
  for (let i = 0; i < (opts.scans ?? 0); i++) {
    const lines = [`SCANNED INVOICE ${4711 + i}`, `Amount due: ${(99 + i * 7).toFixed(2)} EUR`, `Due date: 2024-03-${String(10 + i).padStart(2, '0')}`];
    files.push(await dir.write(`scan-${i}.pdf`, (await imageOnlyPdf({ lines })).bytes));
  }
  for (let i = 0; i < (opts.long ?? 0); i++) {
    files.push(await dir.write(`long-${i}.pdf`, (await reportPdf({ pages: opts.longPages ?? 10, wordsPerParagraph: 30 + i })).bytes));
  }
  return { dir, files };
}

export interface StoredCounts {
  status: string;
  pages: number;
  blocks: number;
  tables: number;
  rows: number;
}

/** What is stored per document (by sha256): status, pages, blocks, tables and table rows. */
export async function storedBySha(db: Database): Promise<Map<string, StoredCounts>> {
  const r = await db.query(
    `select d.sha256, d.status, count(*) over (partition by d.sha256)::int as copies,
            (select count(*) from pages p where p.document_id = d.id)::int as pages,
            (select count(*) from blocks b where b.document_id = d.id)::int as blocks,
            (select count(*) from tables t where t.document_id = d.id)::int as tables,
            (select count(*) from table_rows r where r.document_id = d.id)::int as rows
       from documents d`,
  );
  const out = new Map<string, StoredCounts>();
  for (const row of r.rows as unknown as (StoredCounts & { sha256: string; copies: number })[]) {
    if (row.copies !== 1) throw new Error(`${row.sha256} is stored ${row.copies} times`);
    out.set(row.sha256, { status: row.status, pages: row.pages, blocks: row.blocks, tables: row.tables, rows: row.rows });
  }
  return out;
}

/** Poll until `check` holds (it may throw meanwhile); the last failure is the error. */
export async function eventually(check: () => Promise<boolean | void>, what: string, timeoutMs = 300_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if ((await check()) !== false) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Wait until the workers' latest group assignments split `topic`'s partitions between them: each
 * holds some, none holds one another holds. Until then a worker that joined first may take every
 * message before the group rebalances (kafkajs rebalances between batches).
 */
export async function partitionsShared(workers: WorkerProc[], topic: string): Promise<void> {
  await eventually(async () => {
    const held = workers.map((w) => {
      const joins = w.lines.filter((l) => l.msg === 'joined the consumer group');
      const last = joins.at(-1) as { partitions?: Record<string, number[]> } | undefined;
      return last?.partitions?.[topic] ?? [];
    });
    if (held.some((p) => p.length === 0)) return false;
    const all = held.flat();
    return new Set(all).size === all.length;
  }, `partitions of ${topic} shared by ${workers.map((w) => w.id).join(', ')}`);
}
