// Throughput of the full path (extract + layout + persist to the embedded database) on
// ../shared/bench/throughput, as a ratio to raw single-threaded pdf.js getTextContent over the
// same pages in the same run. Usage: npm run bench [-- <bench dir>]
//
// Both sides are measured alike: the first pass over the corpus warms the JIT (of the main
// thread for the baseline, of the worker threads and the database for folio) and is reported on
// its own line; the ratios compare the best of the following passes (BENCH_ROUNDS, default 2),
// which is what a nightly run over many files sees. The baseline and folio passes interleave so
// that machine noise hits both alike.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { openDatabase, type Database } from '../db/client.ts';
import { openPdf } from '../extractors/pdfjs.ts';
import { ExtractPool } from '../pipelines/pool.ts';
import { blobDirOf, processInputs } from '../pipelines/process.ts';
import { loadConfig, type Config } from '../schemas/config.ts';
import { benchDir } from './common.ts';

const dir = path.join(benchDir(), 'throughput');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.pdf')).sort().map((f) => path.join(dir, f));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));

async function rawTextContent(): Promise<{ pages: number; seconds: number }> {
  let pages = 0;
  const t0 = performance.now();
  for (const f of files) {
    const doc = await openPdf(new Uint8Array(fs.readFileSync(f)));
    for (let i = 1; i <= doc.numPages; i++) {
      const page = await doc.getPage(i);
      await page.getTextContent();
      page.cleanup();
      pages++;
    }
    await doc.destroy();
  }
  return { pages, seconds: (performance.now() - t0) / 1000 };
}

interface Folio {
  workers: number;
  cfg: Config;
  db: Database;
  pool: ExtractPool;
  dataDir: string;
}

async function startFolio(workers: number): Promise<Folio> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-bench-'));
  const cfg = loadConfig({ dataDir, workers, render: 'needs-ocr', logLevel: 'silent' });
  const db = await openDatabase({ pgliteDir: path.join(dataDir, 'db') });
  const pool = new ExtractPool(workers, { ...cfg, blobDir: blobDirOf(cfg) });
  return { workers, cfg, db, pool, dataDir };
}

/** One pass of `folio process` over the corpus into an emptied database. */
async function folioPass(f: Folio): Promise<{ pages: number; seconds: number }> {
  await f.db.query('truncate documents cascade');
  const t = performance.now();
  const s = await processInputs(files, f.cfg, f.db, {}, f.pool);
  const seconds = (performance.now() - t) / 1000;
  if (s.failed) throw new Error(`bench files failed: ${JSON.stringify(s.outcomes.filter((o) => o.status === 'failed'))}`);
  return { pages: s.pages, seconds };
}

async function stopFolio(f: Folio): Promise<void> {
  await f.pool.close();
  await f.db.close();
  fs.rmSync(f.dataDir, { recursive: true, force: true });
}

const cores = os.availableParallelism();
console.log(`throughput corpus: ${files.length} PDFs, ${cores} cores, 1 warm-up pass + ${ROUNDS} measured`);
const t0 = performance.now();
const one = await startFolio(1);
const all = await startFolio(cores);
const startup = (performance.now() - t0) / 1000;

const first = { raw: 0, one: 0, all: 0 };
const best = { raw: Infinity, one: Infinity, all: Infinity };
let pages = 0;
for (let r = 0; r <= ROUNDS; r++) {
  const raw = await rawTextContent();
  const a = await folioPass(one);
  const b = await folioPass(all);
  pages = raw.pages;
  if (a.pages !== raw.pages || b.pages !== raw.pages) throw new Error(`page counts differ: raw ${raw.pages}, folio ${a.pages}/${b.pages}`);
  if (r === 0) Object.assign(first, { raw: raw.seconds, one: a.seconds, all: b.seconds });
  else {
    best.raw = Math.min(best.raw, raw.seconds);
    best.one = Math.min(best.one, a.seconds);
    best.all = Math.min(best.all, b.seconds);
  }
}
await stopFolio(one);
await stopFolio(all);

// For reference: pdf.js as shipped, in a thread of its own (after the measured passes, so that
// it competes with nothing).
const stock = await new Promise<{ seconds: number[]; pushReplaced: boolean }>((resolve, reject) => {
  const w = new Worker(new URL('./stock-pdfjs.mjs', import.meta.url), { workerData: { files, rounds: ROUNDS + 1 } });
  w.once('message', resolve);
  w.once('error', reject);
});
const stockWarm = Math.min(...stock.seconds.slice(1));

const pps = (s: number) => (pages / s).toFixed(1).padStart(6);
const ratio = (base: number, s: number) => (base / s).toFixed(2);
console.log(`${pages} pages                                  warm (best of ${ROUNDS})        first pass (cold)`);
console.log(`raw pdf.js getTextContent, 1 thread : ${pps(best.raw)} pages/s (baseline)   ${pps(first.raw)} pages/s`);
console.log(`folio full path, 1 worker           : ${pps(best.one)} pages/s  ratio ${ratio(best.raw, best.one)}     ${pps(first.one)} pages/s  ratio ${ratio(first.raw, first.one)}   (goal >= 0.5)`);
console.log(`folio full path, ${cores} workers          : ${pps(best.all)} pages/s  ratio ${ratio(best.raw, best.all)}     ${pps(first.all)} pages/s  ratio ${ratio(first.raw, first.all)}   (goal >= 1.0)`);
console.log(`(for reference, stock pdf.js getTextContent in its own thread${stock.pushReplaced ? ', with core-js\'s replacements of push/JSON active' : ''}: ${pps(stockWarm).trim()} pages/s warm, ${pps(stock.seconds[0]!).trim()} cold; folio's baseline above runs without them)`);
console.log(`(start-up of two embedded databases and ${1 + cores} worker threads, not in the ratios: ${startup.toFixed(1)} s)`);
