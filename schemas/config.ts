// Configuration: environment variables, overridden by CLI flags, parsed once at start-up.
// Every default works offline with no server.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const int = (def: number) => z.coerce.number().int().positive().default(def);

export const Config = z.object({
  /** Where the embedded database, blobs and caches live. */
  dataDir: z.string().default('.folio'),
  /** postgres://… to use a PostgreSQL server; empty = embedded PGlite in dataDir/db. */
  databaseUrl: z.string().optional(),
  /** Where blobs (original files, page images) are stored; default dataDir/blobs. */
  blobDir: z.string().optional(),
  maxPages: int(2000),
  maxPixels: int(100_000_000),
  maxBytes: int(512 * 1024 * 1024),
  timeoutMs: int(10 * 60 * 1000),
  /** Which pages to rasterize and store: none, only those that need OCR, or all. */
  render: z.enum(['none', 'needs-ocr', 'all']).default('needs-ocr'),
  dpi: int(150),
  thumbnailWidth: int(256),
  /** Read PDF graphics (operator lists) on every page, or only where they pay (see README). */
  graphics: z.enum(['auto', 'always']).default('auto'),
  /**
   * How pages are read: text layer where usable and OCR elsewhere (auto; with a vision model
   * configured it also reads figures as charts and OCR pages' tables), text layer only, OCR
   * everywhere, or the vision model everywhere (vlm).
   */
  engine: z.enum(['auto', 'text', 'ocr', 'vlm']).default('auto'),
  /** Vision model: a GGUF file, by path or hf:<user>/<repo>/<file>.gguf URI (downloaded once to the cache). */
  vlmModel: z.string().optional(),
  /** Its vision projector (mmproj GGUF), by path or hf: URI. */
  vlmMmproj: z.string().optional(),
  /** An OpenAI-compatible endpoint (llama-server, vLLM, SGLang, Ollama) to use instead of running llama-server. */
  vlmUrl: z.string().url().optional(),
  /** Bearer token for FOLIO_VLM_URL. */
  vlmApiKey: z.string().optional(),
  /** Model name sent to FOLIO_VLM_URL (servers that serve several route by it). */
  vlmModelName: z.string().optional(),
  /** Model family (prompt, coordinates, image size); default: from the model's name and architecture. */
  vlmProfile: z.string().optional(),
  /** Requests the model decodes at once (llama-server slots), and pages of a document in flight. */
  vlmParallel: int(4),
  /** Context tokens per slot. */
  vlmContext: int(8192),
  /** CPU threads of llama-server; 0 = one per core. */
  vlmThreads: z.coerce.number().int().min(0).default(0),
  /** Time for one answer of the model. */
  vlmTimeoutMs: int(300_000),
  /** Tries after the first for an answer that failed (invalid JSON, time-out, server error). */
  vlmRetries: z.coerce.number().int().min(0).default(2),
  /** Most tokens of one answer. */
  vlmMaxTokens: int(4096),
  /** Sampling temperature (0 = greedy, reproducible). */
  vlmTemperature: z.coerce.number().min(0).max(2).default(0),
  /** Resolution pages are rendered at for the model, before scaling to its pixel limit. */
  vlmDpi: int(144),
  /** Video: frames sampled per second (besides scene changes). */
  videoFps: z.coerce.number().positive().max(30).default(1),
  /** Video: scene-change score (0..1) that samples a frame between the regular ones (Debian's ffmpeg 5.1 needs about 0.1). */
  sceneThreshold: z.coerce.number().min(0).max(1).default(0.1),
  /** Video: different frames read at most per video. */
  maxFrames: int(300),
  /** Video: longest video read, seconds. */
  maxVideoSeconds: int(4 * 3600),
  /** Language model for `folio extract --schema` on born-digital text (in-process); default: FOLIO_VLM_MODEL. */
  llmModel: z.string().optional(),
  /** Tesseract model file (.traineddata or .traineddata.gz); default: the English model installed with folio. */
  ocrModel: z.string().optional(),
  /** Resolution PDF pages are rendered at for OCR. */
  ocrDpi: int(300),
  /** Detect tables in PDF text layers. */
  tables: z.preprocess((v) => (typeof v === 'string' ? !['0', 'false', 'no', 'off'].includes(v.toLowerCase()) : v), z.boolean()).default(true),
  /** Worker threads for extraction; 0 = one per core. */
  workers: z.coerce.number().int().min(0).default(0),
  password: z.string().optional(),
  /** Directories that file sources must lie under; empty = any local path the user names. */
  roots: z.array(z.string()).default([]),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Hosts (host or host:port) http(s) sources may be fetched from; empty = none. */
  httpAllow: z.array(z.string()).default([]),
  /** Time to fetch one source. */
  fetchTimeoutMs: int(60_000),
  /** Kafka: bootstrap brokers (host:port, comma-separated); empty = no Kafka. */
  kafkaBrokers: z.array(z.string()).default([]),
  /** Kafka topic names are this prefix + ingest / pages / results / dlq. */
  kafkaPrefix: z.string().default('folio.'),
  /** Partitions of the topics folio creates. */
  kafkaPartitions: int(4),
  kafkaGroup: z.string().default('folio-workers'),
  /** A worker silent this long leaves the group and its partitions go to the others (Kafka's session.timeout.ms; 6000 at least). */
  kafkaSessionTimeoutMs: z.coerce.number().int().min(6000).default(30_000),
  /** Messages one worker handles at once (0 = four per extraction thread). */
  kafkaConcurrency: z.coerce.number().int().min(0).default(0),
  /** Tries of a message that failed for a passing reason (network, database) before the DLQ. */
  maxAttempts: int(4),
  /** Wait before the first retry; doubled for each next one. */
  retryBackoffMs: int(500),
  /** Documents with more pages than this are read in ranges by several workers (folio.pages). */
  fanoutPages: int(200),
  /** Pages per range of a fanned-out document. */
  pageRange: int(50),
  /** Port of the worker's /healthz and /metrics; 0 = none. */
  metricsPort: z.coerce.number().int().min(0).max(65535).default(9464),
  /** This worker's name in results, DLQ entries and its Kafka transactional id. */
  workerId: z.string().optional(),
  /** `folio batch` through Kafka: how long to wait for the workers' results before reporting the rest as timed out. */
  batchWaitMs: int(6 * 60 * 60 * 1000),
});
export type Config = z.infer<typeof Config>;

const ENV: Record<string, keyof Config> = {
  FOLIO_DATA_DIR: 'dataDir',
  DATABASE_URL: 'databaseUrl',
  FOLIO_BLOB_DIR: 'blobDir',
  FOLIO_MAX_PAGES: 'maxPages',
  FOLIO_MAX_PIXELS: 'maxPixels',
  FOLIO_MAX_BYTES: 'maxBytes',
  FOLIO_TIMEOUT_MS: 'timeoutMs',
  FOLIO_RENDER: 'render',
  FOLIO_DPI: 'dpi',
  FOLIO_TABLES: 'tables',
  FOLIO_ENGINE: 'engine',
  FOLIO_OCR_MODEL: 'ocrModel',
  FOLIO_OCR_DPI: 'ocrDpi',
  FOLIO_VLM_MODEL: 'vlmModel',
  FOLIO_VLM_MMPROJ: 'vlmMmproj',
  FOLIO_VLM_URL: 'vlmUrl',
  FOLIO_VLM_API_KEY: 'vlmApiKey',
  FOLIO_VLM_MODEL_NAME: 'vlmModelName',
  FOLIO_VLM_PROFILE: 'vlmProfile',
  FOLIO_VLM_PARALLEL: 'vlmParallel',
  FOLIO_VLM_CONTEXT: 'vlmContext',
  FOLIO_VLM_THREADS: 'vlmThreads',
  FOLIO_VLM_TIMEOUT_MS: 'vlmTimeoutMs',
  FOLIO_VLM_RETRIES: 'vlmRetries',
  FOLIO_VLM_MAX_TOKENS: 'vlmMaxTokens',
  FOLIO_VLM_TEMPERATURE: 'vlmTemperature',
  FOLIO_VLM_DPI: 'vlmDpi',
  FOLIO_LLM_MODEL: 'llmModel',
  FOLIO_VIDEO_FPS: 'videoFps',
  FOLIO_SCENE_THRESHOLD: 'sceneThreshold',
  FOLIO_MAX_FRAMES: 'maxFrames',
  FOLIO_MAX_VIDEO_SECONDS: 'maxVideoSeconds',
  FOLIO_GRAPHICS: 'graphics',
  FOLIO_WORKERS: 'workers',
  FOLIO_PDF_PASSWORD: 'password',
  FOLIO_ROOTS: 'roots',
  FOLIO_LOG_LEVEL: 'logLevel',
  FOLIO_HTTP_ALLOW: 'httpAllow',
  FOLIO_FETCH_TIMEOUT_MS: 'fetchTimeoutMs',
  KAFKA_BROKERS: 'kafkaBrokers',
  FOLIO_KAFKA_PREFIX: 'kafkaPrefix',
  FOLIO_KAFKA_PARTITIONS: 'kafkaPartitions',
  FOLIO_KAFKA_GROUP: 'kafkaGroup',
  FOLIO_KAFKA_SESSION_TIMEOUT_MS: 'kafkaSessionTimeoutMs',
  FOLIO_KAFKA_CONCURRENCY: 'kafkaConcurrency',
  FOLIO_MAX_ATTEMPTS: 'maxAttempts',
  FOLIO_RETRY_BACKOFF_MS: 'retryBackoffMs',
  FOLIO_FANOUT_PAGES: 'fanoutPages',
  FOLIO_PAGE_RANGE: 'pageRange',
  FOLIO_METRICS_PORT: 'metricsPort',
  FOLIO_WORKER_ID: 'workerId',
  FOLIO_BATCH_WAIT_MS: 'batchWaitMs',
};

/** Settings given as lists: FOLIO_ROOTS by the path delimiter, the others by commas. */
const LISTS: Partial<Record<keyof Config, string | RegExp>> = { roots: path.delimiter, httpAllow: /[,\s]+/, kafkaBrokers: /[,\s]+/ };

/** Config from the environment, then `overrides` (CLI flags); throws a readable error on bad values. */
export function loadConfig(overrides: Partial<Record<keyof Config, unknown>> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    const sep = LISTS[key];
    raw[key] = sep ? v.split(sep).filter(Boolean) : v;
  }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) raw[k] = v;
  const parsed = Config.safeParse(raw);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${msg}`);
  }
  return parsed.data;
}

export function workerCount(cfg: Pick<Config, 'workers'>): number {
  return cfg.workers > 0 ? cfg.workers : Math.max(1, os.availableParallelism());
}
