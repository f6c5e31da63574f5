// Loading pdf.js in Node: the legacy build (pdfjs-dist 5.x runs on Node 20), fonts, CMaps and
// wasm decoders from the package's own folders (never a CDN), and pdf.js errors mapped to codes.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { compileWasmOnce, gateJpxDecoding, inflateInThread, restoreNatives, withoutSourceMaps } from './natives.ts';
import { sameThreadWorker } from './pdfworker.ts';
import type { PDFDocumentProxy, PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { FolioError } from '../schemas/errors.ts';

const pdfjs: typeof import('pdfjs-dist/legacy/build/pdf.mjs') = await withoutSourceMaps(() => import('pdfjs-dist/legacy/build/pdf.mjs'));

restoreNatives();
compileWasmOnce();
inflateInThread();
gateJpxDecoding(() => {
  forgetClosed();
  return drawing.size > 0;
});

export { pdfjs };
export type { PDFDocumentProxy, PDFPageProxy };

const require = createRequire(import.meta.url);
const PDFJS_DIR = path.dirname(require.resolve('pdfjs-dist/package.json'));
const dir = (name: string) => path.join(PDFJS_DIR, name) + path.sep;

export const PDFJS_VERSION: string = pdfjs.version;

/**
 * In Node pdf.js runs its parser (pdf.worker.mjs) in-thread. Importing it up front moves that cost
 * off the first job; it is kept on globalThis.pdfjsWorker, where pdf.js also looks for it.
 */
export async function preloadPdfWorker(): Promise<void> {
  await workerModule();
}

type WorkerModule = Parameters<typeof sameThreadWorker>[1];

async function workerModule(): Promise<WorkerModule> {
  const g = globalThis as { pdfjsWorker?: WorkerModule };
  // @ts-expect-error pdf.worker.mjs ships no type declarations
  if (!g.pdfjsWorker) g.pdfjsWorker = (await withoutSourceMaps(() => import('pdfjs-dist/legacy/build/pdf.worker.mjs'))) as WorkerModule;
  restoreNatives();
  return g.pdfjsWorker;
}

let threadWorker: ReturnType<typeof sameThreadWorker> | undefined;

/**
 * The thread's pdf.js worker (extractors/pdfworker.ts): one for every document the thread opens,
 * made on first use.
 */
export async function pdfWorker(): Promise<ReturnType<typeof sameThreadWorker>> {
  const mod = await workerModule();
  if (!threadWorker || threadWorker.worker.destroyed) threadWorker = sameThreadWorker(pdfjs.PDFWorker, mod);
  return threadWorker;
}

type BinaryKind = 'cMapUrl' | 'standardFontDataUrl' | 'wasmUrl';
const binaryFiles = new Map<string, Promise<Uint8Array>>();

/**
 * pdf.js reads CMaps, standard fonts and wasm decoders from disk for every document that needs
 * them. They are files of the installed package, so each thread reads each one once and hands
 * out copies (pdf.js may transfer what it is given). The cache holds at most the package's files.
 */
class CachedBinaryData {
  private readonly base: Record<BinaryKind, string | null>;
  constructor(urls: { cMapUrl?: string | null; standardFontDataUrl?: string | null; wasmUrl?: string | null }) {
    this.base = { cMapUrl: urls.cMapUrl ?? null, standardFontDataUrl: urls.standardFontDataUrl ?? null, wasmUrl: urls.wasmUrl ?? null };
  }

  async fetch({ kind, filename }: { kind: BinaryKind; filename: string }): Promise<Uint8Array> {
    const base = this.base[kind];
    if (!base || filename.includes('/') || filename.includes('\\')) throw new Error(`no ${kind} file ${filename}`);
    const file = base + filename;
    let data = binaryFiles.get(file);
    if (!data) {
      data = fs.promises.readFile(file).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
      binaryFiles.set(file, data);
      data.catch(() => binaryFiles.delete(file));
    }
    return (await data).slice();
  }
}

export interface OpenPdfOptions {
  password?: string;
  /**
   * false: no page of this document will be drawn. pdf.js decodes JPEG 2000 images only while a
   * document that may draw is open in the thread (extractors/natives.ts); the operator lists of
   * the others keep every image's place, without pixels. Default true.
   */
  draws?: boolean;
}

/** The thread's open documents that may draw a page. */
const drawing = new Set<PDFDocumentProxy>();
function forgetClosed(): void {
  for (const doc of drawing) if (doc.loadingTask.destroyed) drawing.delete(doc);
}

/** Open a PDF from bytes; encrypted, damaged and non-PDF inputs become FolioErrors with codes. */
export async function openPdf(bytes: Uint8Array, opts: OpenPdfOptions = {}): Promise<PDFDocumentProxy> {
  // pdf.js may transfer (detach) the buffer it is given: hand it a copy.
  const data = new Uint8Array(bytes);
  const { worker } = await pdfWorker();
  const task = pdfjs.getDocument({
    data,
    worker,
    password: opts.password,
    standardFontDataUrl: dir('standard_fonts'),
    cMapUrl: dir('cmaps'),
    cMapPacked: true,
    wasmUrl: dir('wasm'),
    iccUrl: dir('iccs'),
    BinaryDataFactory: CachedBinaryData,
    isEvalSupported: false,
    useSystemFonts: false,
    disableFontFace: true,
    verbosity: 0,
    stopAtErrors: false,
  });
  try {
    const doc = await task.promise;
    forgetClosed();
    if (opts.draws !== false) drawing.add(doc);
    return doc;
  } catch (err) {
    await task.destroy().catch(() => {});
    throw mapPdfError(err, opts.password);
  }
}

export function mapPdfError(err: unknown, password?: string): FolioError {
  if (err instanceof FolioError) return err;
  const e = err as { name?: string; message?: string; code?: number };
  const msg = e?.message ?? String(err);
  if (e?.name === 'PasswordException') {
    // code 1 = NEED_PASSWORD, 2 = INCORRECT_PASSWORD
    if (password && e.code === 2) return new FolioError('bad_password', 'the password given does not open this PDF', { cause: err });
    return new FolioError('encrypted', 'the PDF is encrypted: pass --password (or FOLIO_PDF_PASSWORD)', { cause: err });
  }
  if (e?.name === 'InvalidPDFException' || e?.name === 'MissingPDFException' || e?.name === 'UnexpectedResponseException') {
    return new FolioError('corrupt_pdf', `cannot read the PDF: ${msg}`, { cause: err });
  }
  if (e?.name === 'FormatError' || /xref|trailer|stream|Invalid|bad XRef|Unexpected/i.test(msg)) {
    return new FolioError('corrupt_pdf', `the PDF is damaged: ${msg}`, { cause: err });
  }
  return new FolioError('internal', msg, { cause: err });
}
