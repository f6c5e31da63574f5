// One database handle for both back ends: a PostgreSQL server through node-postgres when a
// postgres:// URL is configured, otherwise PGlite (Postgres compiled to WASM) in a data folder.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { withoutSourceMaps } from '../extractors/natives.ts';
import type * as schema from './schema.ts';

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
  /** Drizzle over the connection (absent when opened with `orm: false`). */
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
  /**
   * Load Drizzle over the connection (default true). Plain SQL (`folio query`) does without it
   * and starts faster; `db` then throws.
   */
  orm?: boolean;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  const orm = opts.orm !== false;
  const database = opts.url ? await openPostgres(opts.url, orm) : await openPglite(opts.pgliteDir, orm);
  if (opts.migrate !== false && !(await migrationsCurrent(database))) await database.migrate();
  return database;
}

/** The newest migration folio ships: its journal's last entry (drizzle-kit writes the journal). */
function shippedMigration(): { tag: string; when: number } {
  const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string; when: number }[] };
  return journal.entries.at(-1)!;
}

/**
 * True when the database has every migration folio ships, read from Drizzle's own record (it
 * stores each applied migration's journal time): one query, instead of loading the migrator,
 * reading and hashing every migration file and taking the migration lock on each start.
 */
export async function migrationsCurrent(database: Pick<Database, 'query'>): Promise<boolean> {
  try {
    const r = await database.query('select max(created_at)::text as at from drizzle.__drizzle_migrations');
    return Number(r.rows[0]?.at ?? 0) >= shippedMigration().when;
  } catch {
    return false; // no migrations table yet: a new database
  }
}

/** What `db` is when Drizzle was not loaded: a stand-in that says so on any use. */
function withoutOrm(): Db {
  return new Proxy({} as Db, {
    get() {
      throw new Error('database opened without Drizzle (orm: false)');
    },
  });
}

async function openPostgres(url: string, orm: boolean): Promise<Database> {
  const [{ default: pg }, drizzleMod, schemaMod] = await withoutSourceMaps(() =>
    Promise.all([import('pg'), orm ? import('drizzle-orm/node-postgres') : undefined, orm ? import('./schema.ts') : undefined]),
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
  const db = drizzleMod && schemaMod ? (drizzleMod.drizzle(pool, { schema: schemaMod }) as unknown as Db) : withoutOrm();
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
        const [{ drizzle }, { migrate }] = await Promise.all([import('drizzle-orm/node-postgres'), import('drizzle-orm/node-postgres/migrator')]);
        await migrate(drizzle(pool), { migrationsFolder: MIGRATIONS_DIR });
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

const JSONB_OID = 3802;

/**
 * A jsonb parameter for PGlite in Postgres's binary format (a version byte, 1, then the JSON text
 * as UTF-8), which PGlite's protocol writer passes on as bytes. As text, the writer measures every
 * string's UTF-8 length twice in a JavaScript loop before encoding it: for the one large JSON
 * parameter a table's rows are inserted with (db/persist.ts) that was a fifth of storing a
 * document (measured on the throughput corpus: 5.1 -> 4.1 ms of CPU per page). Postgres parses
 * the same text either way.
 */
function jsonbBinary(value: unknown): Uint8Array {
  const text = typeof value === 'string' ? value : JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  const out = Buffer.allocUnsafe(Buffer.byteLength(text) + 1);
  out[0] = 1;
  out.write(text, 1);
  return out;
}

async function openPglite(dir: string | undefined, orm: boolean): Promise<Database> {
  const [{ PGlite }, drizzleMod, schemaMod] = await withoutSourceMaps(() =>
    Promise.all([import('@electric-sql/pglite'), orm ? import('drizzle-orm/pglite') : undefined, orm ? import('./schema.ts') : undefined]),
  );
  if (dir) fs.mkdirSync(dir, { recursive: true });
  const options = { serializers: { [JSONB_OID]: jsonbBinary as unknown as (value: unknown) => string } };
  const client = dir ? await PGlite.create(dir, options) : await PGlite.create(options);
  const db = drizzleMod && schemaMod ? (drizzleMod.drizzle(client, { schema: schemaMod }) as unknown as Db) : withoutOrm();
  return {
    kind: 'pglite',
    db,
    async query(sqlText, params = []) {
      const r = await client.query<Record<string, unknown>>(sqlText, params);
      return { fields: r.fields.map((f) => f.name), rows: r.rows };
    },
    async migrate() {
      const [{ drizzle }, { migrate }] = await Promise.all([import('drizzle-orm/pglite'), import('drizzle-orm/pglite/migrator')]);
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_DIR });
    },
    async close() {
      await client.close();
    },
  };
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
