// Text-layer quality on ../shared/bench/text: the share of expected words that folio extracts
// (multiset, whitespace and case ignored) and an order score (longest common subsequence of the
// word sequences / expected words). Usage: npm run bench:text [-- <bench dir>]
import fs from 'node:fs';
import path from 'node:path';
import { extractDocument } from '../pipelines/extract.ts';
import { loadConfig } from '../schemas/config.ts';
import { benchDir } from './common.ts';
import { wordRecall } from './text-score.ts';

const dir = path.join(benchDir(), 'text');
const cfg = { ...loadConfig(), render: 'none' as const };
const norm = (t: string) => t.normalize('NFKC').toLowerCase().split(/\s+/).filter(Boolean);

function lcs(a: string[], b: string[]): number {
  // O(n*m) with two rows; the corpus is small enough.
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

const rows: { file: string; words: number; coverage: number; order: number }[] = [];
for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.pdf')).sort()) {
  const expected = JSON.parse(fs.readFileSync(path.join(dir, f.replace(/\.pdf$/, '.expected.json')), 'utf8')) as { text: string; text_sorted?: string };
  const bytes = new Uint8Array(fs.readFileSync(path.join(dir, f)));
  const doc = await extractDocument({ bytes, uri: path.join(dir, f), name: f }, cfg);
  const got = norm(doc.pages.flatMap((p) => p.blocks.map((b) => b.text)).join('\n'));
  const want = norm(expected.text);
    // Order against PDFBox's content-stream text or its position-sorted text, whichever is closer.
  const order = Math.max(lcs(want, got), expected.text_sorted ? lcs(norm(expected.text_sorted), got) : 0) / want.length;
  rows.push({ file: f, words: want.length, coverage: wordRecall(got, want), order });
}
console.log('file'.padEnd(48), 'words'.padStart(7), 'coverage'.padStart(9), 'order'.padStart(7));
for (const r of rows) console.log(r.file.padEnd(48), String(r.words).padStart(7), r.coverage.toFixed(4).padStart(9), r.order.toFixed(4).padStart(7));
const min = Math.min(...rows.map((r) => r.coverage));
console.log(`min coverage ${min.toFixed(4)} (goal >= 0.97)`);
if (process.env.BENCH_STRICT && min < 0.97) process.exitCode = 1;
