// OCR quality and cost on ../shared/bench/scanned: for each scan, folio's character error rate
// (CER), word recall and CPU seconds per page, beside the `tesseract` command (when installed,
// OMP_THREAD_LIMIT=1) run on the same images in the same run. Usage: npm run bench:ocr [-- <dir>]
//
// Scoring: texts are compared after NFKC, case folding, one form of quotes and dashes, and
// whitespace collapsed to one space (SROIE's annotations are upper case and spaced loosely). CER is
// the edit distance over the reference's length; recall is the share of reference words found
// (as a multiset). Where the expectation lists its lines with boxes (SROIE receipts, annotated in
// no particular order), the reference is those lines in reading order: rows top to bottom, left to
// right within a row.
//
// Timing: folio reads each file in this process with a warm engine (as a worker thread does after
// its first page); CPU time is the process's (all threads: sharp's included). The tesseract command
// is timed as a user runs it, one process per image, model loading included.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { extractDocument, type ExtractConfig } from '../pipelines/extract.ts';
import { loadConfig } from '../schemas/config.ts';
import type { Document } from '../schemas/document.ts';
import { benchDir } from './common.ts';
import { score } from './text-score.ts';

const dir = path.join(benchDir(), 'scanned');
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

interface Expected {
  text: string;
  image: string;
  pdf?: string;
  lines?: { quad: number[]; text: string }[];
}

/** The reference text: annotated lines put in reading order by their boxes when there are any. */
function reference(e: Expected): string {
  if (!e.lines?.length) return e.text;
  const boxes = e.lines.map((l) => {
    const xs = l.quad.filter((_, i) => i % 2 === 0);
    const ys = l.quad.filter((_, i) => i % 2 === 1);
    return { text: l.text, x0: Math.min(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
  });
  boxes.sort((a, b) => a.y0 - b.y0);
  const rows: (typeof boxes)[] = [];
  for (const b of boxes) {
    const row = rows.at(-1);
    const mid = (b.y0 + b.y1) / 2;
    if (row && row.some((o) => mid > o.y0 && mid < o.y1)) row.push(b);
    else rows.push([b]);
  }
  return rows.map((r) => r.sort((a, b) => a.x0 - b.x0).map((b) => b.text).join(' ')).join('\n');
}

const docText = (d: Document) => d.pages.flatMap((p) => p.blocks.map((b) => b.text)).join('\n');

interface Measure {
  cer: number;
  recall: number;
  wall: number;
  cpu: number;
  pages: number;
}

async function folio(file: string, cfg: ExtractConfig): Promise<Measure & { text: string }> {
  const bytes = new Uint8Array(fs.readFileSync(file));
  let best: (Measure & { text: string }) | undefined;
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const doc = await extractDocument({ bytes, uri: file, name: path.basename(file) }, cfg);
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    if (!best || cpu < best.cpu) best = { ...score(docText(doc), ''), text: docText(doc), wall, cpu, pages: doc.pageCount };
  }
  return best!;
}

function tesseractCli(image: string): (Measure & { text: string }) | undefined {
  let best: (Measure & { text: string }) | undefined;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    // `times` prints the shell's and then its children's user and system time.
    const out = spawnSync('bash', ['-c', 'tesseract "$1" - --psm 3 -l eng 2>/dev/null; echo "@@TIMES@@"; times', 'bash', image], {
      env: { ...process.env, OMP_THREAD_LIMIT: '1' },
      encoding: 'utf8',
    });
    const wall = (performance.now() - t0) / 1000;
    if (out.status !== 0 || !out.stdout.includes('@@TIMES@@')) return undefined;
    const [text, times] = out.stdout.split('@@TIMES@@');
    const secs = [...times!.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    const cpu = (secs[2] ?? 0) + (secs[3] ?? 0);
    if (!text!.trim() && !best) return undefined;
    if (!best || cpu < best.cpu) best = { ...score(text!, ''), text: text!, wall, cpu, pages: 1 };
  }
  return best;
}

const hasCli = spawnSync('tesseract', ['--version'], { encoding: 'utf8' }).status === 0;
const cases = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.expected.json'))
  .sort()
  .map((f) => ({ name: f.replace(/\.expected\.json$/, ''), expected: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Expected }));

const base = { ...loadConfig(), render: 'none' as const };
const engines: { label: string; cfg: ExtractConfig }[] = [{ label: 'folio tesseract (eng best_int, default)', cfg: { ...base, engine: 'auto' } }];
// The model the Debian tesseract command uses (tessdata_fast), read by folio's engine: the same
// recogniser on both sides, so the difference is folio's preparation, wasm and reading order.
const debianModel = ['/usr/share/tesseract-ocr/5/tessdata/eng.traineddata', '/usr/share/tesseract-ocr/4.00/tessdata/eng.traineddata'].find((f) => fs.existsSync(f));
if (debianModel && !process.env.BENCH_OCR_DEFAULT_ONLY) engines.push({ label: `folio tesseract (${debianModel})`, cfg: { ...base, engine: 'auto', ocrModel: debianModel } });
if (process.env.BENCH_OCR_MODEL) engines.push({ label: `folio tesseract (${process.env.BENCH_OCR_MODEL})`, cfg: { ...base, engine: 'auto', ocrModel: process.env.BENCH_OCR_MODEL } });

type Row = { input: string; engine: string } & Measure;
const rows: Row[] = [];
for (const e of engines) {
  // Warm the thread's engine (model load, wasm compile) and pdf.js outside the timings.
  const first = cases[0]!;
  for (const f of [first.expected.image, first.expected.pdf].filter((x): x is string => !!x)) {
    await extractDocument({ bytes: new Uint8Array(fs.readFileSync(path.join(dir, f))), uri: 'warm', name: f }, e.cfg);
  }
  for (const c of cases) {
    const ref = reference(c.expected);
    for (const input of [c.expected.image, c.expected.pdf].filter((x): x is string => !!x)) {
      const m = await folio(path.join(dir, input), e.cfg);
      rows.push({ input, engine: e.label, ...m, ...score(m.text, ref) });
    }
  }
}
if (hasCli) {
  for (const c of cases) {
    const m = tesseractCli(path.join(dir, c.expected.image));
    if (m) rows.push({ input: c.expected.image, engine: 'tesseract command (psm 3, OMP_THREAD_LIMIT=1)', ...m, ...score(m.text, reference(c.expected)) });
  }
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (v: number, d = 3) => v.toFixed(d).padStart(7);
console.log(`${pad('input', 28)} ${pad('engine', 64)} ${'CER'.padStart(7)} ${'recall'.padStart(7)} ${'wall s'.padStart(7)} ${'cpu s'.padStart(7)}`);
for (const r of rows) console.log(`${pad(r.input, 28)} ${pad(r.engine, 64)} ${num(r.cer)} ${num(r.recall)} ${num(r.wall, 2)} ${num(r.cpu, 2)}`);

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
const byEngine = (label: string, images: boolean) => rows.filter((r) => r.engine === label && (!images || !r.input.endsWith('.pdf')));
console.log('\nmeans over the images (the PDFs wrap the same pixels):');
const summary: Record<string, { cer: number; recall: number; cpuPerPage: number }> = {};
for (const label of [...engines.map((e) => e.label), ...(hasCli ? ['tesseract command (psm 3, OMP_THREAD_LIMIT=1)'] : [])]) {
  const rs = byEngine(label, true);
  if (!rs.length) continue;
  const s = { cer: mean(rs.map((r) => r.cer)), recall: mean(rs.map((r) => r.recall)), cpuPerPage: rs.reduce((t, r) => t + r.cpu, 0) / rs.reduce((t, r) => t + r.pages, 0) };
  summary[label] = s;
  console.log(`  ${pad(label, 64)} CER ${num(s.cer)}  recall ${num(s.recall)}  CPU s/page ${num(s.cpuPerPage, 2)}  pages/s per core ${num(1 / s.cpuPerPage, 2)}`);
}
const pdfs = rows.filter((r) => r.engine === engines[0]!.label && r.input.endsWith('.pdf'));
if (pdfs.length) console.log(`  folio default on the PDF wrappers: CER ${num(mean(pdfs.map((r) => r.cer)))}, CPU s/page ${num(pdfs.reduce((t, r) => t + r.cpu, 0) / pdfs.length, 2)} (pages rendered at their scan's resolution, 200 dpi at least)`);
const ours = summary[engines[0]!.label]!;
const cli = summary['tesseract command (psm 3, OMP_THREAD_LIMIT=1)'];
if (cli) {
  const cerRatio = ours.cer / cli.cer;
  const cpuRatio = ours.cpuPerPage / cli.cpuPerPage;
  console.log(`\nfolio default vs the tesseract command, same run: CER ratio ${cerRatio.toFixed(2)} (floor <= 1.0, goal <= 0.8), CPU s/page ratio ${cpuRatio.toFixed(2)} (goal <= 1.5)`);
  if (process.env.BENCH_STRICT && cerRatio > 1) process.exitCode = 1;
} else {
  console.log('\n(the tesseract command is not installed: apt-get install tesseract-ocr for the side-by-side baseline)');
}
