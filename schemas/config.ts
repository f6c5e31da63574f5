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
  /** How pages are read: text layer where usable and OCR elsewhere (auto), text layer only, or OCR everywhere. */
  engine: z.enum(['auto', 'text', 'ocr']).default('auto'),
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
  FOLIO_GRAPHICS: 'graphics',
  FOLIO_WORKERS: 'workers',
  FOLIO_PDF_PASSWORD: 'password',
  FOLIO_ROOTS: 'roots',
  FOLIO_LOG_LEVEL: 'logLevel',
};

/** Config from the environment, then `overrides` (CLI flags); throws a readable error on bad values. */
export function loadConfig(overrides: Partial<Record<keyof Config, unknown>> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    raw[key] = key === 'roots' ? v.split(path.delimiter).filter(Boolean) : v;
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
