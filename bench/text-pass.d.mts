import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';

export function textContentPass(files: string[], open: (data: Uint8Array) => Promise<PDFDocumentProxy>): Promise<{ pages: number; seconds: number }>;
