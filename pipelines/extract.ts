// One input -> one validated Document. Routing by what the bytes are (not what the file is
// called), limits, and validation; no database here, so `folio extract` and workers share it.
import fs from 'node:fs';
import path from 'node:path';
import { Document as DocumentSchema, SCHEMA_VERSION, type Document } from '../schemas/document.ts';
import { FolioError } from '../schemas/errors.ts';
import type { Config } from '../schemas/config.ts';
import type { IngestOptions } from '../schemas/messages.ts';
import { sha256 } from '../db/blobs.ts';
import { ocrEngine } from '../extractors/engines/index.ts';
import { extractImage } from '../extractors/image.ts';
import { extractVideo } from '../extractors/video.ts';
import { assemblePdf, readPdf, type PdfRead } from '../extractors/pdf.ts';
import type { ExtractOptions, Extraction, ImageSink } from '../extractors/types.ts';
import { mimeFromName, sniff } from './sniff.ts';
import type { VlmSettings } from '../extractors/engines/vlm.ts';
import { vlmClient } from './vlm.ts';
import { PIPELINE_VERSION } from './version.ts';

/**
 * The pipeline version of a configuration: folio's version, and the settings that change what a
 * document reads as (the engine routing, a model other than the default), so that processing the
 * same bytes under another setting stores a new document instead of reporting it unchanged.
 */
export function pipelineVersion(cfg: Pick<ExtractConfig, 'engine' | 'ocrModel' | 'vlm'>): string {
  let v = PIPELINE_VERSION;
  if (cfg.engine && cfg.engine !== 'auto') v += `+engine=${cfg.engine}`;
  if (cfg.ocrModel && cfg.engine !== 'text' && cfg.engine !== 'vlm') v += `+ocr=${modelKey(cfg.ocrModel)}`;
  if (cfg.vlm && cfg.engine !== 'text') v += `+vlm=${cfg.vlm.info.modelSha256.slice(0, 12) || cfg.vlm.info.model}`;
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
  /** Only these pages (of a PDF): the job returns them read, not a Document. */
  pages?: PageRange;
  /** A PDF of more pages than this is not read: the job returns its page count (to read it in ranges). */
  splitOver?: number;
}

export type ExtractConfig = Pick<Config, 'maxPages' | 'maxPixels' | 'maxBytes' | 'password' | 'render' | 'dpi' | 'thumbnailWidth'> & {
  tables?: boolean;
  graphics?: Config['graphics'];
  engine?: Config['engine'];
  ocrModel?: string;
  ocrDpi?: number;
  /** The vision model's client settings, when one was started for the run (pipelines/vlm.ts). */
  vlm?: VlmSettings;
  vlmParallel?: number;
  vlmDpi?: number;
  videoFps?: number;
  sceneThreshold?: number;
  maxFrames?: number;
  maxVideoSeconds?: number;
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

/** Pages of a large PDF, read by one job (see readDocumentPart). */
export interface PageRange {
  from: number;
  to: number;
}

export interface ExtractExtra {
  storeImage?: ImageSink;
  signal?: AbortSignal;
  /** false: the caller validates it (the pool does so on the main thread, which has time to spare). */
  validate?: boolean;
}

/** Bytes in, a Document out (validated unless `extra.validate` is false). */
export async function extractDocument(input: Input, cfg: ExtractConfig, extra: ExtractExtra = {}): Promise<Document> {
  const got = await extractJob(input, cfg, extra);
  if (!('doc' in got)) throw new FolioError('internal', 'a whole-document extraction came back in parts');
  return got.doc;
}

/**
 * What one job of the thread pool does with an input: the whole Document; or, with
 * `input.pages`, only those pages of a PDF, read (`part`, joined by assembleDocument); or,
 * with `splitOver`, only the page count of a PDF longer than that (`split`).
 */
export async function extractJob(
  input: Input,
  cfg: ExtractConfig,
  extra: ExtractExtra = {},
): Promise<{ doc: Document } | { part: PdfRead } | { split: number }> {
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
    throw new FolioError('unsupported_type', `${input.name}: not a PDF, PNG, JPEG, WebP, TIFF, GIF or video (MP4, MOV, WebM, MKV, AVI) file`);
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
    ...(cfg.vlm ? { vlm: () => vlmClient(cfg.vlm!), vlmParallel: cfg.vlmParallel, vlmDpi: cfg.vlmDpi } : {}),
    video: { fps: cfg.videoFps, scene: cfg.sceneThreshold, maxFrames: cfg.maxFrames, maxSeconds: cfg.maxVideoSeconds },
    storeImage: extra.storeImage,
    signal: extra.signal,
  };
  if (input.pages && found.kind !== 'pdf') throw new FolioError('internal', `${input.name}: only a PDF is read in page ranges`);
  let ex: Extraction;
  if (found.kind === 'pdf') {
    const read = await readPdf(input.bytes, opts, input.pages, input.splitOver);
    if (read.split) return { split: read.pageCount };
    // The document's own warnings travel with its first pages.
    if (input.pages) return { part: read.from === 1 ? { ...read, warnings: [...warnings, ...read.warnings] } : read };
    ex = assemblePdf([read]);
  } else if (found.kind === 'video') ex = await extractVideo(input.bytes, opts);
  else ex = await extractImage(input.bytes, opts);
  const doc = toDocument(source, cfg, ex, warnings);
  return { doc: extra.validate === false ? doc : validateDocument(doc) };
}

/** A Document from the ranges of its pages read by readDocumentPart jobs (in page order; not validated). */
export function assembleDocument(source: Document['source'], parts: PdfRead[], cfg: Pick<ExtractConfig, 'engine' | 'ocrModel' | 'vlm'>): Document {
  return toDocument(source, cfg, assemblePdf(parts), []);
}

function toDocument(source: Document['source'], cfg: Pick<ExtractConfig, 'engine' | 'ocrModel' | 'vlm'>, ex: Extraction, warnings: Document['warnings']): Document {
  return {
    schemaVersion: SCHEMA_VERSION,
    pipelineVersion: pipelineVersion(cfg),
    source,
    ...(ex.title ? { title: ex.title.slice(0, 1000) } : {}),
    metadata: ex.metadata,
    pageCount: ex.pages.length,
    pages: ex.pages,
    tables: ex.tables ?? [],
    ...(ex.charts?.length ? { charts: ex.charts } : {}),
    ...(ex.frames ? { frames: ex.frames } : {}),
    warnings: [...warnings, ...ex.warnings],
  };
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
