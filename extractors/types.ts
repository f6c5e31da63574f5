// What every extractor takes and returns. Extractors are pure stages: bytes in, pages out; the
// only side effect is handing rendered images to the `storeImage` sink the pipeline provides.
import type { Chart, Page, Table } from '../schemas/document.ts';
import type { PageEngine } from './engines/types.ts';
import type { VlmClient } from './engines/vlm.ts';

export interface ImageSink {
  /** Store an encoded image (PNG/WebP/JPEG) and return its blob key. */
  (bytes: Buffer, contentType: string): Promise<string>;
}

export interface ExtractOptions {
  maxPages: number;
  maxPixels: number;
  password?: string;
  /** Which pages to rasterize: none, only those that need OCR, or all. */
  render: 'none' | 'needs-ocr' | 'all';
  dpi: number;
  thumbnailWidth: number;
  /** Detect tables (default true); false gives the text-only path (benchmarks compare the two). */
  tables?: boolean;
  /** Read each page's operator list (images, rules, font weights) always, or where it pays. */
  graphics?: 'auto' | 'always';
  /** Where rendered page images and thumbnails go; without it nothing is rendered. */
  storeImage?: ImageSink;
  /**
   * How pages are read: `auto` (the text layer where it is usable, OCR where a page has none or
   * an unusable one, and for images), `text` (never OCR), `ocr` (OCR every page).
   */
  engine?: 'auto' | 'text' | 'ocr' | 'vlm';
  /**
   * The vision-model client when one is configured: with engine `vlm` it reads every page; with
   * `auto` it reads the figures (charts) of every page and the tables of pages read by OCR.
   */
  vlm?: () => VlmClient;
  /** Pages of one document read by the vision model at once. */
  vlmParallel?: number;
  /** Resolution pages are rendered at for the vision model (scaled to its pixel limit after). */
  vlmDpi?: number;
  /** The OCR engine, made on first use (the pipeline keeps one per thread); without it nothing is OCRed. */
  ocr?: () => Promise<PageEngine>;
  /** Resolution pages are rendered at for OCR (default 300). */
  ocrDpi?: number;
  /** How videos are sampled (extractors/video.ts). */
  video?: { fps?: number; scene?: number; maxFrames?: number; maxSeconds?: number };
  /** Abort signal: the pipeline's time limit. */
  signal?: AbortSignal;
}

export interface Extraction {
  pages: Page[];
  /** Tables found (PDF text layer); their blocks in pages name them by tableId. */
  tables?: Table[];
  /** Charts a vision model read from figures. */
  charts?: Chart[];
  /** A video's kept frames: the page each was read into, and its time. */
  frames?: { page: number; time: number; hash: string }[];
  title?: string;
  metadata: Record<string, string>;
  warnings: { code: string; message: string; page?: number }[];
}
