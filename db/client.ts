// One database handle for both back ends: a PostgreSQL server through node-postgres when a
// postgres:// URL is configured, otherwise PGlite (Postgres compiled to WASM) in a data folder.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { withoutSourceMaps } from '../extractors/natives.ts';
import * as schema from './schema.ts';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

/** The advisory lock (a number of folio's own) held while migrating a PostgreSQL server. */
const MIGRATION_LOCK = 0x666f6c696f;

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface QueryResult {
  fields: string[];
  rows: Record<string, unknown>[];
}

export interface Database {
  kind: 'postgres' | 'pglite';
  db: Db;
  /** Run one SQL statement with positional parameters ($1, $2, …). */
  query(sqlText: string, params?: unknown[]): Promise<QueryResult>;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** postgres:// URL; when absent, PGlite in `pgliteDir`. */
  url?: string;
  pgliteDir?: string;
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  const database = opts.url ? await openPostgres(opts.url) : await openPglite(opts.pgliteDir);
  if (opts.migrate !== false) await database.migrate();
  return database;
}

async function openPostgres(url: string): Promise<Database> {
  const [{ default: pg }, { drizzle }, { migrate }] = await withoutSourceMaps(() =>
    Promise.all([import('pg'), import('drizzle-orm/node-postgres'), import('drizzle-orm/node-postgres/migrator')]),
  );
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // An idle client whose connection drops (server restart) must not take the process down;
  // the next query gets a fresh connection or a clear error.
  pool.on('error', () => {});
  // Fail fast with a clear message when the server is not there.
  const probe = await pool.connect().catch(async (err: Error) => {
    await pool.end().catch(() => {});
    throw new Error(`cannot connect to ${redact(url)}: ${err.message}`);
  });
  probe.release();
  const db = drizzle(pool, { schema }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    async query(sqlText, params = []) {
      const r = await pool.query({ text: sqlText, values: params });
      return { fields: (r.fields ?? []).map((f) => f.name), rows: r.rows ?? [] };
    },
    async migrate() {
      // Workers starting together migrate one at a time (the others then find nothing to do).
      const lock = await pool.connect();
      try {
        await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
        await migrate(db as never, { migrationsFolder: MIGRATIONS_DIR });
      } finally {
        await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
        lock.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

async function openPglite(dir: string | undefined): Promise<Database> {
  const [{ PGlite }, { drizzle }, { migrate }] = await withoutSourceMaps(() =>
    Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite'), import('drizzle-orm/pglite/migrator')]),
  );
  if (dir) fs.mkdirSync(dir, { recursive: true });
  const client = dir ? await PGlite.create(dir) : await PGlite.create();
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    async query(sqlText, params = []) {
      const r = await client.query<Record<string, unknown>>(sqlText, params);
      return { fields: r.fields.map((f) => f.name), rows: r.rows };
    },
    async migrate() {
      await migrate(db as never, { migrationsFolder: MIGRATIONS_DIR });
    },
    async close() {
      await client.close();
    },
  };
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
