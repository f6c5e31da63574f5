// The engine interface: what reads a page image. The pipeline knows engines only through this
// file; an OCR engine (tesseract) implements it now, a vision-language model later. Whatever the
// engine, its words come back in page points (origin top-left of the page as read) and go through
// the same layout and table code as the words of a PDF text layer.
import type { BBox, Engine } from '../../schemas/document.ts';

/** Raw 8-bit pixels, row-major, no padding: gray, gray+alpha, RGB or RGBA. */
export interface RawPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** A page image and how its pixels map to page points. */
export interface PageImage extends RawPixels {
  /** Pixels per page point (dpi / 72). */
  scale: number;
}

/**
 * What to read. `text`: every word with its box (OCR). The vision-model tasks (`page`, `table`,
 * `chart`, `extract`) are added by the engines that can do them; an engine rejects a task it
 * cannot do with `unsupported_task`.
 */
export type EngineTask = 'text';

export interface EngineWord {
  text: string;
  /** Page points. */
  bbox: BBox;
  /** 0..1. */
  conf: number;
}

export interface EngineLine {
  /** Page points. */
  bbox: BBox;
  /** Baseline y (page points) at the left and right ends of the line, when the engine knows it. */
  baseline?: { x0: number; y0: number; x1: number; y1: number };
  /** Height of the line's type from descender to ascender, page points (a font size, roughly). */
  size: number;
  words: EngineWord[];
}

/** Who read a page: stored as provenance on every block of it. */
export interface EngineInfo {
  /** The Document's engine kind. */
  kind: Engine;
  /** e.g. "tesseract". */
  name: string;
  /** e.g. "tesseract.js-core@7.0.0". */
  version: string;
  /** e.g. "eng (4.0.0_best_int)". */
  model: string;
  /** sha256 of the model file as it lies on disk. */
  modelSha256: string;
}

export interface ReadOptions {
  /** Cancels the read where the engine can stop (between pages, between requests). */
  signal?: AbortSignal;
}

export interface EngineResult {
  lines: EngineLine[];
  /** Mean word confidence, 0..1 (0 when no word was read). */
  confidence: number;
  /** Milliseconds by stage (e.g. recognize, iterate). */
  timings: Record<string, number>;
}

export interface PageEngine {
  readonly info: EngineInfo;
  /** True once the engine has failed in a way that leaves it unusable: a new one must be made. */
  readonly broken?: boolean;
  read(image: PageImage, task: EngineTask, opts?: ReadOptions): Promise<EngineResult>;
  close(): Promise<void>;
}
