// The nightly batch: a folder of reports processed changed-only (a file whose bytes and pipeline
// version are stored already is skipped), resumable (a run killed midway is run again: what it
// finished is skipped, the rest is done), one run at a time per data folder (a lock that names
// its holder; a dead holder's lock is taken over), and a report per run in JSON and Markdown.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fg from 'fast-glob';
import type { Config } from '../schemas/config.ts';
import { FolioError } from '../schemas/errors.ts';
import type { Database } from '../db/client.ts';
import { blobDirOf, processInputs, type ProcessHooks, type Summary } from './process.ts';
import { BlobStore } from '../db/blobs.ts';
import { loadTables } from '../db/persist.ts';
import { tableToCsv } from '../db/tables.ts';
import type { Table } from '../schemas/document.ts';
import { reportHtml, type PageView } from './report-html.ts';
import { processAlive } from '../extractors/engines/llama-server.ts';
import type { Logger } from 'pino';

export interface BatchOptions {
  /** Globs (relative to each folder) of the files to take; default: every file folio reads. */
  include?: string[];
  exclude?: string[];
  /** The run fails (exit code 1) when more files than this failed. */
  maxFailed?: number;
  /**
   * local: extracted here (the embedded transport); kafka: sent to folio.ingest and stored by
   * `folio worker`s, whose folio.results events the run waits for (workers/batch.ts).
   */
  transport?: 'local' | 'kafka';
  /** Kafka's and the run's log lines (kafka transport). */
  log?: Logger;
}

export interface BatchReport {
  runId: string;
  inputs: string[];
  startedAt: string;
  finishedAt: string;
  seconds: number;
  files: number;
  processed: number;
  unchanged: number;
  failed: number;
  errors: Summary['errors'];
  pages: number;
  pagesPerSecond: number;
  tables: { document: string; file: string; table: string; caption?: string; rows: number; cols: number }[];
  slowest: { file: string; ms: number; pages?: number }[];
  failures: { file: string; code?: string; message?: string }[];
  /** Pages per second from the start to each file's end (a running mean). */
  timeline: { t: number; pagesPerSecond: number }[];
  perDocument: { file: string; document: string; pages: number }[];
  /** True when the failures are within maxFailed. */
  ok: boolean;
  pipelineVersion: string;
  /** Where the files were extracted: here (local), or by `folio worker`s through Kafka. */
  transport?: 'local' | 'kafka';
}

interface LockInfo {
  pid: number;
  host: string;
  runId: string;
  startedAt: string;
}

/**
 * Take the data folder's batch lock, or fail naming the run that holds it. A lock left by a
 * process that is gone (killed, crashed, rebooted) is taken over.
 */
export function takeBatchLock(dataDir: string, runId: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'batch.lock');
  const me: LockInfo = { pid: process.pid, host: os.hostname(), runId, startedAt: new Date().toISOString() };
  for (let tries = 0; tries < 3; tries++) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      return () => {
        try {
          const held = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
          if (held.runId === runId) fs.rmSync(file, { force: true });
        } catch {
          /* gone already */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let held: LockInfo | undefined;
      try {
        held = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
      } catch {
        /* half-written or unreadable: treated as stale */
      }
      if (held && (held.host !== me.host || processAlive(held.pid))) {
        throw new FolioError('batch_locked', `batch run ${held.runId} (pid ${held.pid} on ${held.host}, since ${held.startedAt}) holds ${file}`);
      }
      // Stale: its process is gone. Removed and taken (another taker racing us gets EEXIST).
      fs.rmSync(file, { force: true });
    }
  }
  throw new FolioError('batch_locked', `could not take ${file}`);
}

/** The files of a batch: folders walked with the include/exclude globs, files and globs as given, a manifest's list. */
export async function batchFiles(inputs: string[], o: BatchOptions): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    if (input.endsWith('.json') && fs.existsSync(input) && fs.statSync(input).isFile()) {
      // A manifest: {"files": ["a.pdf", ...]} or ["a.pdf", ...], paths relative to it.
      const m = JSON.parse(fs.readFileSync(input, 'utf8')) as string[] | { files?: string[] };
      const list = Array.isArray(m) ? m : (m.files ?? []);
      out.push(...list.map((f) => path.resolve(path.dirname(input), f)));
      continue;
    }
    if (fs.existsSync(input) && fs.statSync(input).isDirectory() && (o.include?.length || o.exclude?.length)) {
      const found = await fg(o.include?.length ? o.include : ['**/*'], { cwd: input, ignore: o.exclude ?? [], absolute: true, onlyFiles: true, dot: false });
      out.push(...found.sort());
      continue;
    }
    out.push(input);
  }
  return out;
}

/** A batch through Kafka reports from the workers' database: it needs its address. */
export function assertKafkaBatch(cfg: Pick<Config, 'databaseUrl'>): void {
  if (!cfg.databaseUrl) {
    throw new Error(
      'folio batch through Kafka needs the PostgreSQL server the workers store into: set DATABASE_URL (or run without KAFKA_BROKERS, or with --transport local, to process here)',
    );
  }
}

/** Run a batch: lock, process (changed only), report. The report is written under dataDir/reports/<runId>/. */
export async function runBatch(inputs: string[], cfg: Config, db: Database, o: BatchOptions = {}, hooks: ProcessHooks = {}): Promise<BatchReport> {
  const startedAt = new Date();
  const runId = `${startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${crypto.randomBytes(3).toString('hex')}`;
  const release = takeBatchLock(cfg.dataDir, runId);
  try {
    const files = await batchFiles(inputs, o);
    const t0 = performance.now();
    let pagesSoFar = 0;
    const timeline: BatchReport['timeline'] = [];
    const timed: ProcessHooks = {
      ...hooks,
      onFile: (x, done, total) => {
        if (x.status === 'done') pagesSoFar += x.pages ?? 0;
        const t = (performance.now() - t0) / 1000;
        timeline.push({ t: Math.round(t * 100) / 100, pagesPerSecond: t > 0 ? Math.round((pagesSoFar / t) * 100) / 100 : 0 });
        hooks.onFile?.(x, done, total);
      },
    };
    let s: Summary;
    if (o.transport === 'kafka') {
      // kafkajs loads only for a batch that uses it.
      const { processThroughKafka } = await import('../workers/batch.ts');
      const log = o.log ?? (await import('pino')).default({ level: 'silent' });
      s = await processThroughKafka(files, cfg, timed, { runId, log, options: cfg.engine !== 'auto' ? { engine: cfg.engine } : {} });
    } else {
      s = await processInputs(files, cfg, db, timed);
    }
    const done = s.outcomes.filter((x) => x.status === 'done' && x.documentId);
    const tables: BatchReport['tables'] = [];
    if (done.length) {
      const ids = done.map((x) => x.documentId!);
      const rows = await db.query(
        `select t.document_id::text as document, d.filename as file, t.table_key as table, t.caption, t.row_count as rows, t.col_count as cols
           from tables t join documents d on d.id = t.document_id where t.document_id = any($1::uuid[]) order by d.filename, t.table_no`,
        [ids],
      );
      for (const r of rows.rows) tables.push({ document: String(r.document), file: String(r.file), table: String(r.table), ...(r.caption ? { caption: String(r.caption) } : {}), rows: Number(r.rows), cols: Number(r.cols) });
    }
    const report: BatchReport = {
      runId,
      inputs,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      seconds: s.seconds,
      files: s.files,
      processed: s.done,
      unchanged: s.skipped,
      failed: s.failed,
      errors: s.errors,
      pages: s.pages,
      pagesPerSecond: s.pagesPerSecond,
      tables,
      slowest: [...s.outcomes].filter((x) => x.status === 'done').sort((a, b) => b.ms - a.ms).slice(0, 10).map((x) => ({ file: x.file, ms: x.ms, ...(x.pages !== undefined ? { pages: x.pages } : {}) })),
      failures: s.outcomes.filter((x) => x.status === 'failed').map((x) => ({ file: x.file, code: x.code, message: x.message })),
      timeline,
      perDocument: done.map((x) => ({ file: x.file, document: x.documentId!, pages: x.pages ?? 0 })),
      ok: s.failed <= (o.maxFailed ?? 0),
      pipelineVersion: s.pipelineVersion,
      transport: o.transport ?? 'local',
    };
    await writeReport(cfg, db, report);
    return report;
  } finally {
    release();
  }
}

/** Where a run's report lives, and the stable paths of the latest one. */
export function reportPaths(dataDir: string, runId: string) {
  const root = path.join(dataDir, 'reports');
  const dir = path.join(root, runId);
  return {
    dir,
    json: path.join(dir, 'report.json'),
    md: path.join(dir, 'report.md'),
    html: path.join(dir, 'report.html'),
    latestJson: path.join(root, 'latest.json'),
    latestMd: path.join(root, 'latest.md'),
    latestHtml: path.join(root, 'latest.html'),
  };
}

/** Pages drawn in the HTML report at most (the first two of each processed document). */
const MAX_REPORT_PAGES = 60;

/**
 * Write a run's report: JSON, Markdown, and the HTML page (with each table's rows as CSV beside
 * it and page thumbnails from the database); the latest at stable paths.
 */
export async function writeReport(cfg: Config, db: Database, r: BatchReport): Promise<void> {
  const p = reportPaths(cfg.dataDir, r.runId);
  fs.mkdirSync(path.join(p.dir, 'tables'), { recursive: true });
  fs.writeFileSync(p.json, JSON.stringify(r, null, 2));
  fs.writeFileSync(p.md, reportMarkdown(r));
  const docs = new Map<string, Table[]>();
  const csvOf = new Map<string, string>();
  for (const t of r.tables) {
    try {
      const list = docs.get(t.document) ?? (await loadTables(db, t.document));
      docs.set(t.document, list);
      const table = list.find((x) => x.id === t.table);
      if (!table) continue;
      const rel = `tables/${t.document.slice(0, 8)}-${t.table}.csv`;
      fs.writeFileSync(path.join(p.dir, rel), tableToCsv(table));
      csvOf.set(`${t.document}/${t.table}`, rel);
    } catch {
      /* a document removed since: its table has no link */
    }
  }
  const blobs = new BlobStore(blobDirOf(cfg));
  const views: PageView[] = [];
  for (const d of r.perDocument) {
    if (views.length >= MAX_REPORT_PAGES) break;
    const id = d.document;
    const pages = await db.query(`select page_no, width, height, thumbnail from pages where document_id = $1 and page_no <= 2 order by page_no`, [id]);
    const blocks = await db.query(`select page_no, type, x0, y0, x1, y1 from blocks where document_id = $1 and page_no <= 2 order by reading_order`, [id]);
    for (const pg of pages.rows) {
      let thumbnail: string | undefined;
      if (pg.thumbnail) {
        try {
          const key = String(pg.thumbnail);
          thumbnail = `data:image/${key.endsWith('.webp') ? 'webp' : 'png'};base64,${(await blobs.get(key)).toString('base64')}`;
        } catch {
          /* blob gone */
        }
      }
      views.push({
        file: d.file,
        page: Number(pg.page_no),
        width: Number(pg.width),
        height: Number(pg.height),
        ...(thumbnail ? { thumbnail } : {}),
        blocks: blocks.rows.filter((b) => b.page_no === pg.page_no).map((b) => ({ type: String(b.type), x0: Number(b.x0), y0: Number(b.y0), x1: Number(b.x1), y1: Number(b.y1) })),
      });
    }
  }
  fs.writeFileSync(p.html, reportHtml(r, views, (t) => csvOf.get(`${t.document}/${t.table}`)));
  // The latest report at a stable path (written whole, then renamed into place; its CSV links
  // point into the run's folder).
  for (const [from, to] of [[p.json, p.latestJson], [p.md, p.latestMd], [p.html, p.latestHtml]] as const) {
    let text = fs.readFileSync(from, 'utf8');
    if (to === p.latestHtml) text = text.replaceAll('href="tables/', `href="${r.runId}/tables/`);
    fs.writeFileSync(`${to}.tmp`, text);
    fs.renameSync(`${to}.tmp`, to);
  }
}

/** The run as Markdown: counts, failures with their codes, tables found, the slowest files. */
export function reportMarkdown(r: BatchReport): string {
  const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|').replace(/\s+/g, ' ');
  const lines = [
    `# folio batch ${r.runId}`,
    '',
    `${r.startedAt} – ${r.finishedAt} (${r.seconds.toFixed(1)} s), ${r.pipelineVersion}${r.transport === 'kafka' ? ', through Kafka' : ''}`,
    '',
    `| files | processed | unchanged | failed | pages | pages/s | tables |`,
    `| --- | --- | --- | --- | --- | --- | --- |`,
    `| ${r.files} | ${r.processed} | ${r.unchanged} | ${r.failed} | ${r.pages} | ${r.pagesPerSecond} | ${r.tables.length} |`,
  ];
  if (r.failures.length) {
    lines.push('', '## Failed', '', '| file | code | message |', '| --- | --- | --- |', ...r.failures.map((f) => `| ${cell(f.file)} | ${cell(f.code)} | ${cell(f.message)} |`));
  }
  if (r.tables.length) {
    lines.push('', '## Tables found', '', '| file | table | caption | rows x cols | rows in SQL |', '| --- | --- | --- | --- | --- |');
    for (const t of r.tables) lines.push(`| ${cell(path.basename(t.file))} | ${t.table} | ${cell(t.caption)} | ${t.rows} x ${t.cols} | \`folio export ${t.document.slice(0, 8)} --tables --table ${t.table} --format csv\` |`);
  }
  if (r.slowest.length) {
    lines.push('', '## Slowest files', '', '| file | seconds | pages |', '| --- | --- | --- |', ...r.slowest.map((x) => `| ${cell(path.basename(x.file))} | ${(x.ms / 1000).toFixed(2)} | ${x.pages ?? ''} |`));
  }
  return lines.join('\n') + '\n';
}

/** A few lines for a cron mail. */
export function cronSummary(r: BatchReport, reportFile: string): string {
  const status = r.ok ? 'OK' : 'FAILED';
  const errors = Object.entries(r.errors).map(([c, n]) => `${c} ${n}`).join(', ');
  return [
    `folio batch ${status}: ${r.files} files, ${r.processed} processed, ${r.unchanged} unchanged, ${r.failed} failed${errors ? ` (${errors})` : ''}; ${r.pages} pages, ${r.tables.length} tables in ${r.seconds.toFixed(1)} s`,
    `report: ${reportFile}`,
  ].join('\n') + '\n';
}
