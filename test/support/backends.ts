// Both database back ends for tests, each open() giving a fresh, isolated, migrated database:
//
//   import { backends } from './support/backends.ts';
//   for (const backend of backends) {
//     describe(backend.name, () => {
//       test('…', async (t) => {
//         const database = await backend.open();
//         t.after(() => database.close());          // close() also drops/removes the database
//         …
//       });
//     });
//   }
//
// pglite:   PGlite in a new temp folder (a copy of a migrated template), removed on close().
// postgres: a new database (folio_t_<random>) on the server of FOLIO_TEST_DATABASE_URL (test/run.mjs
//           starts one), dropped on close(). Without that variable open() throws: a test that cannot
//           reach PostgreSQL fails, it is never skipped.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { MIGRATIONS_DIR, openDatabase, type Database } from '../../db/client.ts';

export type BackendName = 'pglite' | 'postgres';

export interface OpenTestDatabaseOptions {
  /** Apply migrations on open (default true, as openDatabase). */
  migrate?: boolean;
}

export interface Backend {
  readonly name: BackendName;
  /** A fresh database that no other test sees; its close() also deletes it. */
  open(opts?: OpenTestDatabaseOptions): Promise<Database>;
}

export const TEST_DATABASE_URL_ENV = 'FOLIO_TEST_DATABASE_URL';

/** The PostgreSQL server URL for tests; throws a clear error when it is not configured. */
export function testDatabaseUrl(): string {
  const url = process.env[TEST_DATABASE_URL_ENV];
  if (!url) {
    throw new Error(
      `${TEST_DATABASE_URL_ENV} is not set, so the PostgreSQL tests have no server. Run them through ` +
        '`npm test` (test/run.mjs starts a throw-away PostgreSQL server; `apt-get install postgresql` if it finds none), ' +
        `or set ${TEST_DATABASE_URL_ENV}=postgres://user@host:port/postgres (a user allowed to CREATE DATABASE).`,
    );
  }
  return url;
}

/** Wrap close() so that it also runs `after` (once), even when the original close() throws. */
function onClose(database: Database, after: () => Promise<void>): Database {
  const close = database.close.bind(database);
  let closed: Promise<void> | undefined;
  database.close = () => {
    closed ??= (async () => {
      try {
        await close();
      } finally {
        await after();
      }
    })();
    return closed;
  };
  return database;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>, server = testDatabaseUrl()): Promise<T> {
  const client = new pg.Client({ connectionString: server, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A fresh database on the test server (or on `server`, a URL of another one): {name, url}. Drop
 * it with dropTestDatabase(name, server).
 */
export async function createTestDatabase(server?: string): Promise<{ name: string; url: string }> {
  const base = server ?? testDatabaseUrl();
  const name = `folio_t_${crypto.randomBytes(6).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`), base);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

export async function dropTestDatabase(name: string, server?: string): Promise<void> {
  // WITH (FORCE) (PostgreSQL 13+) ends sessions a test left open instead of failing.
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`), server);
}

/**
 * Creating a PGlite database (initdb in WASM) and migrating it takes seconds; copying a closed,
 * migrated one takes a fraction of that. So each process (or, under test/run.mjs, the whole run:
 * FOLIO_TEST_CACHE_DIR) builds a template once through openDatabase, and every open() copies it
 * into a fresh temp folder and opens that with openDatabase (whose migrate() then finds nothing
 * to apply).
 */
const templates = new Map<string, Promise<string>>();

function migrationsKey(): string {
  const h = crypto.createHash('sha256');
  for (const f of fs.readdirSync(MIGRATIONS_DIR, { recursive: true, encoding: 'utf8' }).sort()) {
    const p = path.join(MIGRATIONS_DIR, f);
    if (fs.statSync(p).isFile()) h.update(f).update(fs.readFileSync(p));
  }
  return h.digest('hex').slice(0, 16);
}

async function buildTemplate(migrate: boolean): Promise<string> {
  const cacheRoot = process.env.FOLIO_TEST_CACHE_DIR;
  const name = `pglite-template-${migrate ? migrationsKey() : 'empty'}`;
  const finalDir = cacheRoot ? path.join(cacheRoot, name) : undefined;
  if (finalDir && fs.existsSync(path.join(finalDir, 'PG_VERSION'))) return finalDir;
  const dir = await fsp.mkdtemp(path.join(cacheRoot ?? os.tmpdir(), `folio-${name}-`));
  const database = await openDatabase({ pgliteDir: dir, migrate });
  await database.close();
  if (!finalDir) {
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }
  try {
    await fsp.rename(dir, finalDir);
  } catch {
    // Another test file built it at the same time: use theirs.
    await fsp.rm(dir, { recursive: true, force: true });
  }
  return finalDir;
}

export const pgliteBackend: Backend = {
  name: 'pglite',
  async open(opts = {}) {
    const migrate = opts.migrate !== false;
    const key = String(migrate);
    let template = templates.get(key);
    if (!template) {
      template = buildTemplate(migrate);
      templates.set(key, template);
      template.catch(() => templates.delete(key));
    }
    const from = await template;
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'folio-pglite-'));
    const remove = () => fsp.rm(dir, { recursive: true, force: true });
    let database: Database;
    try {
      await fsp.cp(from, dir, { recursive: true });
      database = await openDatabase({ pgliteDir: dir, migrate });
    } catch (err) {
      await remove();
      throw err;
    }
    return onClose(database, remove);
  },
};

export const postgresBackend: Backend = {
  name: 'postgres',
  async open(opts = {}) {
    const { name, url } = await createTestDatabase();
    let database: Database;
    try {
      database = await openDatabase({ url, migrate: opts.migrate });
    } catch (err) {
      await dropTestDatabase(name).catch(() => {});
      throw err;
    }
    return onClose(database, () => dropTestDatabase(name));
  },
};

/** Every back end; run the same assertions against each. */
export const backends: readonly Backend[] = [pgliteBackend, postgresBackend];

export function backend(name: BackendName): Backend {
  const b = backends.find((x) => x.name === name);
  if (!b) throw new Error(`no backend ${name}`);
  return b;
}
