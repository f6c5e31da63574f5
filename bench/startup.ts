// How fast the `folio` command answers, beside `node -e 0` measured in the same run: `folio --help`,
// `folio query "select 1"` on an embedded (PGlite) database that exists already, and `folio
// extract` of a one-page PDF (made here). Each is run as a user runs it (a new process), from the
// compiled build and, for comparison, from the TypeScript sources through tsx.
//
// Goals (issue 17): --help <= 0.3 s, query <= 1.0 s, extract <= 1.0 s.
// Usage: npm run bench:startup   (BENCH_ROUNDS, default 5: the median of the rounds is shown)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportPdf } from '../test/fixtures/pdfs.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'folio.js');
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-bench-startup-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// The build the bin runs (it is made by `npm install`; made again here so that it is current).
const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { encoding: 'utf8' });
if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);

const pdf = path.join(tmp, 'one-page.pdf');
fs.writeFileSync(pdf, (await reportPdf({ pages: 1 })).bytes);
const dataDir = path.join(tmp, 'data');

interface Case {
  name: string;
  args: string[];
  goal?: number;
}
const cases: Case[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'folio --help', args: [BIN, '--help'], goal: 0.3 },
  { name: 'folio query "select 1" (PGlite)', args: [BIN, 'query', 'select 1', '--data-dir', dataDir], goal: 1.0 },
  { name: 'folio extract one-page.pdf', args: [BIN, 'extract', pdf], goal: 1.0 },
];

function seconds(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env: { ...process.env, FOLIO_LOG_LEVEL: 'silent', ...env }, encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// The database exists before it is timed (the first run creates it and applies the migrations).
const tFirst = seconds([BIN, 'query', 'select 1', '--data-dir', dataDir], {});

console.log(`bench:startup: ${os.availableParallelism()} cores, median of ${ROUNDS} runs each, new process per run`);
const times = new Map<string, { built: number[]; source: number[] }>(cases.map((c) => [c.name, { built: [], source: [] }]));
for (let r = 0; r < ROUNDS; r++) {
  // Interleaved, so that a busy moment of the machine falls on every case alike.
  for (const c of cases) {
    times.get(c.name)!.built.push(seconds(c.args, {}));
    if (c.args[0] === BIN) times.get(c.name)!.source.push(seconds(c.args, { FOLIO_FROM_SOURCE: '1' }));
  }
}
const node = median(times.get('node -e 0')!.built);
const rows = cases.map((c) => {
  const t = times.get(c.name)!;
  const b = median(t.built);
  const s = t.source.length ? median(t.source) : undefined;
  return {
    command: c.name,
    seconds: b.toFixed(3),
    'x node -e 0': (b / node).toFixed(1),
    'from source (tsx) s': s === undefined ? '' : s.toFixed(3),
    'built / source': s === undefined ? '' : (b / s).toFixed(2),
    goal: c.goal === undefined ? '' : `<= ${c.goal} s ${b <= c.goal ? 'met' : 'NOT MET'}`,
  };
});
console.table(rows);
console.log(`first query on a new data folder (creates the database, applies the migrations): ${tFirst.toFixed(2)} s`);
