// One input -> one validated Document. Routing by what the bytes are (not what the file is
// called), limits, and validation; no database here, so `folio extract` and workers share it.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Document as DocumentSchema, SCHEMA_VERSION, type Document } from '../schemas/document.ts';
import { FolioError } from '../schemas/errors.ts';
import type { Config } from '../schemas/config.ts';
import type { IngestOptions } from '../schemas/messages.ts';
import { sha256 } from '../db/blobs.ts';
import { ocrEngine } from '../extractors/engines/index.ts';
import { extractImage } from '../extractors/image.ts';
import { extractPdf } from '../extractors/pdf.ts';
import type { ExtractOptions, Extraction, ImageSink } from '../extractors/types.ts';
import { mimeFromName, sniff } from './sniff.ts';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * The pipeline version: part of the idempotency key (sha256, pipeline version). Bump the package
 * version when extraction output changes so that re-processing picks the change up.
 */
export const PIPELINE_VERSION = `folio@${pkg.version}`;

/**
 * The pipeline version of a configuration: folio's version, and the settings that change what a
 * document reads as (the engine routing, a model other than the default), so that processing the
 * same bytes under another setting stores a new document instead of reporting it unchanged.
 */
export function pipelineVersion(cfg: Pick<ExtractConfig, 'engine' | 'ocrModel'>): string {
  let v = PIPELINE_VERSION;
  if (cfg.engine && cfg.engine !== 'auto') v += `+engine=${cfg.engine}`;
  if (cfg.ocrModel && cfg.engine !== 'text') v += `+ocr=${modelKey(cfg.ocrModel)}`;
  return v;
}

const modelKeys = new Map<string, string>();

/** A model file named by its content (the first 12 hex digits of its sha256), or by its path if unreadable. */
function modelKey(file: string): string {
  let k = modelKeys.get(file);
  if (!k) {
    try {
      k = sha256(fs.readFileSync(file)).slice(0, 12);
    } catch {
      k = path.resolve(file);
    }
    modelKeys.set(file, k);
  }
  return k;
}

export interface Input {
  bytes: Uint8Array;
  /** Where the bytes came from (path or URL), recorded on the document. */
  uri: string;
  name: string;
  /** A content type claimed by the source (file extension, HTTP header, Kafka message). */
  declaredMime?: string;
  /** Per-document settings from the message that brought it (engine, password, OCR dpi). */
  options?: IngestOptions;
}

export type ExtractConfig = Pick<Config, 'maxPages' | 'maxPixels' | 'maxBytes' | 'password' | 'render' | 'dpi' | 'thumbnailWidth'> & {
  tables?: boolean;
  graphics?: Config['graphics'];
  engine?: Config['engine'];
  ocrModel?: string;
  ocrDpi?: number;
};

/** The source record of an input, before anything is parsed: used for failures too. */
export function describeSource(input: Input): Document['source'] {
  return sourceRecord(input, input.bytes, input.bytes.length, sha256(input.bytes));
}

/**
 * The source record from a file's first bytes (enough to tell what it is), its size and digest:
 * for a file too big to hold in memory, hashed as a stream.
 */
export function sourceRecord(at: Omit<Input, 'bytes'>, head: Uint8Array, bytes: number, digest: string): Document['source'] {
  return {
    uri: at.uri,
    name: at.name,
    mime: sniff(head)?.mime ?? at.declaredMime ?? mimeFromName(at.name) ?? 'application/octet-stream',
    bytes,
    sha256: digest,
  };
}

export async function extractDocument(
  input: Input,
  cfg: ExtractConfig,
  extra: {
    storeImage?: ImageSink;
    signal?: AbortSignal;
    /** false: the caller validates it (the pool does so on the main thread, which has time to spare). */
    validate?: boolean;
  } = {},
): Promise<Document> {
  const source = describeSource(input);
  if (input.bytes.length === 0) throw new FolioError('empty_file', `${input.name} is empty (0 bytes)`);
  if (input.bytes.length > cfg.maxBytes) {
    throw new FolioError('too_large', `${input.name} has ${input.bytes.length} bytes; the limit is ${cfg.maxBytes} (FOLIO_MAX_BYTES)`);
  }
  const claimed = input.declaredMime ?? mimeFromName(input.name);
  const found = sniff(input.bytes);
  const warnings: Document['warnings'] = [];
  if (!found) {
    if (claimed === 'application/pdf') {
      const start = JSON.stringify(Buffer.from(input.bytes.subarray(0, 16)).toString('latin1'));
      throw new FolioError('not_a_pdf', `${input.name} is labelled a PDF but its bytes are not one (they start with ${start})`);
    }
    throw new FolioError('unsupported_type', `${input.name}: not a PDF, PNG, JPEG, WebP, TIFF or GIF file`);
  }
  if (claimed && claimed !== found.mime) {
    warnings.push({ code: 'mislabeled', message: `${input.name} is labelled ${claimed} but is ${found.mime}; read as ${found.mime}` });
  }
  const opts: ExtractOptions = {
    maxPages: cfg.maxPages,
    maxPixels: cfg.maxPixels,
    password: cfg.password,
    render: cfg.render,
    dpi: cfg.dpi,
    thumbnailWidth: cfg.thumbnailWidth,
    tables: cfg.tables ?? true,
    graphics: cfg.graphics ?? 'auto',
    engine: cfg.engine ?? 'auto',
    ocr: () => ocrEngine(cfg.ocrModel),
    ocrDpi: cfg.ocrDpi,
    storeImage: extra.storeImage,
    signal: extra.signal,
  };
  const ex: Extraction = found.kind === 'pdf' ? await extractPdf(input.bytes, opts) : await extractImage(input.bytes, opts);
  const doc: Document = {
    schemaVersion: SCHEMA_VERSION,
    pipelineVersion: pipelineVersion(cfg),
    source,
    ...(ex.title ? { title: ex.title.slice(0, 1000) } : {}),
    metadata: ex.metadata,
    pageCount: ex.pages.length,
    pages: ex.pages,
    tables: ex.tables ?? [],
    warnings: [...warnings, ...ex.warnings],
  };
  return extra.validate === false ? doc : validateDocument(doc);
}

/** The Document, checked against its schema; an invalid one fails with code invalid_document. */
export function validateDocument(doc: unknown): Document {
  const checked = DocumentSchema.safeParse(doc);
  if (!checked.success) {
    const msg = checked.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new FolioError('invalid_document', `the extracted Document is invalid: ${msg}`);
  }
  return checked.data;
}
