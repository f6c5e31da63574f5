// The engines a thread reads page images with, made on first use and kept for the thread's life
// (loading a model costs about a second; every later page reuses it).
import { TesseractEngine } from './tesseract.ts';
import type { PageEngine } from './types.ts';

const ocrEngines = new Map<string, Promise<PageEngine>>();

/** The thread's OCR engine for a model file (the default model when none is named); a crashed one is replaced. */
export async function ocrEngine(model?: string): Promise<PageEngine> {
  const key = model ?? '';
  const cached = ocrEngines.get(key);
  if (cached) {
    const e = await cached;
    if (!e.broken) return e;
    ocrEngines.delete(key);
  }
  const made = TesseractEngine.create(model);
  // A model that fails to load is tried again by the next document (it may have been fixed).
  made.catch(() => ocrEngines.delete(key));
  ocrEngines.set(key, made);
  return made;
}

export { DEFAULT_OCR_MODEL, loadOcrModel } from './tesseract.ts';
export type { EngineInfo, EngineResult, EngineTask, PageEngine, PageImage } from './types.ts';
