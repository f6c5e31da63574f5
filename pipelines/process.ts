// `folio process`: expand paths/dirs/globs, extract each file in the worker pool, persist each
// Document in its own transaction (or record its failure), and summarise the run. One bad file
// never stops the others.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fg from 'fast-glob';
import type { Config } from '../schemas/config.ts';
import { workerCount } from '../schemas/config.ts';
import { asFolioError, FolioError, type ErrorCode } from '../schemas/errors.ts';
import { BlobStore } from '../db/blobs.ts';
import type { Database } from '../db/client.ts';
import { findDone, persistDocument, recordFailure } from '../db/persist.ts';
import { loadOcrModel } from '../extractors/engines/index.ts';
import { describeSource, pipelineVersion, sourceRecord, validateDocument, type Input } from './extract.ts';
import { ExtractPool } from './pool.ts';
import { SerialQueue } from './serial.ts';
import { SNIFF_BYTES, SUPPORTED_EXTENSIONS } from './sniff.ts';

export interface FileOutcome {
  file: string;
  status: 'done' | 'skipped' | 'failed';
  documentId?: string;
  pages?: number;
  blocks?: number;
  code?: ErrorCode;
  message?: string;
  ms: number;
}

export interface Summary {
  pipelineVersion: string;
  database: string;
  startedAt: string;
  seconds: number;
  files: number;
  done: number;
  skipped: number;
  failed: number;
  pages: number;
  blocks: number;
  pagesPerSecond: number;
  errors: Partial<Record<ErrorCode, number>>;
  /** Problems with the run's set-up, found before any file was read. */
  problems?: { code: ErrorCode; message: string }[];
  outcomes: FileOutcome[];
}

export interface ProcessHooks {
  /** Something wrong with the run's set-up (a missing OCR model), found before any file is read. */
  onProblem?(problem: { code: ErrorCode; message: string }): void;
  onStart?(total: number): void;
  onFile?(outcome: FileOutcome, doneCount: number, total: number): void;
}

export function blobDirOf(cfg: Config): string {
  return cfg.blobDir ?? path.join(cfg.dataDir, 'blobs');
}

/** Resolve inputs (paths, directories, globs, file:// URLs) into files; unknown ones are reported. */
export async function expandInputs(inputs: string[], roots: string[]): Promise<{ files: string[]; errors: FileOutcome[] }> {
  const files = new Set<string>();
  const errors: FileOutcome[] = [];
  const pattern = `**/*.{${SUPPORTED_EXTENSIONS.map((e) => e.slice(1)).join(',')}}`;
  for (const raw of inputs) {
    let p = raw;
    if (/^file:\/\//i.test(p)) p = fileURLToPath(p);
    else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) {
      errors.push({ file: raw, status: 'failed', code: 'source_forbidden', message: `${raw}: only local paths and file:// URLs are read by folio process`, ms: 0 });
      continue;
    }
    const stat = fs.statSync(p, { throwIfNoEntry: false });
    let found: string[] = [];
    if (stat?.isDirectory()) found = (await fg(pattern, { cwd: p, absolute: true, caseSensitiveMatch: false, onlyFiles: true })).sort();
    else if (stat?.isFile()) found = [path.resolve(p)];
    else if (fg.isDynamicPattern(p)) found = (await fg(p, { absolute: true, onlyFiles: true })).sort();
    if (found.length === 0) {
      errors.push({ file: raw, status: 'failed', code: 'not_found', message: `${raw}: no such file, or no supported files in it`, ms: 0 });
      continue;
    }
    for (const f of found) {
      if (!insideRoots(f, roots)) {
        errors.push({ file: f, status: 'failed', code: 'source_forbidden', message: `${f} is outside the configured roots (FOLIO_ROOTS)`, ms: 0 });
      } else files.add(f);
    }
  }
  return { files: [...files], errors };
}

export function insideRoots(file: string, roots: string[]): boolean {
  if (roots.length === 0) return true;
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    real = path.resolve(file);
  }
  return roots.some((r) => {
    const root = fs.existsSync(r) ? fs.realpathSync(r) : path.resolve(r);
    const rel = path.relative(root, real);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

export async function processInputs(
  inputs: string[],
  cfg: Config,
  database: Database,
  hooks: ProcessHooks = {},
  /** A pool to reuse (benchmarks warm one up); by default one is made and closed here. */
  sharedPool?: ExtractPool,
): Promise<Summary> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const version = pipelineVersion(cfg);
  // The OCR model is checked once, before any file is read: when it is missing or damaged the run
  // says so at once; files that need OCR then fail with its code, the others are stored.
  const problems: { code: ErrorCode; message: string }[] = [];
  if (cfg.engine !== 'text') {
    try {
      loadOcrModel(cfg.ocrModel);
    } catch (err) {
      const e = asFolioError(err);
      problems.push({ code: e.code, message: e.message });
      hooks.onProblem?.(problems.at(-1)!);
    }
  }
  const { files, errors } = await expandInputs(inputs, cfg.roots);
  const outcomes: FileOutcome[] = [...errors];
  const total = files.length + errors.length;
  hooks.onStart?.(total);
  errors.forEach((o, i) => hooks.onFile?.(o, i + 1, total));

  const blobs = new BlobStore(blobDirOf(cfg));
  const size = sharedPool?.size ?? Math.min(workerCount(cfg), Math.max(1, files.length));
  const pool = sharedPool ?? (files.length ? new ExtractPool(size, { ...cfg, blobDir: blobs.dir }) : undefined);
  // Database work goes one task at a time; the lookup before a file's extraction jumps the queue.
  const dbQueue = new SerialQueue();
  const serial = <T>(fn: () => Promise<T>, urgent = false): Promise<T> => dbQueue.run(fn, { urgent });

  // Each file's size, read once: it orders the work (below) and is checked against the limit
  // before the file is read. A file gone since is reported when reading it fails.
  const sizeOf = new Map(files.map((f) => [f, fs.statSync(f, { throwIfNoEntry: false })?.size] as const));

  const one = async (file: string): Promise<FileOutcome> => {
    const t = performance.now();
    const name = path.basename(file);
    const ms = () => Math.round(performance.now() - t);
    let source: ReturnType<typeof describeSource> | undefined;
    try {
      const bytesOnDisk = sizeOf.get(file) ?? 0;
      const uri = pathToUri(file);
      // A file over the limit is never held in memory (hashed as a stream): the same bytes
      // stored earlier (under a higher limit) are done, as for any file; otherwise it fails.
      const bytes = bytesOnDisk > cfg.maxBytes ? undefined : new Uint8Array(await fs.promises.readFile(file));
      const src = (source = bytes ? describeSource({ bytes, uri, name }) : await describeFile(file, { uri, name }));
      const existing = await serial(() => findDone(database, src.sha256, version), true);
      if (existing) return { file, status: 'skipped', documentId: existing.id, pages: existing.pageCount, ms: ms() };
      if (!bytes) throw new FolioError('too_large', `${name} has ${src.bytes} bytes; the limit is ${cfg.maxBytes} (FOLIO_MAX_BYTES)`);
      const input: Input = { bytes, uri, name };
      const res = await pool!.run(input);
      if (res.error) throw new FolioError(res.error.code, res.error.message);
      const doc = validateDocument(res.doc);
      const blob = bytes.length ? await blobs.put(bytes, src.mime) : undefined;
      const saved = await serial(() => persistDocument(database, doc, { blob, validated: true })).catch((err: unknown) => {
        // Driver errors quote the whole statement and its parameters: keep the server's reason.
        const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
        throw new FolioError('db_error', `storing ${name} failed: ${cause}`.slice(0, 2000));
      });
      const blocks = doc.pages.reduce((s, p) => s + p.blocks.length, 0);
      return { file, status: saved.inserted ? 'done' : 'skipped', documentId: saved.documentId, pages: doc.pageCount, blocks, ms: ms() };
    } catch (err) {
      const e = asFolioError(err);
      let documentId: string | undefined;
      const failed = source;
      if (failed) {
        documentId = await serial(() => recordFailure(database, { source: failed, pipelineVersion: version, code: e.code, message: e.message })).catch(() => undefined);
      }
      return { file, status: 'failed', code: e.code, message: e.message, documentId, ms: ms() };
    }
  };

  // Keep a bounded number of files in memory: enough to keep every worker busy (two jobs in its
  // hands, and two more read, hashed and looked up while the main thread stores). Big files go
  // first, so that the run does not end with one worker busy on a big file and the rest idle
  // (the summary keeps the order the files were given in).
  const queue = [...files].sort((a, b) => (sizeOf.get(b) ?? 0) - (sizeOf.get(a) ?? 0));
  let next = 0;
  let finished = errors.length;
  const lane = async () => {
    while (next < queue.length) {
      const file = queue[next++]!;
      const o = await one(file);
      outcomes.push(o);
      hooks.onFile?.(o, ++finished, total);
    }
  };
  try {
    await Promise.all(Array.from({ length: size * 4 }, lane));
  } finally {
    if (!sharedPool) await pool?.close();
  }

  const seconds = (performance.now() - t0) / 1000;
  const byFile = new Map(outcomes.map((o) => [o.file, o]));
  const ordered = [...errors, ...files.map((f) => byFile.get(f)!)];
  const errorsByCode: Summary['errors'] = {};
  for (const o of ordered) if (o.code) errorsByCode[o.code] = (errorsByCode[o.code] ?? 0) + 1;
  const processed = ordered.filter((o) => o.status === 'done');
  const pages = processed.reduce((s, o) => s + (o.pages ?? 0), 0);
  return {
    pipelineVersion: version,
    ...(problems.length ? { problems } : {}),
    database: database.kind,
    startedAt,
    seconds: Math.round(seconds * 1000) / 1000,
    files: ordered.length,
    done: processed.length,
    skipped: ordered.filter((o) => o.status === 'skipped').length,
    failed: ordered.filter((o) => o.status === 'failed').length,
    pages,
    blocks: processed.reduce((s, o) => s + (o.blocks ?? 0), 0),
    pagesPerSecond: seconds > 0 ? Math.round((pages / seconds) * 10) / 10 : 0,
    errors: errorsByCode,
    outcomes: ordered,
  };
}

/** A file's source record without reading it into memory: its head is sniffed, its bytes hashed as a stream. */
async function describeFile(file: string, at: Omit<Input, 'bytes'>): Promise<ReturnType<typeof describeSource>> {
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let headBytes = 0;
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
    if (headBytes < SNIFF_BYTES) {
      head.push(chunk.subarray(0, SNIFF_BYTES - headBytes));
      headBytes += head.at(-1)!.length;
    }
  }
  return sourceRecord(at, Buffer.concat(head), bytes, hash.digest('hex'));
}

function pathToUri(file: string): string {
  return `file://${path.resolve(file)}`;
}
