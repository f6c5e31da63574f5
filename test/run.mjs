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
// The test files get FOLIO_TEST_DATABASE_URL and FOLIO_TEST_CACHE_DIR (a folder for this run only).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TEST_DIR = path.join(ROOT, 'test');
const PG_USER = 'postgres';
const log = (msg) => process.stderr.write(`[test/run] ${msg}\n`);

class SetupError extends Error {}

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
// PostgreSQL

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

const hasAll = (dir) => ['initdb', 'pg_ctl', 'postgres'].every((b) => isExecutable(path.join(dir, b)));

/** The folder with initdb, pg_ctl and postgres: $PG_BIN, then /usr/lib/postgresql/<highest>/bin, then $PATH. */
function findPgBin() {
  if (process.env.PG_BIN) {
    if (!hasAll(process.env.PG_BIN)) throw new SetupError(`PG_BIN=${process.env.PG_BIN} does not hold initdb, pg_ctl and postgres`);
    return process.env.PG_BIN;
  }
  const debian = '/usr/lib/postgresql';
  const versions = fs.existsSync(debian)
    ? fs
        .readdirSync(debian)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const dir = path.join(debian, v, 'bin');
    if (hasAll(dir)) return dir;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    if (!hasAll(dir)) continue;
    // /usr/local/bin/initdb may be a link into the real folder: use that, where pg_ctl finds postgres.
    const real = path.dirname(fs.realpathSync(path.join(dir, 'initdb')));
    return hasAll(real) ? real : dir;
  }
  return undefined;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (r.error) throw new SetupError(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new SetupError(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}\n${(r.stdout ?? '') + (r.stderr ?? '')}`.trim());
  }
  return r.stdout;
}

/** When root, PostgreSQL refuses to run: commands go through `runuser -u postgres --`. */
function asPgUser(cmd, args) {
  return isRoot() ? ['runuser', ['-u', PG_USER, '--', cmd, ...args]] : [cmd, args];
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function ensurePgUser() {
  const id = spawnSync('id', ['-u', PG_USER], { encoding: 'utf8' });
  if (id.status !== 0) {
    log(`creating system user "${PG_USER}" (PostgreSQL does not run as root)`);
    const r = spawnSync('useradd', ['--system', '--no-create-home', '--user-group', PG_USER], { encoding: 'utf8' });
    if (r.status !== 0) {
      throw new SetupError(
        `running as root, and there is no "${PG_USER}" user to run PostgreSQL as; useradd failed: ${(r.stderr || r.error?.message || '').trim()}\n` +
          `Create one (useradd --system --no-create-home ${PG_USER}) or run the tests as another user.`,
      );
    }
  }
  const uid = Number(run('id', ['-u', PG_USER]).trim());
  const gid = Number(run('id', ['-g', PG_USER]).trim());
  if (!isExecutable('/usr/sbin/runuser') && !isExecutable('/sbin/runuser') && !isExecutable('/usr/bin/runuser')) {
    throw new SetupError('running as root needs `runuser` (util-linux) to start PostgreSQL as the postgres user');
  }
  return { uid, gid };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForConnections(url, deadlineMs) {
  const pg = (await import('pg')).default;
  let last;
  while (Date.now() < deadlineMs) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      const r = await client.query('select current_setting($1) as v', ['server_version']);
      await client.end();
      return r.rows[0].v;
    } catch (err) {
      last = err;
      await client.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new SetupError(`PostgreSQL did not accept connections at ${url}: ${last?.message}`);
}

/** Start a server in a fresh temp folder; returns {url, stop()}. */
async function startPostgres(state) {
  const bin = findPgBin();
  if (!bin) {
    throw new SetupError(
      'the tests need a real PostgreSQL server, and none was found: no initdb/pg_ctl/postgres in $PG_BIN, ' +
        '/usr/lib/postgresql/*/bin or $PATH.\n' +
        '  Install it:  apt-get install -y postgresql      (Debian/Ubuntu)\n' +
        '  or point the tests at a server:  FOLIO_TEST_DATABASE_URL=postgres://user@host:5432/postgres npm test\n' +
        '  (that user must be allowed to CREATE DATABASE; each test database is dropped afterwards)',
    );
  }
  const t0 = performance.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-pg-'));
  state.dir = dir;
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  if (isRoot()) {
    const { uid, gid } = ensurePgUser();
    fs.chownSync(dir, uid, gid);
    // The postgres user must reach the folder: every parent needs search permission for it.
    const probe = spawnSync('runuser', ['-u', PG_USER, '--', 'test', '-w', dir]);
    if (probe.status !== 0) {
      throw new SetupError(`the "${PG_USER}" user cannot write ${dir}: a parent folder of the temp dir is closed to it (set TMPDIR to a folder such as /tmp)`);
    }
  }
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  delete env.PGDATA;
  const exe = (name) => path.join(bin, name);

  const [c1, a1] = asPgUser(exe('initdb'), [
    '-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync', '--no-instructions',
  ]);
  try {
    run(c1, a1, { env, cwd: dir });
  } catch (err) {
    // --no-instructions is PostgreSQL 14+; retry without it on older servers.
    if (!/no-instructions/.test(err.message)) throw err;
    const [c, a] = asPgUser(exe('initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync']);
    run(c, a, { env, cwd: dir });
  }
  const tInit = performance.now();

  const port = await freePort();
  const settings = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${dir}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'max_connections = 200',
    'shared_buffers = 64MB',
    'log_min_messages = warning',
    'log_statement = none',
  ];
  fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), `\n# folio test/run.mjs\n${settings.join('\n')}\n`);
  const [c2, a2] = asPgUser(exe('pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-s', 'start']);
  state.stopCmd = asPgUser(exe('pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', '-s', 'stop']);
  try {
    run(c2, a2, { env, cwd: dir });
  } catch (err) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
    throw new SetupError(`${err.message}\n--- postgres.log ---\n${tail}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const version = await waitForConnections(url, Date.now() + 30_000);
  const t1 = performance.now();
  log(`PostgreSQL ${version} (${bin}) on 127.0.0.1:${port}, ready in ${Math.round(t1 - t0)} ms (initdb ${Math.round(tInit - t0)} ms)`);
  return url;
}

function stopPostgres(state) {
  if (state.stopCmd) {
    const [cmd, args] = state.stopCmd;
    state.stopCmd = undefined;
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) {
      log(`pg_ctl stop failed: ${(r.stderr || r.error?.message || '').trim()}; sending SIGQUIT to the postmaster`);
      try {
        const pid = Number(fs.readFileSync(path.join(state.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
        if (pid > 0) process.kill(pid, 'SIGQUIT');
      } catch {}
    }
  }
  if (state.dir) {
    if (process.env.FOLIO_TEST_KEEP_PG === '1') log(`kept ${state.dir}`);
    else fs.rmSync(state.dir, { recursive: true, force: true });
    state.dir = undefined;
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const { nodeFlags, selectors } = parseArgs(process.argv.slice(2));
  const files = selectFiles(selectors);
  if (files.length === 0) throw new SetupError(`no test files (*.test.ts) under ${path.relative(process.cwd(), TEST_DIR) || '.'}`);

  const state = { dir: undefined, cacheDir: undefined, stopCmd: undefined, child: undefined, signal: undefined };
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    stopPostgres(state);
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

  // Shared by the test files of this run (e.g. the migrated PGlite template of test/support/backends.ts).
  state.cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-test-cache-'));
  const env = { ...process.env, FOLIO_TEST_CACHE_DIR: state.cacheDir };
  if (process.env.FOLIO_TEST_DATABASE_URL) {
    log(`using FOLIO_TEST_DATABASE_URL (${process.env.FOLIO_TEST_DATABASE_URL.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')})`);
  } else {
    try {
      env.FOLIO_TEST_DATABASE_URL = await startPostgres(state);
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
