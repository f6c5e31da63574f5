// `folio process`: expand paths/dirs/globs, extract each file in the worker pool, persist each
// Document in its own transaction (or record its failure), and summarise the run. One bad file
// never stops the others.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fg from 'fast-glob';
import type { Config } from '../schemas/config.ts';
import { workerCount } from '../schemas/config.ts';
import { asFolioError, type ErrorCode } from '../schemas/errors.ts';
import { BlobStore } from '../db/blobs.ts';
import type { Database } from '../db/client.ts';
import { loadOcrModel } from '../extractors/engines/index.ts';
import { startVlm, type RunConfig, type VlmHooks, type VlmRuntime } from './vlm.ts';
import { pipelineVersion } from './extract.ts';
import { insideRoots } from './fetch.ts';
import { handleIngest, type HandleContext } from './handle.ts';
import { ExtractPool } from './pool.ts';
import { SerialQueue } from './serial.ts';
import { SUPPORTED_EXTENSIONS } from './sniff.ts';

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
  /** The vision model's build, download and server lines. */
  vlm?: VlmHooks;
  /** A vision model already started (benchmarks); by default one is started here when configured and stopped at the end. */
  vlmRuntime?: VlmRuntime;
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
  // The vision model, when configured, is checked and started before any file is read: a missing
  // or mismatched model file stops the run here with its reason.
  const vlm = hooks.vlmRuntime ?? (await startVlm(cfg, hooks.vlm));
  try {
    return await processWith(inputs, vlm ? { ...cfg, vlm: vlm.settings } : cfg, database, hooks, sharedPool, t0, startedAt);
  } finally {
    if (!hooks.vlmRuntime) await vlm?.close();
  }
}

async function processWith(inputs: string[], cfg: RunConfig, database: Database, hooks: ProcessHooks, sharedPool: ExtractPool | undefined, t0: number, startedAt: string): Promise<Summary> {
  const version = pipelineVersion(cfg);
  // The OCR model is checked once, before any file is read: when it is missing or damaged the run
  // says so at once; files that need OCR then fail with its code, the others are stored.
  const problems: { code: ErrorCode; message: string }[] = [];
  if (cfg.engine !== 'text' && cfg.engine !== 'vlm') {
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

  const ctx: HandleContext = {
    cfg,
    db: database,
    pool: pool!,
    blobs,
    serial,
    // The files were named by the user (and checked against FOLIO_ROOTS when it is set).
    rules: { roots: cfg.roots, confine: false, blobDir: blobs.dir, httpAllow: [], maxBytes: cfg.maxBytes, timeoutMs: cfg.fetchTimeoutMs },
  };
  const one = async (file: string): Promise<FileOutcome> => {
    const h = await handleIngest(ctx, { docId: file, uri: pathToFileURL(file).href, name: path.basename(file), options: {} });
    const { documentId, pages, blocks, code, message, ms } = h;
    // Without a fan-out rule a document is never split: done, skipped or failed.
    const status = h.status === 'split' || h.status === 'pending' ? 'failed' : h.status;
    return { file, status, ...(documentId ? { documentId } : {}), ...(pages !== undefined ? { pages } : {}), ...(blocks !== undefined ? { blocks } : {}), ...(code ? { code, message } : {}), ms };
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

  const byFile = new Map(outcomes.map((o) => [o.file, o]));
  const ordered = [...errors, ...files.map((f) => byFile.get(f)!)];
  return summarize(ordered, { version, database: database.kind, startedAt, t0, problems });
}

/** A run's summary from its outcomes (in the order the files were given). */
export function summarize(
  ordered: FileOutcome[],
  run: { version: string; database: string; startedAt: string; t0: number; problems?: { code: ErrorCode; message: string }[] },
): Summary {
  const seconds = (performance.now() - run.t0) / 1000;
  const errorsByCode: Summary['errors'] = {};
  for (const o of ordered) if (o.code) errorsByCode[o.code] = (errorsByCode[o.code] ?? 0) + 1;
  const processed = ordered.filter((o) => o.status === 'done');
  const pages = processed.reduce((s, o) => s + (o.pages ?? 0), 0);
  return {
    pipelineVersion: run.version,
    ...(run.problems?.length ? { problems: run.problems } : {}),
    database: run.database,
    startedAt: run.startedAt,
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
