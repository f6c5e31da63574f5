// Compiles folio's TypeScript into dist/ (run by `npm install` through the `prepare` script, and
// by `npm run build`). The `folio` bin runs dist/main.js, and the extraction threads
// dist/thread-main.js, so the command starts without compiling TypeScript; bin/folio.js falls
// back to the sources through tsx when any of them is newer than the build (development).
//
// One esbuild bundle per entry, split into chunks: each command's code is a chunk loaded when the
// command runs. Dependencies stay in node_modules (external). Every output file sits directly in
// dist/, one folder below the repository like the sources, so paths the code takes relative to
// its own file (../migrations, ../package.json) hold in both.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `--out <dir>`: another folder directly under the repository (tests build into one of their own).
const outArg = process.argv.indexOf('--out');
const OUT = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(ROOT, 'dist');
if (path.dirname(OUT) !== ROOT) throw new Error(`the build goes directly under ${ROOT} (relative paths in the code depend on it), not in ${OUT}`);

const t0 = performance.now();
fs.rmSync(OUT, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { main: 'cli/main.ts', 'thread-main': 'pipelines/thread-main.ts' },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
// What the build was made from: bin/folio.js compares their times with the build's.
const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules')).sort();
fs.writeFileSync(path.join(OUT, 'build.json'), JSON.stringify({ builtAt: Date.now(), inputs }, null, 1) + '\n');
const bytes = Object.values(result.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
console.log(`folio: compiled ${inputs.length} files into ${path.relative(ROOT, OUT)}/ (${(bytes / 1024).toFixed(0)} KiB with source maps) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
