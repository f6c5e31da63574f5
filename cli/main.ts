// The `folio` command.
import fs from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
// Only what every command needs is loaded at start-up: `folio --help` answers without loading
// the database, pdf.js, sharp or zod. Each command imports what it uses when it runs.
import type { Logger } from 'pino';
import type { Config } from '../schemas/config.ts';
import type { BatchReport } from '../pipelines/batch.ts';
import type { Database } from '../db/client.ts';
import type { Summary } from '../pipelines/process.ts';
import type { VlmHooks } from '../pipelines/vlm.ts';
import type { VLM_TASKS } from '../schemas/vlm.ts';
import type { MessageKind } from '../schemas/messages.ts';
import { asFolioError, FolioError } from '../schemas/errors.ts';
import { PIPELINE_VERSION } from '../pipelines/version.ts';

/** The Kafka messages and vision-model tasks `folio schema` prints (checked against their schemas by type). */
const MESSAGE_KINDS = ['ingest', 'pages', 'results', 'dlq'] as const satisfies readonly MessageKind[];
const TASKS = ['page', 'table', 'chart'] as const satisfies readonly (keyof typeof VLM_TASKS)[];
type Exhaustive<T extends never> = T;
export type CliListsComplete = Exhaustive<Exclude<MessageKind, (typeof MESSAGE_KINDS)[number]> | Exclude<keyof typeof VLM_TASKS, (typeof TASKS)[number]>>;

async function logger(level: string): Promise<Logger> {
  const { default: pino } = await import('pino');
  return pino({ level, base: undefined }, pino.destination(2));
}

async function progressBar(format: string) {
  const { default: cliProgress } = await import('cli-progress');
  return new cliProgress.SingleBar({ format, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
}

interface CommonFlags {
  db?: string;
  dataDir?: string;
  logLevel?: string;
}

async function config(opts: CommonFlags): Promise<Config> {
  const flags = opts as CommonFlags & Record<string, unknown>;
  const { loadConfig } = await import('../schemas/config.ts');
  return loadConfig({
    databaseUrl: flags.db,
    dataDir: flags.dataDir,
    logLevel: flags.logLevel,
    workers: flags.workers,
    password: flags.password,
    maxPages: flags.maxPages,
    maxPixels: flags.maxPixels,
    render: flags.render,
    dpi: flags.dpi,
    timeoutMs: flags.timeout,
    engine: flags.engine,
    ocrModel: flags.ocrModel,
    ocrDpi: flags.ocrDpi,
    vlmModel: flags.vlmModel,
    vlmMmproj: flags.vlmMmproj,
    vlmUrl: flags.vlmUrl,
  });
}

/** Options naming the vision model (each also an environment variable). */
const vlmOptions = (c: Command) =>
  c
    .option('--vlm-model <file|uri>', 'vision model GGUF, by path or hf: URI (default: FOLIO_VLM_MODEL)')
    .option('--vlm-mmproj <file|uri>', 'its vision projector (mmproj) GGUF (default: FOLIO_VLM_MMPROJ)')
    .option('--vlm-url <url>', 'an OpenAI-compatible endpoint to use instead of running llama-server (default: FOLIO_VLM_URL)');

/** What starting the vision model prints: build progress, downloads, and llama-server's lines at debug level. */
function vlmHooks(log: Logger): VlmHooks {
  let shown = -10;
  return {
    onBuild: (p) => {
      if (p.stage === 'build' && p.percent !== undefined && p.percent < shown + 10) return;
      if (p.percent !== undefined) shown = p.percent;
      if (p.stage !== 'cached') log.info({ stage: p.stage, percent: p.percent }, 'building llama-server (once per llama.cpp version)');
    },
    onDownload: (file, done, total) => log.info({ file, done, total }, 'downloading model'),
    onLog: (line) => log.debug({ llama: line }),
  };
}

/** Open the database for one command (Drizzle loaded unless `orm` is false), run it, close. */
async function withDb<T>(cfg: Config, fn: (db: Database) => Promise<T>, orm = true): Promise<T> {
  const { openDatabase } = await import('../db/client.ts');
  const db = await openDatabase({ url: cfg.databaseUrl, pgliteDir: path.join(cfg.dataDir, 'db'), orm });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const common = (c: Command) =>
  c
    .option('--db <url>', 'postgres:// URL (default: DATABASE_URL, else embedded PGlite in the data dir)')
    .option('--data-dir <dir>', 'data folder for the embedded database and blobs (default: FOLIO_DATA_DIR or .folio)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|silent');

const kafkaOptions = (c: Command) =>
  c
    .option('--brokers <list>', 'Kafka brokers, host:port[,host:port] (default: KAFKA_BROKERS)')
    .option('--prefix <prefix>', 'topic name prefix (default: FOLIO_KAFKA_PREFIX or "folio.")');

const engineOption = () =>
  new Option('--engine <engine>', 'auto: text layer where usable, OCR elsewhere (and the vision model for charts when one is configured); text: never OCR; ocr: OCR every page; vlm: the vision model reads every page').choices(['auto', 'text', 'ocr', 'vlm']);

const program = new Command('folio')
  .description('Turn PDFs, scans and images into validated Documents you can query in SQL.')
  .version(PIPELINE_VERSION)
  .showHelpAfterError()
  // A command's options are its own: in `folio tables materialize --data-dir x` the option goes to
  // materialize, not to tables (which has the same options).
  .enablePositionalOptions();

common(
  vlmOptions(program
    .command('process')
    .description('extract files, directories or globs and store them in the database')
    .argument('<inputs...>', 'files, directories (searched recursively) or glob patterns')
    .option('--workers <n>', 'extraction threads (default: one per core)')
    .option('--password <pw>', 'password for encrypted PDFs')
    .option('--max-pages <n>', 'page limit per document')
    .option('--max-pixels <n>', 'pixel limit per image or rendered page')
    .option('--timeout <ms>', 'time limit per document')
    .addOption(new Option('--render <which>', 'pages to rasterize and store').choices(['none', 'needs-ocr', 'all']))
    .option('--dpi <n>', 'resolution of stored page images')
    .addOption(engineOption())
    .option('--ocr-model <file>', 'Tesseract model (.traineddata[.gz]) instead of the English one installed with folio')
    .option('--ocr-dpi <n>', 'resolution PDF pages are rendered at for OCR')
    .option('--json', 'print the summary as JSON')
    .option('--summary <file>', 'also write the summary as JSON to this file')),
).action(async (inputs: string[], flags: CommonFlags & Record<string, unknown>) => {
  const cfg = await config(flags);
  const log = await logger(cfg.logLevel);
  const tty = process.stderr.isTTY && !flags.json;
  const bar = tty ? await progressBar('folio {bar} {value}/{total} files | {file}') : undefined;
  const { processInputs } = await import('../pipelines/process.ts');
  const summary = await withDb(cfg, (db) =>
    processInputs(inputs, cfg, db, {
      vlm: vlmHooks(log),
      onProblem: (p) => log.error({ code: p.code }, `${p.message}: files that need OCR will fail with ${p.code}`),
      onStart: (total) => {
        bar?.start(total, 0, { file: '' });
        if (!bar) log.info({ files: total, database: db.kind }, 'processing');
      },
      onFile: (o, done, total) => {
        if (bar) bar.update(done, { file: path.basename(o.file) });
        else if (o.status === 'failed') log.warn({ file: o.file, code: o.code, done, total }, o.message ?? 'failed');
        else log.info({ file: o.file, status: o.status, pages: o.pages, ms: o.ms, done, total }, o.status);
      },
    }),
  );
  bar?.stop();
  if (flags.summary) fs.writeFileSync(String(flags.summary), JSON.stringify(summary, null, 2));
  if (flags.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else process.stdout.write(formatSummary(summary));
  if (summary.failed > 0) process.exitCode = 1;
});

common(
  kafkaOptions(program
    .command('batch')
    .description('process a folder (or a manifest.json) of reports: changed files only, resumable, one run at a time; writes a report per run')
    .argument('[inputs...]', 'folders, files, globs, or a manifest.json ({"files": [...]})')
    .option('--include <globs>', 'comma-separated globs of the files to take in folders (default: every file folio reads)')
    .option('--exclude <globs>', 'comma-separated globs to leave out')
    .option('--max-failed <n>', 'exit code 1 when more files than this failed (default 0)', '0')
    .option('--workers <n>', 'extraction threads (default: one per core)')
    .option('--timeout <ms>', 'time limit per document')
    .addOption(engineOption())
    .addOption(new Option('--transport <how>', 'auto: through Kafka when KAFKA_BROKERS is set (folio worker processes extract), else here; local; kafka').choices(['auto', 'local', 'kafka']).default('auto'))
    .option('--wait-timeout <s>', 'through Kafka: seconds to wait for the workers\' results (default: FOLIO_BATCH_WAIT_MS, 6 h)')
    .option('--report-only <runId>', "write a stored run's report (Markdown, HTML) again from its JSON and the database, and print its summary")
    .option('--json', 'print the report as JSON')),
).action(async (inputs: string[], flags: CommonFlags & Record<string, unknown>) => {
  const cfg = await kafkaConfig(flags);
  const log = await logger(cfg.logLevel);
  const { assertKafkaBatch, cronSummary, reportPaths, runBatch, writeReport } = await import('../pipelines/batch.ts');
  if (flags.reportOnly) {
    const p = reportPaths(cfg.dataDir, String(flags.reportOnly));
    const r = JSON.parse(fs.readFileSync(p.json, 'utf8')) as BatchReport;
    await withDb(cfg, (db) => writeReport(cfg, db, r));
    process.stdout.write(flags.json ? JSON.stringify(r, null, 2) + '\n' : cronSummary(r, p.html));
    return;
  }
  if (!inputs.length) throw new FolioError('not_found', 'folio batch needs a folder, files or a manifest.json');
  const transport = flags.transport === 'kafka' || (flags.transport === 'auto' && cfg.kafkaBrokers.length > 0) ? 'kafka' : 'local';
  if (transport === 'kafka') assertKafkaBatch(cfg);
  const list = (v: unknown) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined);
  const tty = process.stderr.isTTY && !flags.json;
  const bar = tty ? await progressBar('folio batch {bar} {value}/{total} files | {file}') : undefined;
  const report = await withDb(cfg, (db) =>
    runBatch(inputs, cfg, db, { include: list(flags.include), exclude: list(flags.exclude), maxFailed: Number(flags.maxFailed), transport, log }, {
      vlm: vlmHooks(log),
      onStart: (total) => (bar ? bar.start(total, 0, { file: '' }) : log.info({ files: total }, 'batch')),
      onFile: (o, done, total) => (bar ? bar.update(done, { file: path.basename(o.file) }) : log.info({ file: o.file, status: o.status, code: o.code, done, total }, o.status)),
    }),
  );
  bar?.stop();
  process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : cronSummary(report, reportPaths(cfg.dataDir, report.runId).html));
  if (!report.ok) process.exitCode = 1;
});

common(
  vlmOptions(program
    .command('extract')
    .description('extract one file and print the validated Document (no database)')
    .argument('<file>')
    .addOption(new Option('--format <fmt>', 'output format').choices(['json', 'md']).default('json'))
    .option('--password <pw>', 'password for an encrypted PDF')
    .option('--max-pages <n>', 'page limit')
    .option('--max-pixels <n>', 'pixel limit')
    .addOption(engineOption())
    .option('--ocr-model <file>', 'Tesseract model (.traineddata[.gz]) instead of the English one installed with folio')
    .option('--ocr-dpi <n>', 'resolution PDF pages are rendered at for OCR')
    .option('--schema <file>', 'fill this JSON Schema from the document with the model (the extract task) and print the JSON')
    .option('--store', 'with --schema: also keep the result in the database (table extractions)')),
).action(async (file: string, flags: CommonFlags & Record<string, unknown>) => {
  const cfg = { ...(await config(flags)), render: 'none' as const };
  const log = await logger(cfg.logLevel);
  const bytes = new Uint8Array(fs.readFileSync(file));
  const input = { bytes, uri: `file://${path.resolve(file)}`, name: path.basename(file) };
  if (flags.schema) {
    const { extractWithSchema, storeExtraction } = await import('../pipelines/schema-extract.ts');
    const got = await extractWithSchema(input, String(flags.schema), cfg, vlmHooks(log));
    const id = flags.store ? await withDb(cfg, (db) => storeExtraction(db, got)) : undefined;
    process.stdout.write(JSON.stringify(id ? { id, ...got } : got, null, 2) + '\n');
    return;
  }
  const [{ startVlm }, { extractDocument }, { toMarkdown }] = await Promise.all([
    import('../pipelines/vlm.ts'),
    import('../pipelines/extract.ts'),
    import('../pipelines/markdown.ts'),
  ]);
  const vlm = await startVlm(cfg, vlmHooks(log));
  try {
    const doc = await extractDocument(input, vlm ? { ...cfg, vlm: vlm.settings } : cfg);
    process.stdout.write(flags.format === 'md' ? toMarkdown(doc) : JSON.stringify(doc, null, 2) + '\n');
  } finally {
    await vlm?.close();
  }
});

common(
  program
    .command('query')
    .description('run SQL against the folio database and print the rows')
    .argument('<sql>')
    .option('--json', 'print rows as JSON'),
).action(async (sqlText: string, flags: CommonFlags & { json?: boolean }) => {
  const cfg = await config(flags);
  const res = await withDb(cfg, (db) => db.query(sqlText), false);
  if (flags.json) process.stdout.write(JSON.stringify(res.rows, null, 2) + '\n');
  else process.stdout.write(formatRows(res.fields, res.rows));
});

common(
  program
    .command('export')
    .description('print a stored Document, or its tables (--tables)')
    .argument('<docId>', 'document id (or a unique prefix)')
    .addOption(new Option('--format <fmt>', 'output format (csv: tables only)').choices(['json', 'md', 'csv']).default('json'))
    .option('--tables', "print the document's tables instead of the whole Document")
    .option('--table <id>', 'only this table: its key in the Document (t1) or its id as `folio tables` lists it; implies --tables'),
).action(async function (this: Command, id: string, flags: CommonFlags & { format: string; tables?: boolean; table?: string }) {
  const cfg = await config(flags);
  const onlyTables = Boolean(flags.tables || flags.table);
  if (flags.format === 'csv' && !onlyTables) this.error('error: --format csv exports tables: add --tables (or --table <id>)');
  const [{ findDocument, loadDocument }, { resolveTableKey, tableToCsv, tableToMarkdown }, { toMarkdown }] = await Promise.all([
    import('../db/persist.ts'),
    import('../db/tables.ts'),
    import('../pipelines/markdown.ts'),
  ]);
  if (!onlyTables) {
    const doc = await withDb(cfg, (db) => loadDocument(db, id));
    process.stdout.write(flags.format === 'md' ? toMarkdown(doc) : JSON.stringify(doc, null, 2) + '\n');
    return;
  }
  const { doc, key } = await withDb(cfg, async (db) => {
    const d = await findDocument(db, id);
    const key = flags.table === undefined ? undefined : await resolveTableKey(db, d.id, flags.table);
    return { doc: await loadDocument(db, d.id), key };
  });
  const tables = key === undefined ? doc.tables : doc.tables.filter((t) => t.id === key);
  if (flags.format === 'json') {
    process.stdout.write(JSON.stringify(tables, null, 2) + '\n');
  } else if (flags.format === 'md') {
    const pages = (t: (typeof tables)[number]) => [...new Set(t.regions.map((r) => r.page))].join(', ');
    process.stdout.write(tables.map((t) => `<!-- table ${t.id}, page ${pages(t)} -->\n\n${tableToMarkdown(t)}\n`).join('\n'));
  } else {
    // CSV holds one table: the document's only one, or the one --table names.
    if (tables.length === 0) this.error(`error: document ${id} has no tables`);
    if (tables.length > 1) {
      this.error(
        `error: document ${id} has ${tables.length} tables (${tables.map((t) => t.id).join(', ')}); CSV holds one: choose it with --table, or use --format json`,
      );
    }
    process.stdout.write(tableToCsv(tables[0]!));
  }
});

const tablesCmd = common(
  program
    .command('tables')
    .description('list the stored tables (of one document, or of all); `tables materialize` makes SQL views of them')
    .argument('[docId]', 'document id (or a unique prefix)')
    .option('--json', 'print the list as JSON'),
);
tablesCmd.action(async (docId: string | undefined, flags: CommonFlags & { json?: boolean }) => {
  const cfg = await config(flags);
  const { listTables } = await import('../db/tables.ts');
  const list = await withDb(cfg, (db) => listTables(db, docId));
  if (flags.json) {
    process.stdout.write(JSON.stringify(list, null, 2) + '\n');
    return;
  }
  const rows = list.map((t) => ({
    table: t.id,
    key: t.key,
    document: `${t.documentId.slice(0, 8)} ${t.filename}`,
    pages: pageRange(t.pages),
    size: `${t.rowCount} x ${t.colCount}`,
    method: t.method,
    header: t.columns.join(' | '),
  }));
  process.stdout.write(formatRows(['table', 'key', 'document', 'pages', 'size', 'method', 'header'], rows));
});

common(
  tablesCmd
    .command('materialize')
    .description('create (or re-create) a typed SQL view of a table, or of every table (--all); prints the view names')
    .argument('[tableId]', 'table id (or a unique prefix), as `folio tables` lists it')
    .option('--all', 'every stored table')
    .option('--json', 'print the views and their columns as JSON'),
).action(async function (this: Command, tableId: string | undefined, flags: CommonFlags & { all?: boolean; json?: boolean }) {
  if (Boolean(tableId) === Boolean(flags.all)) this.error('error: name one table id, or --all');
  const cfg = await config(flags);
  const { materializeAll, materializeTable } = await import('../db/tables.ts');
  const made = await withDb(cfg, (db) => (flags.all ? materializeAll(db) : materializeTable(db, tableId!).then((m) => [m])));
  if (flags.json) {
    process.stdout.write(JSON.stringify(made, null, 2) + '\n');
    return;
  }
  for (const m of made) {
    process.stdout.write(`${m.view}\t${m.tableId}\t${m.columns.map((c) => `${c.name} ${c.type}`).join(', ')}\n`);
  }
});

/** 1, 2, 3, 5 -> "1-3, 5" */
export function pageRange(pages: number[]): string {
  const out: string[] = [];
  const sorted = [...pages].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j;
  }
  return out.join(', ');
}

const dbCmd = program.command('db').description('database maintenance');
common(dbCmd.command('migrate').description('apply pending migrations')).action(async (flags: CommonFlags) => {
  const cfg = await config(flags);
  await withDb(cfg, async (db) => {
    process.stdout.write(`migrated ${db.kind} database\n`);
  });
});

const vlmCmd = program.command('vlm').description('the local vision model runtime (llama-server)');
vlmCmd
  .command('build')
  .description("build llama-server from the llama.cpp source node-llama-cpp ships (once per llama.cpp version; cached) and print its path")
  .option('--jobs <n>', 'parallel compile jobs (default: one per core)')
  .action(async (flags: { jobs?: string }) => {
    const log = await logger('info');
    const { ensureServer } = await import('../extractors/engines/llama-server.ts');
    const bin = await ensureServer({ jobs: flags.jobs ? Number(flags.jobs) : undefined, onProgress: vlmHooks(log).onBuild });
    process.stdout.write(bin + '\n');
  });

common(
  vlmOptions(
    program
      .command('models')
      .description('list the configured models and whether each file is usable')
      .option('--json', 'print the list as JSON'),
  ),
).action(async (flags: CommonFlags & Record<string, unknown>) => {
  const cfg = await config(flags);
  const { listModels } = await import('../pipelines/vlm.ts');
  const rows = await listModels(cfg);
  if (flags.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else process.stdout.write(formatRows(['role', 'model', 'status', 'detail'], rows as unknown as Record<string, unknown>[]));
  if (rows.some((r) => r.status !== 'ok' && r.status !== 'not set')) process.exitCode = 1;
});

program
  .command('schema')
  .description('print the JSON Schema of the Document, or of a Kafka message')
  .addOption(new Option('--message <kind>', 'a Kafka message instead: ingest, pages, results or dlq').choices(MESSAGE_KINDS))
  .addOption(new Option('--task <task>', "what the vision model is asked to answer for a task instead: page, table or chart").choices(TASKS))
  .action(async (flags: { message?: MessageKind; task?: keyof typeof VLM_TASKS }) => {
    const [{ taskJsonSchema }, { messageJsonSchema }, { documentJsonSchema }] = await Promise.all([
      import('../schemas/vlm.ts'),
      import('../schemas/messages.ts'),
      import('../schemas/document.ts'),
    ]);
    const schema = flags.task ? taskJsonSchema(flags.task) : flags.message ? messageJsonSchema(flags.message) : documentJsonSchema();
    process.stdout.write(JSON.stringify(schema, null, 2) + '\n');
  });

common(
  kafkaOptions(
    program
      .command('ingest')
      .description('store files once in the blob store and queue them on the ingest topic for `folio worker`')
      .argument('<inputs...>', 'files, directories (searched recursively) or glob patterns')
      .addOption(engineOption())
      .option('--password <pw>', 'password for encrypted PDFs')
      .option('--ocr-dpi <n>', 'resolution PDF pages are rendered at for OCR')
      .option('--json', 'print the summary as JSON'),
  ),
).action(async (inputs: string[], flags: CommonFlags & Record<string, unknown>) => {
  const cfg = await kafkaConfig(flags);
  const log = await logger(cfg.logLevel);
  const { IngestOptions } = await import('../schemas/messages.ts');
  const options = IngestOptions.parse({
    ...(flags.engine ? { engine: flags.engine } : {}),
    ...(flags.password ? { password: flags.password } : {}),
    ...(flags.ocrDpi ? { ocrDpi: Number(flags.ocrDpi) } : {}),
  });
  // kafkajs loads only for the commands that use it.
  const { ingestInputs } = await import('../workers/ingest.ts');
  const summary = await ingestInputs(inputs, cfg, {
    log,
    options,
    onFile: (o) => {
      if (flags.json) return;
      if (o.status === 'queued') process.stdout.write(`queued ${o.docId} ${o.file} (${o.size} bytes, sha256 ${o.sha256!.slice(0, 12)})\n`);
      else process.stdout.write(`FAILED ${o.code}: ${o.file}: ${o.message}\n`);
    },
  });
  if (flags.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else process.stdout.write(`folio ingest: ${summary.files} file(s) in ${summary.seconds.toFixed(1)} s: ${summary.queued} queued on ${summary.topic} (${summary.bytes} bytes), ${summary.failed} failed\n`);
  if (summary.failed > 0) process.exitCode = 1;
});

common(
  kafkaOptions(
    program
      .command('worker')
      .description('consume the ingest topic and store every document once in PostgreSQL (runs until SIGTERM or Ctrl-C)')
      .option('--workers <n>', 'extraction threads (default: one per core)')
      .option('--group <id>', 'consumer group (default: FOLIO_KAFKA_GROUP or folio-workers)')
      .option('--worker-id <id>', 'this worker\'s name (default: FOLIO_WORKER_ID, else host-pid); keep it across restarts')
      .option('--metrics-port <port>', '/healthz and /metrics port, 0 for none (default: FOLIO_METRICS_PORT or 9464)')
      .addOption(engineOption()),
  ),
).action(async (flags: CommonFlags & Record<string, unknown>) => {
  const cfg = await kafkaConfig(flags);
  const log = await logger(cfg.logLevel);
  const { startWorker } = await import('../workers/worker.ts');
  const worker = await startWorker(cfg, {
    log,
    onReady: ({ id, metricsPort }) => log.info({ worker: id, metricsPort, brokers: cfg.kafkaBrokers.join(','), group: cfg.kafkaGroup }, 'worker running'),
  });
  let signals = 0;
  const onSignal = (sig: string) => {
    // The first signal finishes the messages in hand; a second one leaves now (they come again).
    if (++signals > 1) {
      log.warn(`${sig} again: leaving now; the messages in hand will be handled again`);
      process.exit(130);
    }
    log.info(`${sig}: stopping (send it again to leave at once)`);
    void worker.stop();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  await worker.done;
  process.exit(0);
});

async function kafkaConfig(flags: CommonFlags & Record<string, unknown>): Promise<Config> {
  const base = await config(flags);
  const { loadConfig } = await import('../schemas/config.ts');
  return loadConfig({
    ...base,
    kafkaBrokers: typeof flags.brokers === 'string' ? flags.brokers.split(/[,\s]+/).filter(Boolean) : undefined,
    kafkaPrefix: flags.prefix,
    kafkaGroup: flags.group,
    workerId: flags.workerId,
    metricsPort: flags.metricsPort,
    batchWaitMs: flags.waitTimeout === undefined ? undefined : Number(flags.waitTimeout) * 1000,
  });
}

export function formatRows(fields: string[], rows: Record<string, unknown>[]): string {
  const cols = fields.length ? fields : Object.keys(rows[0] ?? {});
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : String(v instanceof Date ? v.toISOString() : v);
    return s.length > 80 ? s.slice(0, 77) + '...' : s.replace(/\n/g, ' ');
  };
  const table = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...table.map((r) => r[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join(' | ').trimEnd();
  const out = [line(cols), widths.map((w) => '-'.repeat(w)).join('-+-'), ...table.map(line), `(${rows.length} row${rows.length === 1 ? '' : 's'})`];
  return out.join('\n') + '\n';
}

export function formatSummary(s: Summary): string {
  const lines = [
    `folio process: ${s.files} file(s) in ${s.seconds.toFixed(1)} s on ${s.database}: ${s.done} done, ${s.skipped} unchanged, ${s.failed} failed; ${s.pages} pages (${s.pagesPerSecond} pages/s), ${s.blocks} blocks`,
  ];
  for (const p of s.problems ?? []) lines.push(`  PROBLEM ${p.code}: ${p.message}`);
  for (const o of s.outcomes.filter((x) => x.status === 'failed')) lines.push(`  FAILED ${o.code}: ${o.file}: ${o.message}`);
  return lines.join('\n') + '\n';
}

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = asFolioError(err);
  process.stderr.write(`folio: ${e.code === 'internal' ? '' : e.code + ': '}${e.message}\n`);
  process.exitCode = e.code === 'internal' ? 2 : 1;
});
