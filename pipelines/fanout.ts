// A large document read in page ranges (folio.pages): each range is read by whichever worker
// takes its message and stored in page_ranges; the range whose arrival completes the set (one
// transaction, under a lock per split, decides which) assembles the Document from all ranges,
// validates it and persists it in one transaction. A crash anywhere leaves either the ranges (read
// again by nobody: the message that comes again finds its range stored) or the whole Document.
import { and, count, eq, gt, sql } from 'drizzle-orm';
import { FolioError, asFolioError } from '../schemas/errors.ts';
import type { PagesMessage } from '../schemas/messages.ts';
import type { Document } from '../schemas/document.ts';
import type { Database, Db } from '../db/client.ts';
import { findDone, persistDocument, recordFailure } from '../db/persist.ts';
import { pageRanges } from '../db/schema.ts';
import type { PdfRead } from '../extractors/pdf.ts';
import { pipelineVersion, validateDocument } from './extract.ts';
import { fetchSource } from './fetch.ts';
import { stageClock, type HandleContext, type Handled } from './handle.ts';

/** The document as the Document's source records it (where it came from, not the blob). */
function sourceOf(msg: PagesMessage): Document['source'] {
  return { uri: msg.source, name: msg.name, mime: msg.mime, bytes: msg.size, sha256: msg.sha256 };
}

/** Marks a split given up on (a range failed for good): the other ranges stop there. */
const FAILED = 0;

export async function handlePages(ctx: HandleContext, msg: PagesMessage): Promise<Handled> {
  const { stages, stage, ms } = stageClock();
  const { cfg, db, pool } = ctx;
  const options = msg.options ?? {};
  const version = pipelineVersion({ ...cfg, ...options });
  const base = { uri: msg.source, name: msg.name, sha256: msg.sha256 };
  const out = (h: Omit<Handled, 'uri' | 'name' | 'sha256' | 'ms' | 'stages'>): Handled => ({ ...base, ...h, ms: ms(), stages });
  try {
    const dbStep = <T>(what: string, fn: () => Promise<T>) =>
      fn().catch((err: unknown) => {
        if (err instanceof FolioError) throw err;
        const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
        throw new FolioError('db_error', `${what} (${msg.name} pages ${msg.from}-${msg.to}) failed: ${cause}`.slice(0, 2000));
      });
    const rows = await dbStep('reading the split', () =>
      db.db.select({ from: pageRanges.fromPage, completer: pageRanges.completer }).from(pageRanges).where(eq(pageRanges.fanout, msg.fanout)),
    );
    const mine = rows.find((r) => r.from === msg.from);
    const done = await dbStep('looking up the document', () => findDone(db, msg.sha256, version));
    // Stored: announced by the range that completed the set (this message again, if it is that one).
    if (done) return mine?.completer ? out({ status: 'done', documentId: done.id, pages: done.pageCount }) : out({ status: 'pending' });
    if (rows.some((r) => r.from === FAILED)) return out({ status: 'pending' });
    let completer = mine?.completer ?? false;
    if (!mine) {
      const got = await fetchSource(msg.uri, ctx.rules, msg.name);
      stage('fetch');
      if (!got.bytes) throw new FolioError('too_large', `${msg.name} has ${got.size} bytes; the limit is ${cfg.maxBytes} (FOLIO_MAX_BYTES)`);
      const res = await pool.run({
        bytes: got.bytes,
        uri: msg.source,
        name: msg.name,
        declaredMime: msg.mime,
        pages: { from: msg.from, to: msg.to },
        ...(Object.keys(options).length ? { options } : {}),
      });
      if (res.error) throw new FolioError(res.error.code, res.error.message);
      if (!res.part) throw new FolioError('internal', `${msg.name}: pages ${msg.from}-${msg.to} came back without their content`);
      stage('extract');
      completer = await dbStep('storing the range', () => storeRange(db, msg, version, res.part!));
      stage('persist');
    }
    if (!completer) return out({ status: 'pending' });

    // This range completed the set: assemble, validate, persist.
    const parts = await dbStep('reading the ranges', () => loadParts(db, msg.fanout));
    const res = await pool.run({ name: msg.name, assemble: { source: sourceOf(msg), parts, ...(Object.keys(options).length ? { options } : {}) } });
    if (res.error) throw new FolioError(res.error.code, res.error.message);
    const doc = validateDocument(res.doc);
    stage('extract');
    const blob = /^blob:(.+)$/.exec(msg.uri)?.[1];
    const saved = await dbStep('storing the document', () => persistDocument(db, doc, { ...(blob ? { blob } : {}), validated: true }));
    // The ranges' pages are in the Document now; their rows stay (small) to say who completed the set.
    await db.db.update(pageRanges).set({ part: null }).where(eq(pageRanges.fanout, msg.fanout)).catch(() => {});
    stage('persist');
    const blocks = doc.pages.reduce((s, p) => s + p.blocks.length, 0);
    return out({ status: saved.inserted ? 'done' : 'skipped', documentId: saved.documentId, pages: doc.pageCount, blocks });
  } catch (err) {
    const e = asFolioError(err);
    return out({ status: 'failed', code: e.code, message: e.message });
  }
}

/**
 * Store a range as read; true when it completes the set. Under a lock per split, so that of two
 * ranges finishing together exactly one sees the set complete. A range stored before (its message
 * came again) answers what it answered then.
 */
async function storeRange(database: Database, msg: PagesMessage, version: string, part: PdfRead): Promise<boolean> {
  return database.db.transaction(async (tx) => {
    const db = tx as unknown as Db;
    await db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${msg.fanout}, 0))`);
    const inserted = await db
      .insert(pageRanges)
      .values({ fanout: msg.fanout, fromPage: msg.from, toPage: msg.to, sha256: msg.sha256, pipelineVersion: version, ranges: msg.ranges, part })
      .onConflictDoNothing()
      .returning({ from: pageRanges.fromPage });
    if (inserted.length === 0) {
      const [row] = await db.select({ completer: pageRanges.completer }).from(pageRanges).where(and(eq(pageRanges.fanout, msg.fanout), eq(pageRanges.fromPage, msg.from)));
      return row?.completer ?? false;
    }
    const [n] = await db.select({ n: count() }).from(pageRanges).where(and(eq(pageRanges.fanout, msg.fanout), gt(pageRanges.fromPage, FAILED)));
    if (Number(n?.n ?? 0) < msg.ranges) return false;
    await db.update(pageRanges).set({ completer: true }).where(and(eq(pageRanges.fanout, msg.fanout), eq(pageRanges.fromPage, msg.from)));
    return true;
  });
}

async function loadParts(database: Database, fanout: string): Promise<PdfRead[]> {
  const rows = await database.db
    .select({ part: pageRanges.part })
    .from(pageRanges)
    .where(and(eq(pageRanges.fanout, fanout), gt(pageRanges.fromPage, FAILED)))
    .orderBy(pageRanges.fromPage);
  if (rows.some((r) => !r.part)) throw new FolioError('internal', `the ranges of split ${fanout} are gone (assembled before?)`);
  return rows.map((r) => r.part as PdfRead);
}

/**
 * A range failed for good: the document is recorded as failed, the split marked so that the other
 * ranges stop, and the ranges read so far dropped.
 */
export async function failSplit(ctx: HandleContext, msg: PagesMessage, code: string, message: string): Promise<string | undefined> {
  const version = pipelineVersion({ ...ctx.cfg, ...(msg.options ?? {}) });
  const documentId = await recordFailure(ctx.db, { source: sourceOf(msg), pipelineVersion: version, code, message: `pages ${msg.from}-${msg.to}: ${message}` });
  await ctx.db.db
    .insert(pageRanges)
    .values({ fanout: msg.fanout, fromPage: FAILED, toPage: FAILED, sha256: msg.sha256, pipelineVersion: version, ranges: msg.ranges })
    .onConflictDoNothing();
  await ctx.db.db.update(pageRanges).set({ part: null }).where(eq(pageRanges.fanout, msg.fanout));
  return documentId;
}
