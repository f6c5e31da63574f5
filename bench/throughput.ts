// Throughput of the full path (extract + layout + persist to the embedded database) on
// ../shared/bench/throughput, as a ratio to raw single-threaded pdf.js getTextContent over the
// same pages in the same run. Usage: npm run bench [-- <bench dir>]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../db/client.ts';
import { openPdf } from '../extractors/pdfjs.ts';
import { ExtractPool } from '../pipelines/pool.ts';
import { blobDirOf, processInputs } from '../pipelines/process.ts';
import { loadConfig } from '../schemas/config.ts';
import { benchDir } from './common.ts';

const dir = path.join(benchDir(), 'throughput');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.pdf')).sort().map((f) => path.join(dir, f));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

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

async function folio(workers: number): Promise<{ pages: number; seconds: number; startup: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-bench-'));
  const cfg = loadConfig({ dataDir, workers, render: 'needs-ocr', logLevel: 'silent' });
  const t0 = performance.now();
  const db = await openDatabase({ pgliteDir: path.join(dataDir, 'db') });
  const pool = new ExtractPool(workers, { ...cfg, blobDir: blobDirOf(cfg) });
  // Warm every thread (module loading is start-up, reported apart from throughput).
  const tiny = new Uint8Array(fs.readFileSync(files[files.length - 1]!));
  await Promise.all(Array.from({ length: workers }, () => pool.run({ bytes: tiny, uri: 'warm', name: 'warm.pdf' })));
  const startup = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const s = await processInputs(files, cfg, db, {}, pool);
  const seconds = (performance.now() - t1) / 1000;
  await pool.close();
  await db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (s.failed) throw new Error(`bench files failed: ${JSON.stringify(s.outcomes.filter((o) => o.status === 'failed'))}`);
  return { pages: s.pages, seconds, startup };
}

const cores = os.availableParallelism();
console.log(`throughput corpus: ${files.length} PDFs, ${ROUNDS} rounds, ${cores} cores`);
const best = { raw: Infinity, one: Infinity, all: Infinity };
let pages = 0;
let startup = 0;
for (let r = 0; r < ROUNDS; r++) {
  // Interleave the baseline and folio so that machine noise hits both alike; keep the best round.
  const raw = await rawTextContent();
  const one = await folio(1);
  const all = await folio(cores);
  pages = raw.pages;
  if (one.pages !== raw.pages || all.pages !== raw.pages) throw new Error(`page counts differ: raw ${raw.pages}, folio ${one.pages}/${all.pages}`);
  best.raw = Math.min(best.raw, raw.seconds);
  best.one = Math.min(best.one, one.seconds);
  best.all = Math.min(best.all, all.seconds);
  startup = all.startup;
}
const pps = (s: number) => pages / s;
console.log(`raw pdf.js getTextContent, 1 thread : ${pps(best.raw).toFixed(1)} pages/s (baseline)`);
console.log(`folio full path, 1 worker           : ${pps(best.one).toFixed(1)} pages/s  ratio ${(best.raw / best.one).toFixed(2)} (goal >= 0.5)`);
console.log(`folio full path, ${cores} workers          : ${pps(best.all).toFixed(1)} pages/s  ratio ${(best.raw / best.all).toFixed(2)} (goal >= 1.0)`);
console.log(`(start-up of the embedded database and ${cores} warm workers, not in the ratios: ${startup.toFixed(1)} s)`);
