// The default OCR engine: Tesseract 5 (LSTM) compiled to WebAssembly (tesseract.js-core), with
// the English model of @tesseract.js-data/eng; both install with `npm install`, nothing is
// downloaded at run time. folio drives the Tesseract C++ API itself, in the extraction thread:
// pixels go in raw (as a PGM file in the module's memory file system, the path Tesseract.js's SetImageFile reads, no PNG round trip) and the
// words come out of Tesseract's result iterator with their boxes, baselines and confidences.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import { FolioError } from '../../schemas/errors.ts';
import { toGray } from './prepare.ts';
import type { EngineLine, EngineResult, EngineTask, PageEngine, PageImage } from './types.ts';

const require = createRequire(import.meta.url);
const CORE_VERSION = (require('tesseract.js-core/package.json') as { version: string }).version;

/** The model used when none is configured: Tesseract's best English model, integer weights. */
export const DEFAULT_OCR_MODEL = path.join(path.dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int', 'eng.traineddata.gz');

/**
 * Tesseract variables set on every engine, as `name=value` pairs separated by commas in
 * FOLIO_TESSERACT_VARS (for tuning; folio's defaults need none).
 */
function tesseractVariables(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (process.env.FOLIO_TESSERACT_VARS ?? '').split(',')) {
    const [k, ...v] = pair.split('=');
    if (k?.trim()) out[k.trim()] = v.join('=').trim();
  }
  return out;
}

/** Page segmentation: fully automatic (3). Tesseract's library default (6, one block) reads across columns. */
const PSM_AUTO = '3';

// ---------------------------------------------------------------------------------------------
// The model file

export interface OcrModel {
  path: string;
  /** A short name for provenance: "eng (4.0.0_best_int)". */
  label: string;
  /** sha256 of the file on disk. */
  sha256: string;
  /** The traineddata, uncompressed. */
  data: Uint8Array;
}

/** Entries of a traineddata file that the LSTM engine needs (tessdata_manager: TESSDATA_LSTM = 17). */
const TESSDATA_LSTM = 17;

/**
 * Read and check a Tesseract model (.traineddata, or gzipped .traineddata.gz) before any page is
 * read: a missing file is `model_missing`, one that is not a traineddata file with an LSTM model
 * is `model_invalid`; both name the file.
 */
export function loadOcrModel(file: string = DEFAULT_OCR_MODEL): OcrModel {
  const abs = path.resolve(file);
  let raw: Buffer;
  try {
    raw = fs.readFileSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FolioError('model_missing', `OCR model file ${abs} does not exist (FOLIO_OCR_MODEL)`);
    throw new FolioError('model_invalid', `OCR model file ${abs} cannot be read: ${(err as Error).message}`);
  }
  let data: Uint8Array = raw;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      data = zlib.gunzipSync(raw);
    } catch (err) {
      throw new FolioError('model_invalid', `OCR model file ${abs} is not a valid gzip file: ${(err as Error).message}`);
    }
  }
  const problem = traineddataProblem(data);
  if (problem) throw new FolioError('model_invalid', `OCR model file ${abs} is not a Tesseract LSTM model: ${problem}`);
  const dir = path.basename(path.dirname(abs));
  const lang = path.basename(abs).replace(/\.traineddata(\.gz)?$/, '');
  return { path: abs, label: /^\d/.test(dir) ? `${lang} (${dir})` : lang, sha256: crypto.createHash('sha256').update(raw).digest('hex'), data };
}

/**
 * Why bytes are not a traineddata file, or undefined. The format (tessdata_manager.cpp): an int32
 * count of entries, then one int64 offset per entry (-1 = absent), offsets into the file in order.
 */
export function traineddataProblem(data: Uint8Array): string | undefined {
  if (data.length < 16) return `${data.length} bytes is too short`;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const entries = view.getInt32(0, true);
  if (entries < 1 || entries > 64) return `bad header (${entries} entries)`;
  const header = 4 + 8 * entries;
  if (header > data.length) return 'truncated header';
  let last = header;
  let lstm = false;
  for (let i = 0; i < entries; i++) {
    const offset = Number(view.getBigInt64(4 + 8 * i, true));
    if (offset === -1) continue;
    if (offset < last || offset > data.length) return `entry ${i} points outside the file (offset ${offset} of ${data.length})`;
    last = offset;
    if (i === TESSDATA_LSTM) lstm = true;
  }
  if (!lstm) return 'it holds no LSTM model (legacy-only traineddata is not supported)';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The wasm module

/** The parts of tesseract.js-core's Emscripten module that folio calls. */
interface TessModule {
  FS: { writeFile(path: string, data: Uint8Array): void; mkdir(path: string): void; unlink(path: string): void };
  TessBaseAPI: new () => TessApi;
  [k: string]: unknown;
}
interface TessApi {
  Init(datapath: string, lang: string, oem: number): number;
  SetVariable(name: string, value: string): boolean;
  SetImageFile(exif: number, angle: number): number;
  SetSourceResolution(ppi: number): void;
  Recognize(monitor: null): number;
  GetIterator(): TessIterator;
  Clear(): void;
  End(): void;
}
interface Box4 {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
interface TessIterator {
  Begin(): void;
  Next(level: number): boolean;
  Empty(level: number): boolean;
  IsAtBeginningOf(level: number): boolean;
  GetUTF8Text(level: number): string;
  Confidence(level: number): number;
  getBoundingBox(level: number): Box4;
  getBaseline(level: number): Box4 & { has_baseline: boolean };
  getRowAttributes(): { row_height: number; descenders: number; ascenders: number };
  __destroy__(): void;
}

const ENUMS = ['PageIteratorLevel_RIL_TEXTLINE', 'PageIteratorLevel_RIL_WORD', 'OcrEngineMode_OEM_LSTM_ONLY'] as const;

interface Core {
  module: TessModule;
  enums: Record<(typeof ENUMS)[number], number>;
  /** Messages Tesseract printed (kept for error messages; never written to stdout). */
  messages: string[];
}

let corePromise: Promise<Core> | undefined;

/** The wasm module, one per thread: the SIMD build where WebAssembly SIMD is available. */
function loadCore(): Promise<Core> {
  corePromise ??= (async () => {
    const messages: string[] = [];
    const keep = (s: string) => {
      messages.push(String(s));
      if (messages.length > 50) messages.shift();
    };
    let module: TessModule | undefined;
    let firstError: unknown;
    for (const build of ['tesseract-core-simd-lstm', 'tesseract-core-lstm']) {
      try {
        const factory = require(`tesseract.js-core/${build}`) as (opts: object) => Promise<TessModule>;
        module = await factory({ print: keep, printErr: keep });
        break;
      } catch (err) {
        firstError ??= err;
      }
    }
    if (!module) throw new FolioError('internal', `the Tesseract wasm module does not load: ${(firstError as Error)?.message}`, { cause: firstError });
    const enums = {} as Core['enums'];
    for (const name of ENUMS) enums[name] = (module[`_emscripten_enum_${name}`] as () => number)();
    return { module, enums, messages };
  })();
  corePromise.catch(() => (corePromise = undefined));
  return corePromise;
}

// ---------------------------------------------------------------------------------------------
// The engine

export class TesseractEngine implements PageEngine {
  readonly info;
  broken = false;
  private static seq = 0;

  private constructor(
    private readonly core: Core,
    private readonly api: TessApi,
    model: OcrModel,
  ) {
    this.info = { kind: 'ocr' as const, name: 'tesseract', version: `tesseract.js-core@${CORE_VERSION}`, model: model.label, modelSha256: model.sha256 };
  }

  /** Load the model (checked first: model_missing / model_invalid) into a fresh Tesseract instance. */
  static async create(modelFile?: string): Promise<TesseractEngine> {
    const model = loadOcrModel(modelFile);
    const core = await loadCore();
    const fsys = core.module.FS;
    // Each instance gets its own folder in the module's memory file system.
    const dir = `/model${TesseractEngine.seq++}`;
    fsys.mkdir(dir);
    fsys.writeFile(`${dir}/folio.traineddata`, model.data);
    const api = new core.module.TessBaseAPI();
    const status = api.Init(dir, 'folio', core.enums.OcrEngineMode_OEM_LSTM_ONLY);
    fsys.unlink(`${dir}/folio.traineddata`);
    if (status !== 0) {
      const said = core.messages.slice(-3).join(' ').trim();
      throw new FolioError('model_invalid', `Tesseract cannot load the OCR model ${model.path}${said ? `: ${said}` : ''}`);
    }
    api.SetVariable('tessedit_pageseg_mode', PSM_AUTO);
    for (const [name, value] of Object.entries(tesseractVariables())) {
      if (!api.SetVariable(name, value)) throw new FolioError('internal', `Tesseract has no variable ${name} (FOLIO_TESSERACT_VARS)`);
    }
    return new TesseractEngine(core, api, model);
  }

  async read(image: PageImage, task: EngineTask): Promise<EngineResult> {
    if (task !== 'text') throw new FolioError('internal', `tesseract cannot do the task ${String(task)}`);
    if (this.broken) throw new FolioError('internal', 'the Tesseract engine crashed earlier and cannot read');
    try {
      return this.recognize(image);
    } catch (err) {
      // An abort inside the wasm (out of memory, a failed assertion) leaves the module unusable:
      // this engine and the thread's module are dropped, and the next page gets fresh ones.
      if (err instanceof WebAssembly.RuntimeError || /Aborted\(/.test(String((err as Error)?.message))) {
        this.broken = true;
        if (corePromise && (await corePromise.catch(() => undefined)) === this.core) corePromise = undefined;
        throw new FolioError('internal', `the Tesseract engine crashed on a ${image.width}x${image.height} page: ${(err as Error).message}`, { cause: err });
      }
      throw err;
    }
  }

  private recognize(image: PageImage): EngineResult {
    const { module, enums } = this.core;
    const t0 = performance.now();
    const gray = toGray(image);
    // PGM: Leptonica reads it without decompressing anything.
    const header = Buffer.from(`P5\n${image.width} ${image.height}\n255\n`, 'latin1');
    module.FS.writeFile('/input', Buffer.concat([header, gray]));
    if (this.api.SetImageFile(1, 0) !== 0) throw new FolioError('internal', 'Tesseract could not take the page image');
    module.FS.unlink('/input');
    // A resolution outside what scanners and cameras give (an image without one reads as 72
    // dpi) is left to Tesseract to estimate from the size of the text.
    const dpi = Math.round(image.scale * 72);
    if (dpi >= 100 && dpi <= 2400) this.api.SetSourceResolution(dpi);
    const t1 = performance.now();
    if (this.api.Recognize(null) !== 0) throw new FolioError('internal', `Tesseract failed on the page: ${this.core.messages.slice(-2).join(' ')}`);
    const t2 = performance.now();
    const lines = collect(this.api, enums.PageIteratorLevel_RIL_TEXTLINE, enums.PageIteratorLevel_RIL_WORD, image.scale);
    this.api.Clear();
    const words = lines.flatMap((l) => l.words);
    const confidence = words.length ? words.reduce((s, w) => s + w.conf, 0) / words.length : 0;
    return { lines, confidence, timings: { prepare: t1 - t0, recognize: t2 - t1, collect: performance.now() - t2 } };
  }

  async close(): Promise<void> {
    this.api.End();
  }
}

/** Lines and their words from Tesseract's result iterator, in page points. */
function collect(api: TessApi, LINE: number, WORD: number, scale: number): EngineLine[] {
  const it = api.GetIterator();
  const pt = (v: number) => Math.round((v / scale) * 100) / 100;
  const box = (b: Box4) => ({ x0: pt(b.x0), y0: pt(b.y0), x1: pt(b.x1), y1: pt(b.y1) });
  const lines: EngineLine[] = [];
  let line: EngineLine | undefined;
  try {
    it.Begin();
    do {
      if (it.Empty(WORD)) continue;
      if (!line || it.IsAtBeginningOf(LINE)) {
        const bb = it.getBoundingBox(LINE);
        const bl = it.getBaseline(LINE);
        const row = it.getRowAttributes();
        const height = row.row_height > 0 ? row.row_height : bb.y1 - bb.y0;
        line = { bbox: box(bb), size: pt(height), words: [], ...(bl.has_baseline ? { baseline: box(bl) } : {}) };
        lines.push(line);
      }
      const text = it.GetUTF8Text(WORD).trim();
      if (!text) continue;
      const b = it.getBoundingBox(WORD);
      if (!(b.x1 > b.x0 && b.y1 > b.y0)) continue;
      line.words.push({ text, bbox: box(b), conf: Math.round(Math.max(0, Math.min(100, it.Confidence(WORD)))) / 100 });
    } while (it.Next(WORD));
  } finally {
    it.__destroy__();
  }
  return lines.filter((l) => l.words.length > 0);
}
