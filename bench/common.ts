// Shared by the benchmarks: where the corpus is (../shared/bench by default, FOLIO_BENCH_DIR to
// point elsewhere). Benchmarks read it in place and never copy it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function benchDir(): string {
  const arg = process.argv.slice(2).find((a) => !a.startsWith('-'));
  const dir = arg ?? process.env.FOLIO_BENCH_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'bench');
  if (!fs.existsSync(dir)) {
    console.error(`benchmark corpus not found at ${dir}: set FOLIO_BENCH_DIR or pass the folder`);
    process.exit(2);
  }
  return dir;
}
