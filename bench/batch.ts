// `folio batch` against `folio process` over the same files in the same run: pages/s of each
// (fresh data folder each, PGlite, the same worker pool size), so that what the batch machinery
// adds (lock, file list, report with its tables' CSV and page outlines) shows as a ratio.
//
// Usage: npm run bench:batch [-- <bench dir>]   (BENCH_ROUNDS, default 3; corpus: throughput/)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../db/client.ts';
import { runBatch } from '../pipelines/batch.ts';
import { processInputs } from '../pipelines/process.ts';
import { loadConfig } from '../schemas/config.ts';
import { benchDir } from './common.ts';

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const corpus = path.join(benchDir(), 'throughput');
const files = fs.readdirSync(corpus).filter((f) => f.endsWith('.pdf')).map((f) => path.join(corpus, f));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-bench-batch-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));

async function once(kind: 'process' | 'batch', round: number): Promise<{ seconds: number; pages: number }> {
  const dataDir = path.join(root, `${kind}-${round}`);
  const cfg = loadConfig({ logLevel: 'silent', dataDir, engine: 'text' }, {});
  const db = await openDatabase({ pgliteDir: path.join(dataDir, 'db') });
  try {
    const t0 = performance.now();
    const pages = kind === 'process' ? (await processInputs(files, cfg, db)).pages : (await runBatch(files, cfg, db)).pages;
    return { seconds: (performance.now() - t0) / 1000, pages };
  } finally {
    await db.close();
  }
}

console.log(`bench:batch: ${files.length} PDFs of throughput/, ${os.availableParallelism()} cores, best of ${ROUNDS} (after a warm-up of each)`);
await once('process', -1);
await once('batch', -1);
const best = { process: Infinity, batch: Infinity };
let pages = 0;
for (let r = 0; r < ROUNDS; r++) {
  // Alternated, so that neither always runs on a warmer or busier machine.
  for (const kind of r % 2 ? (['batch', 'process'] as const) : (['process', 'batch'] as const)) {
    const got = await once(kind, r);
    pages = got.pages;
    best[kind] = Math.min(best[kind], got.seconds);
    console.log(`  round ${r + 1}: ${kind} ${got.seconds.toFixed(2)} s (${got.pages} pages)`);
  }
}
console.log(`folio process ${(pages / best.process).toFixed(1)} pages/s; folio batch ${(pages / best.batch).toFixed(1)} pages/s`);
console.log(`ratio batch / process (pages/s): ${(best.process / best.batch).toFixed(2)}x   (goal >= 0.95x)`);
