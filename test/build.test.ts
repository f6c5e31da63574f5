// The compiled CLI (scripts/build.mjs, run by `npm install`): built into a folder of this test's
// own, it answers --help and --version, extracts and stores a PDF through its compiled worker
// threads, queries the result, and its start-up module loads nothing heavy (each command
// imports what it uses when it runs). The bin running the sources through tsx is what every
// other CLI test exercises when the build is stale; here the build itself is run.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildIsCurrent } from '../bin/build-state.mjs';
import { reportPdf } from './fixtures/pdfs.ts';
import { tmpDirFor } from './support/tmp.ts';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

describe('the compiled CLI', () => {
  test('builds, and runs extraction threads, migrations and queries from the build; --help loads no heavy module', async (t) => {
    const out = path.join(ROOT, `.build-test-${crypto.randomBytes(4).toString('hex')}`);
    t.after(() => fs.rmSync(out, { recursive: true, force: true }));
    const built = await run(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--out', out]);
    assert.match(built.stdout, /compiled \d+ files/);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'build.json'), 'utf8')) as { builtAt: number; inputs: string[] };
    assert.ok(manifest.inputs.includes('cli/main.ts') && manifest.inputs.includes('pipelines/thread-main.ts'), manifest.inputs.join(' '));
    for (const f of manifest.inputs) assert.ok(fs.existsSync(path.join(ROOT, f)), f);

    // What `folio --help` loads: the start-up module's static imports are Node's own and commander.
    const main = fs.readFileSync(path.join(out, 'main.js'), 'utf8');
    const staticImports = [...main.matchAll(/^import\s[^'"]*?from\s*["']([^"']+)["'];?$|^import\s*["']([^"']+)["'];?$/gm)].map((m) => m[1] ?? m[2]!);
    const packages = staticImports.filter((s) => !s.startsWith('node:') && !s.startsWith('./'));
    assert.deepEqual(packages, ['commander']);
    // Chunks it loads statically are folio's own, and they import no heavy package either.
    for (const chunk of staticImports.filter((s) => s.startsWith('./'))) {
      const text = fs.readFileSync(path.join(out, chunk), 'utf8');
      assert.doesNotMatch(text, /from ["'](pdfjs-dist|@electric-sql\/pglite|drizzle-orm|zod|sharp|kafkajs|pg)(\/[^"']*)?["']/, chunk);
    }
    assert.doesNotMatch(main, /tsx/);

    const folio = (args: string[]) => run(process.execPath, [path.join(out, 'main.js'), ...args], { env: { ...process.env, FOLIO_LOG_LEVEL: 'warn' }, maxBuffer: 16 << 20 });
    assert.match((await folio(['--help'])).stdout, /Usage: folio/);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal((await folio(['--version'])).stdout.trim(), `folio@${pkg.version}`);

    const dir = await tmpDirFor(t);
    const pdf = await dir.write('report.pdf', (await reportPdf({ pages: 2 })).bytes);
    const data = dir.join('data');
    const processed = await folio(['process', pdf, '--data-dir', data, '--workers', '1', '--json']);
    const summary = JSON.parse(processed.stdout) as { done: number; pages: number };
    assert.deepEqual([summary.done, summary.pages], [1, 2]);
    const q = await folio(['query', 'select count(*)::int as pages from pages', '--data-dir', data, '--json']);
    assert.deepEqual(JSON.parse(q.stdout), [{ pages: 2 }]);
    // A second open finds the migrations applied and does not apply them again.
    const applied = await folio(['query', 'select count(*)::int as n from drizzle.__drizzle_migrations', '--data-dir', data, '--json']);
    const journal = JSON.parse(fs.readFileSync(path.join(ROOT, 'migrations', 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
    assert.deepEqual(JSON.parse(applied.stdout), [{ n: journal.entries.length }]);
  });

  test('the bin runs the build only while it is current: a newer source, a missing one, no build, or FOLIO_FROM_SOURCE=1 mean the sources', async (t) => {
    const dir = await tmpDirFor(t);
    const root = new URL(`${pathToFileURL(dir.path).href}/`);
    assert.equal(buildIsCurrent(root, {}), false, 'no build');
    await dir.write('cli/main.ts', 'x');
    await dir.write('db/client.ts', 'y');
    const past = new Date(Date.now() - 60_000);
    for (const f of ['cli/main.ts', 'db/client.ts']) fs.utimesSync(dir.join(f), past, past);
    await dir.write('dist/build.json', JSON.stringify({ builtAt: Date.now() - 1000, inputs: ['cli/main.ts', 'db/client.ts'] }));
    assert.equal(buildIsCurrent(root, {}), true);
    assert.equal(buildIsCurrent(root, { FOLIO_FROM_SOURCE: '1' }), false);
    fs.utimesSync(dir.join('db/client.ts'), new Date(), new Date());
    assert.equal(buildIsCurrent(root, {}), false, 'a source edited after the build');
    fs.utimesSync(dir.join('db/client.ts'), past, past);
    fs.rmSync(dir.join('cli/main.ts'));
    assert.equal(buildIsCurrent(root, {}), false, 'a source gone');
  });
});
