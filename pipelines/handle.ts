// One document handled, whichever transport delivered it: `folio process` hands each file in as an
// ingest message on its in-process queue, `folio worker` each message of the folio.ingest topic.
// Fetch by URI (the claim check), skip if these bytes are stored for this pipeline version,
// extract in the worker-thread pool, validate, store the original bytes, persist in one
// transaction - or record the failure with its code.
import type { RunConfig } from './vlm.ts';
import { asFolioError, FolioError, type ErrorCode } from '../schemas/errors.ts';
import type { IngestMessage, PagesMessage } from '../schemas/messages.ts';
import type { BlobStore } from '../db/blobs.ts';
import type { Database } from '../db/client.ts';
import { findDone, persistDocument, recordFailure } from '../db/persist.ts';
import { describeSource, pipelineVersion, sourceRecord, validateDocument, type Input } from './extract.ts';
import { fetchSource, uriName, type FetchRules } from './fetch.ts';
import type { ExtractPool } from './pool.ts';

export interface HandleContext {
  /** With the vision model's settings when one runs (they enter the pipeline version). */
  cfg: RunConfig;
  db: Database;
  pool: ExtractPool;
  blobs: BlobStore;
  rules: FetchRules;
  /** Runs database work; `urgent` lookups may jump a queue (PGlite takes one statement at a time). */
  serial?: <T>(fn: () => Promise<T>, urgent?: boolean) => Promise<T>;
}

export interface Handled {
  /**
   * done: stored now; skipped: stored before; failed: `code` says why; split: too many pages for
   * one job, read in `ranges` by whoever takes them; pending: a range read, the document not
   * complete yet (nothing to announce).
   */
  status: 'done' | 'skipped' | 'failed' | 'split' | 'pending';
  uri: string;
  name: string;
  documentId?: string;
  sha256?: string;
  pages?: number;
  blocks?: number;
  code?: ErrorCode;
  message?: string;
  ms: number;
  /** split: the messages for folio.pages, one per range. */
  ranges?: PagesMessage[];
  /** Milliseconds in each stage reached: fetch, extract (the thread pool), persist. */
  stages: Partial<Record<'fetch' | 'extract' | 'persist', number>>;
}

/**
 * Failures worth trying again: the network, the database, a thread that died or ran out of
 * time. The rest are the document's own (bad bytes, limits, a forbidden source): trying again
 * gives the same answer.
 */
export const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set(['fetch_failed', 'db_error', 'internal', 'timeout']);

/** Split a PDF of more than `over` pages into ranges of `range` pages (folio.pages); `id` names the split. */
export interface FanoutRule {
  id: string;
  over: number;
  range: number;
}

/** A handler's clock: `stage(name)` records the milliseconds since the previous stage; `ms()` the total. */
export function stageClock(): { stages: Handled['stages']; stage(name: keyof Handled['stages']): void; ms(): number } {
  const t = performance.now();
  const stages: Handled['stages'] = {};
  let mark = t;
  return {
    stages,
    stage(name) {
      const now = performance.now();
      stages[name] = Math.round(now - mark);
      mark = now;
    },
    ms: () => Math.round(performance.now() - t),
  };
}

export async function handleIngest(ctx: HandleContext, msg: IngestMessage, fanout?: FanoutRule): Promise<Handled> {
  const { stages, stage, ms } = stageClock();
  const { cfg, db, pool, blobs } = ctx;
  const serial = ctx.serial ?? (<T>(fn: () => Promise<T>) => fn());
  const options = msg.options ?? {};
  const version = pipelineVersion({ ...cfg, ...options });
  let name = msg.name ?? uriName(msg.uri);
  let source: ReturnType<typeof describeSource> | undefined;
  try {
    const got = await fetchSource(msg.uri, ctx.rules, msg.name);
    name = got.name;
    stage('fetch');
    const at = { uri: got.uri, name, declaredMime: msg.mime ?? got.declaredMime };
    const src = (source = got.bytes ? describeSource({ ...at, bytes: got.bytes }) : sourceRecord(at, got.head ?? new Uint8Array(), got.size, got.sha256!));
    if (msg.sha256 && msg.sha256 !== src.sha256) {
      throw new FolioError('fetch_failed', `${name}: the bytes fetched have sha256 ${src.sha256}, the message says ${msg.sha256}`);
    }
    const existing = await serial(() => findDone(db, src.sha256, version), true).catch((err: unknown) => {
      throw new FolioError('db_error', `looking up ${name} failed: ${(err as Error).message}`.slice(0, 2000), { cause: err });
    });
    if (existing) return { status: 'skipped', uri: msg.uri, name, documentId: existing.id, sha256: src.sha256, pages: existing.pageCount, ms: ms(), stages };
    // A source over the limit is never held in memory: the same bytes stored earlier (under a
    // higher limit) are done, as for any source; otherwise it fails.
    if (!got.bytes) throw new FolioError('too_large', `${name} has ${src.bytes} bytes; the limit is ${cfg.maxBytes} (FOLIO_MAX_BYTES)`);
    const input: Input = {
      bytes: got.bytes,
      uri: got.uri,
      name,
      ...(at.declaredMime ? { declaredMime: at.declaredMime } : {}),
      ...(Object.keys(options).length ? { options } : {}),
      ...(fanout ? { splitOver: fanout.over } : {}),
    };
    const res = await pool.run(input);
    if (res.error) throw new FolioError(res.error.code, res.error.message);
    if (res.split !== undefined && fanout) {
      // The readers of the ranges fetch the bytes from the blob store, whatever the source was.
      const key = await blobs.put(got.bytes, src.mime);
      const count = Math.ceil(res.split / fanout.range);
      const ranges: PagesMessage[] = Array.from({ length: count }, (_, i) => ({
        docId: msg.docId,
        fanout: fanout.id,
        uri: `blob:${key}`,
        source: got.uri,
        name,
        sha256: src.sha256,
        size: src.bytes,
        mime: src.mime,
        from: i * fanout.range + 1,
        to: Math.min(res.split!, (i + 1) * fanout.range),
        pageCount: res.split!,
        ranges: count,
        options,
      }));
      stage('extract');
      return { status: 'split', uri: msg.uri, name, sha256: src.sha256, pages: res.split, ranges, ms: ms(), stages };
    }
    const doc = validateDocument(res.doc);
    stage('extract');
    const blob = got.bytes.length ? await blobs.put(got.bytes, src.mime) : undefined;
    const saved = await serial(() => persistDocument(db, doc, { blob, validated: true })).catch((err: unknown) => {
      // Driver errors quote the whole statement and its parameters: keep the server's reason.
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw new FolioError('db_error', `storing ${name} failed: ${cause}`.slice(0, 2000));
    });
    stage('persist');
    const blocks = doc.pages.reduce((s, p) => s + p.blocks.length, 0);
    return { status: saved.inserted ? 'done' : 'skipped', uri: msg.uri, name, documentId: saved.documentId, sha256: src.sha256, pages: doc.pageCount, blocks, ms: ms(), stages };
  } catch (err) {
    const e = asFolioError(err);
    let documentId: string | undefined;
    const failed = source;
    // The failure is recorded against the document; a database that is down records nothing.
    if (failed && e.code !== 'db_error') {
      documentId = await serial(() => recordFailure(db, { source: failed, pipelineVersion: version, code: e.code, message: e.message })).catch(() => undefined);
    }
    return { status: 'failed', uri: msg.uri, name, code: e.code, message: e.message, documentId, ...(failed ? { sha256: failed.sha256 } : {}), ms: ms(), stages };
  }
}
