// Loading pdf.js in Node: the legacy build (pdfjs-dist 5.x runs on Node 20), fonts, CMaps and
// wasm decoders from the package's own folders (never a CDN), and pdf.js errors mapped to codes.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as pdfjs from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { PDFDocumentProxy, PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { FolioError } from '../schemas/errors.ts';

export { pdfjs };
export type { PDFDocumentProxy, PDFPageProxy };

const require = createRequire(import.meta.url);
const PDFJS_DIR = path.dirname(require.resolve('pdfjs-dist/package.json'));
const dir = (name: string) => path.join(PDFJS_DIR, name) + path.sep;

export const PDFJS_VERSION: string = pdfjs.version;

/**
 * In Node pdf.js runs its parser in-thread ("fake worker") and imports it on first use; importing
 * it up front (and handing it over through globalThis.pdfjsWorker) moves that cost off the first job.
 */
export async function preloadPdfWorker(): Promise<void> {
  const g = globalThis as { pdfjsWorker?: unknown };
  // @ts-expect-error pdf.worker.mjs ships no type declarations
  if (!g.pdfjsWorker) g.pdfjsWorker = await import('pdfjs-dist/legacy/build/pdf.worker.mjs');
}

export interface OpenPdfOptions {
  password?: string;
}

/** Open a PDF from bytes; encrypted, damaged and non-PDF inputs become FolioErrors with codes. */
export async function openPdf(bytes: Uint8Array, opts: OpenPdfOptions = {}): Promise<PDFDocumentProxy> {
  // pdf.js may transfer (detach) the buffer it is given: hand it a copy.
  const data = new Uint8Array(bytes);
  const task = pdfjs.getDocument({
    data,
    password: opts.password,
    standardFontDataUrl: dir('standard_fonts'),
    cMapUrl: dir('cmaps'),
    cMapPacked: true,
    wasmUrl: dir('wasm'),
    iccUrl: dir('iccs'),
    isEvalSupported: false,
    useSystemFonts: false,
    disableFontFace: true,
    verbosity: 0,
    stopAtErrors: false,
  });
  try {
    return await task.promise;
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
