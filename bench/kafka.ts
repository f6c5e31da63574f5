// Documents per second through Kafka (folio ingest -> folio worker -> PostgreSQL -> folio.results)
// as a ratio to `folio process` of the same files into the same PostgreSQL, in the same run; and
// two workers against one. On this 2-core machine one worker already keeps both cores busy, so
// CPU seconds per document are printed for each too: what Kafka adds is the transport (the
// broker's own CPU is printed apart), not the extraction.
//
// Usage: npm run bench:kafka [-- <bench dir>]   (BENCH_ROUNDS, default 2: rounds after a warm-up)
// Corpus: ../shared/bench/throughput and ../shared/bench/tables-icdar (PDFs with text layers;
// FOLIO_ENGINE=text for every contender, OCR's speed is bench:ocr's). It starts its own broker
// (kafka/broker.mjs) and PostgreSQL server (test/support/postgres.mjs).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Kafka, logLevel } from 'kafkajs';
import { openDatabase } from '../db/client.ts';
import { ExtractPool } from '../pipelines/pool.ts';
import { blobDirOf, processInputs } from '../pipelines/process.ts';
import { loadConfig } from '../schemas/config.ts';
import { ingestInputs } from '../workers/ingest.ts';
import { startBroker } from '../kafka/broker.mjs';
import { startPostgres } from '../test/support/postgres.mjs';
import { benchDir } from './common.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const CORES = os.availableParallelism();
const pdfsIn = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.pdf')).sort().map((f) => path.join(d, f)) : []);
const files = [...pdfsIn(path.join(benchDir(), 'throughput')), ...pdfsIn(path.join(benchDir(), 'tables-icdar'))];
if (!files.length) throw new Error('no PDFs in the bench corpus');

const TICK = 100; // USER_HZ: /proc times are in 1/100 s on Linux
/** CPU seconds a process has used (all its threads), from /proc. */
function cpuOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}

const log = pino({ level: 'warn', base: undefined }, pino.destination(2));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-bench-kafka-'));
const pg = await startPostgres({ log: () => {} });
const broker = await startBroker({ dataDir: path.join(dataDir, 'kafka'), heapMb: 512 });
const dbUrl = pg.url;
const env = {
  KAFKA_BROKERS: broker.brokers,
  DATABASE_URL: dbUrl,
  FOLIO_DATA_DIR: dataDir,
  FOLIO_ENGINE: 'text',
  FOLIO_LOG_LEVEL: 'warn',
  FOLIO_METRICS_PORT: '0',
};
const cfg = loadConfig({ dataDir, databaseUrl: dbUrl, engine: 'text', kafkaBrokers: [broker.brokers], logLevel: 'warn' }, {});
const db = await openDatabase({ url: dbUrl });

interface Pass {
  seconds: number;
  /** CPU seconds of folio (this process for `folio process`; the worker processes for Kafka). */
  cpu: number;
  brokerCpu?: number;
  ingestSeconds?: number;
}

async function processPass(pool: ExtractPool): Promise<Pass> {
  await db.query('truncate documents cascade');
  const t = performance.now();
  const c = process.cpuUsage();
  const s = await processInputs(files, cfg, db, {}, pool);
  const seconds = (performance.now() - t) / 1000;
  const u = process.cpuUsage(c);
  if (s.failed) throw new Error(`failed: ${JSON.stringify(s.outcomes.filter((o) => o.status === 'failed'))}`);
  return { seconds, cpu: (u.user + u.system) / 1e6 };
}

/** `n` workers of their own topics (prefix) and group: they stay up, warm, for every round. */
function startWorkers(n: number, prefix: string): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => {
      const p = spawn(process.execPath, [path.join(ROOT, 'bin', 'folio.js'), 'worker', '--worker-id', `${prefix}${i}`], {
        cwd: ROOT,
        env: { ...process.env, ...env, FOLIO_LOG_LEVEL: 'info', FOLIO_KAFKA_PREFIX: prefix, FOLIO_KAFKA_GROUP: prefix },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      return new Promise<ChildProcess>((resolve, reject) => {
        let seen = '';
        p.stderr!.setEncoding('utf8').on('data', (d: string) => {
          seen = (seen + d).slice(-4000);
          if (seen.includes('"worker running"')) resolve(p);
        });
        p.on('exit', (code) => reject(new Error(`worker exited ${code}: ${seen}`)));
      });
    }),
  );
}

async function stopWorkers(ps: ChildProcess[]): Promise<void> {
  await Promise.all(ps.map((p) => new Promise((r) => (p.once('exit', r), p.kill('SIGTERM')))));
}

/** Results of these docIds, read committed, until all are in. */
async function awaitResults(prefix: string, ids: Set<string>): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-reader', brokers: [broker.brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [`${prefix}results`], fromBeginning: true });
  const left = new Set(ids);
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  await consumer.run({
    eachMessage: async ({ message }) => {
      const r = JSON.parse(message.value!.toString()) as { docId: string; status: string; message?: string };
      if (r.status !== 'done') throw new Error(`a document failed: ${JSON.stringify(r)}`);
      left.delete(r.docId);
      if (left.size === 0) done();
    },
  });
  await all;
  await consumer.disconnect();
}

/** Ingest the files (its CPU counts: hashing and storing the bytes is the claim check's) and wait for every result. */
async function kafkaPass(workers: ChildProcess[], prefix: string): Promise<Pass> {
  await db.query('truncate documents cascade');
  const cpu0 = workers.map((w) => cpuOf(w.pid));
  const b0 = cpuOf(broker.pid);
  const t = performance.now();
  const c = process.cpuUsage();
  const s = await ingestInputs(files, { ...cfg, kafkaPrefix: prefix }, { log });
  const u = process.cpuUsage(c);
  const ingestSeconds = (performance.now() - t) / 1000;
  if (s.failed) throw new Error(`ingest failed: ${JSON.stringify(s.outcomes.filter((o) => o.status === 'failed'))}`);
  // When the last document is stored (the database polled), against when its event is read.
  let storedAt = 0;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const n = Number((await db.query(`select count(*)::int as n from documents where status = 'done'`)).rows[0]!.n);
      if (n >= files.length && !storedAt) storedAt = performance.now();
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await awaitResults(prefix, new Set(s.outcomes.map((o) => o.docId!)));
  const seconds = (performance.now() - t) / 1000;
  polling = false;
  await poll;
  if (process.env.BENCH_VERBOSE) console.log(`    stored at ${((storedAt - t) / 1000).toFixed(2)} s, announced at ${seconds.toFixed(2)} s`);
  const cpu = workers.reduce((sum, w, i) => sum + cpuOf(w.pid) - cpu0[i]!, 0) + (u.user + u.system) / 1e6;
  return { seconds, cpu, brokerCpu: cpuOf(broker.pid) - b0, ingestSeconds };
}

const best = (ps: Pass[]) => ps.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const fmt = (p: Pass) =>
  `${(files.length / p.seconds).toFixed(2)} docs/s (${p.seconds.toFixed(1)} s, ${(p.cpu / p.seconds).toFixed(2)} cores busy, ${((p.cpu / files.length) * 1000).toFixed(0)} ms CPU/doc` +
  (p.brokerCpu !== undefined ? `, broker ${((p.brokerCpu / files.length) * 1000).toFixed(0)} ms CPU/doc, ingest ${p.ingestSeconds!.toFixed(1)} s` : '') +
  ')';

try {
  console.log(`bench:kafka: ${files.length} documents, ${CORES} cores, ${ROUNDS} round(s) after a warm-up, PostgreSQL for every contender`);
  const pool = new ExtractPool(CORES, { ...cfg, blobDir: blobDirOf(cfg) });
  const one = await startWorkers(1, 'bench1.');
  const two = await startWorkers(2, 'bench2.');
  const runs: Record<'process' | 'one' | 'two', Pass[]> = { process: [], one: [], two: [] };
  for (let round = 0; round <= ROUNDS; round++) {
    const p = await processPass(pool);
    const k1 = await kafkaPass(one, 'bench1.');
    const k2 = await kafkaPass(two, 'bench2.');
    const label = round === 0 ? 'warm-up' : `round ${round}`;
    console.log(`  ${label}: process ${p.seconds.toFixed(1)} s, kafka 1 worker ${k1.seconds.toFixed(1)} s, 2 workers ${k2.seconds.toFixed(1)} s`);
    if (round > 0) {
      runs.process.push(p);
      runs.one.push(k1);
      runs.two.push(k2);
    }
  }
  await pool.close();
  await stopWorkers([...one, ...two]);
  const [p, k1, k2] = [best(runs.process), best(runs.one), best(runs.two)];
  console.log(`folio process          ${fmt(p)}`);
  console.log(`kafka, 1 worker        ${fmt(k1)}`);
  console.log(`kafka, 2 workers       ${fmt(k2)}`);
  const perDoc = (x: Pass) => x.cpu / files.length;
  console.log(`ratio kafka/process (docs/s, 1 worker): ${(p.seconds / k1.seconds).toFixed(2)}x   (goal >= 0.9x)`);
  console.log(`ratio 2 workers / 1 worker (docs/s):    ${(k1.seconds / k2.seconds).toFixed(2)}x   (${CORES} cores: one worker already uses them all)`);
  console.log(
    `CPU per document, kafka/process:        ${(perDoc(k1) / perDoc(p)).toFixed(2)}x with 1 worker, ${(perDoc(k2) / perDoc(p)).toFixed(2)}x with 2   (goal <= 1.10x; the broker's CPU apart)`,
  );
} finally {
  await db.close();
  await broker.kill();
  pg.destroy();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
