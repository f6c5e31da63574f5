#!/usr/bin/env node
// `npm test`: start a throw-away PostgreSQL server (unless FOLIO_TEST_DATABASE_URL is set), run
// every test/**/*.test.ts file with node:test (through tsx), stop the server, remove its files and
// exit with the test runner's exit code.
//
//   npm test                                   all test files
//   npm test -- test/db.test.ts                only the files (or folders) named
//   npm test -- db pdf                         only the files whose path contains "db" or "pdf"
//   npm test -- --test-name-pattern=persist    extra flags go to `node --test`
//
// Environment:
//   FOLIO_TEST_DATABASE_URL  use this PostgreSQL server (a user allowed to CREATE DATABASE) and start none
//   PG_BIN                   folder holding initdb, pg_ctl and postgres
//   FOLIO_TEST_CONCURRENCY   test files run at once (default 2)
//   FOLIO_TEST_TIMEOUT_MS    per-test timeout (default 600000)
//   FOLIO_TEST_KEEP_PG=1     leave the server's folder in place (its path is printed) for debugging
// The Kafka test files start their own brokers (kafka/broker.mjs; the jars are resolved here first).
// The test files get FOLIO_TEST_DATABASE_URL and FOLIO_TEST_CACHE_DIR (a folder for this run only).
import { spawn } from 'node:child_process';
import { SetupError, startPostgres } from './support/postgres.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TEST_DIR = path.join(ROOT, 'test');
const log = (msg) => process.stderr.write(`[test/run] ${msg}\n`);


// ---------------------------------------------------------------------------------------------
// Arguments: node flags pass through; other words pick test files.

/** node flags that take their value as the next argument (when not written --flag=value). */
const FLAGS_WITH_VALUE = new Set([
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-concurrency',
  '--test-timeout',
  '--test-shard',
  '--import',
  '--require',
  '-r',
  '--conditions',
  '-C',
]);

function parseArgs(argv) {
  const nodeFlags = [];
  const selectors = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('-')) {
      nodeFlags.push(a);
      if (FLAGS_WITH_VALUE.has(a) && i + 1 < argv.length) nodeFlags.push(argv[++i]);
    } else {
      selectors.push(a);
    }
  }
  return { nodeFlags, selectors };
}

function walk(dir, out = []) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function selectFiles(selectors) {
  const all = walk(TEST_DIR).sort();
  if (selectors.length === 0) return all;
  const picked = new Set();
  for (const s of selectors) {
    const abs = path.resolve(process.cwd(), s);
    const stat = fs.statSync(abs, { throwIfNoEntry: false });
    const inDir = stat?.isDirectory() ? walk(abs) : [];
    if (inDir.length > 0) {
      inDir.forEach((f) => picked.add(f));
    } else if (stat?.isFile()) {
      picked.add(abs);
    } else {
      const matches = all.filter((f) => path.relative(ROOT, f).includes(s));
      if (matches.length === 0) throw new SetupError(`no test file matches "${s}" (looked under ${path.relative(ROOT, TEST_DIR)}/ for *.test.ts)`);
      matches.forEach((f) => picked.add(f));
    }
  }
  return [...picked].sort();
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const { nodeFlags, selectors } = parseArgs(process.argv.slice(2));
  const files = selectFiles(selectors);
  if (files.length === 0) throw new SetupError(`no test files (*.test.ts) under ${path.relative(process.cwd(), TEST_DIR) || '.'}`);

  const state = { pg: undefined, cacheDir: undefined, child: undefined, signal: undefined };
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    state.pg?.destroy();
    if (state.cacheDir) fs.rmSync(state.cacheDir, { recursive: true, force: true });
  };
  const onSignal = (sig) => {
    if (state.signal) return;
    state.signal = sig;
    log(`${sig}: stopping`);
    // The test runner is in our process group and got the signal from a terminal too; make sure.
    if (state.child && state.child.exitCode === null) state.child.kill(sig);
    else {
      cleanup();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGHUP', () => onSignal('SIGHUP'));
  process.on('exit', cleanup);

  // The Kafka tests start brokers of their own; their jars are resolved once, here, not by two
  // test files at the same time.
  if (files.some((f) => /kafka/.test(path.basename(f)))) {
    const { ensureJars } = await import('../kafka/broker.mjs');
    try {
      ensureJars(log);
    } catch (err) {
      throw new SetupError(`${err.message}\n  The Kafka tests need Java 17+ and Maven: apt-get install -y openjdk-17-jre-headless maven`);
    }
  }

  // Shared by the test files of this run (e.g. the migrated PGlite template of test/support/backends.ts).
  state.cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-test-cache-'));
  const env = { ...process.env, FOLIO_TEST_CACHE_DIR: state.cacheDir };
  if (process.env.FOLIO_TEST_DATABASE_URL) {
    log(`using FOLIO_TEST_DATABASE_URL (${process.env.FOLIO_TEST_DATABASE_URL.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')})`);
  } else {
    try {
      state.pg = await startPostgres({ log });
      env.FOLIO_TEST_DATABASE_URL = state.pg.url;
    } catch (err) {
      cleanup();
      throw err;
    }
    if (state.signal) return state.signal === 'SIGINT' ? 130 : 143;
  }

  const has = (flag) => nodeFlags.some((f) => f === flag || f.startsWith(flag + '='));
  const args = ['--import', 'tsx', '--test'];
  if (!has('--test-reporter')) args.push('--test-reporter=spec');
  if (!has('--test-concurrency')) args.push(`--test-concurrency=${process.env.FOLIO_TEST_CONCURRENCY || 2}`);
  if (!has('--test-timeout')) args.push(`--test-timeout=${process.env.FOLIO_TEST_TIMEOUT_MS || 600_000}`);
  args.push(...nodeFlags, ...files.map((f) => path.relative(ROOT, f)));

  const t0 = performance.now();
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
    state.child = child;
    child.on('error', (err) => {
      log(`cannot start the test runner: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 + (os.constants.signals[sig] ?? 0) : 1)));
  });
  const exitCode = state.signal && code === 0 ? (state.signal === 'SIGINT' ? 130 : 143) : code;
  log(`${files.length} test file(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s, exit code ${exitCode}`);
  cleanup();
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(err instanceof SetupError ? `error: ${err.message}` : `error: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
