// A throw-away PostgreSQL server in a temp folder (Debian's binaries, or $PG_BIN): test/run.mjs
// starts one for the whole run; fault tests start their own to stop and start it again.
//
//   const pg = await startPostgres({ log });   // pg.url, pg.dir
//   await pg.stop(); await pg.start();         // the same data, the same port
//   pg.destroy();                              // stop and remove the folder
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../kafka/broker.mjs';

const PG_USER = 'postgres';

export class SetupError extends Error {}

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

function ensurePgUser(log) {
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

/** Start a server in a fresh temp folder. */
export async function startPostgres({ log = () => {} } = {}) {
  const state = { dir: undefined, stopCmd: undefined };
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
    const { uid, gid } = ensurePgUser(log);
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
  const stopCmd = asPgUser(exe('pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', '-s', 'stop']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = async () => {
    try {
      run(c2, a2, { env, cwd: dir });
    } catch (err) {
      const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
      throw new SetupError(`${err.message}\n--- postgres.log ---\n${tail}`);
    }
    state.stopCmd = stopCmd;
    return waitForConnections(url, Date.now() + 30_000);
  };
  const version = await start();
  const t1 = performance.now();
  log(`PostgreSQL ${version} (${bin}) on 127.0.0.1:${port}, ready in ${Math.round(t1 - t0)} ms (initdb ${Math.round(tInit - t0)} ms)`);
  return {
    url,
    dir,
    port,
    /** Start the stopped server again (same data, same port). */
    start,
    /** Stop the server (fast shutdown), keeping its data. */
    stop: async () => stopPostgres(state, { keep: true, log }),
    /** Stop it and remove its folder (FOLIO_TEST_KEEP_PG=1 keeps the folder). */
    destroy: () => stopPostgres(state, { keep: false, log }),
  };
}

function stopPostgres(state, { keep, log }) {
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
  if (state.dir && !keep) {
    if (process.env.FOLIO_TEST_KEEP_PG === '1') log(`kept ${state.dir}`);
    else fs.rmSync(state.dir, { recursive: true, force: true });
    state.dir = undefined;
  }
}

