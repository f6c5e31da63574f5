// Images as documents: PNG, JPEG, WebP, TIFF (one page per TIFF page), GIF (first frame), AVIF/HEIF.
// Each page is read by OCR when an engine is given (needsOcr: true either way: an image has no
// text layer). Sizes follow the displayed orientation (EXIF Orientation applied).
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { FolioError } from '../schemas/errors.ts';
import { assemblePages, type ReadPage } from './assemble.ts';
import { ocrPage, readPageOf } from './ocr.ts';
import { enrichPage, vlmReadPage, wantsModel } from './vlm.ts';
import { storeRendered, type RawImage } from './raster.ts';
import type { ExtractOptions, Extraction } from './types.ts';

/** sharp's decoder names that are raster documents; SVG (and anything else) is not read here. */
const IMAGE_FORMATS = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'heif', 'avif', 'jp2']);
/** Formats whose extra "pages" are pages of a document rather than frames of an animation. */
const PAGED_FORMATS = new Set(['tiff']);

/** Densities outside this range (dpi) are taken as missing: 72 is used instead. */
const MIN_DPI = 50;
const MAX_DPI = 4800;
const DEFAULT_DPI = 72;

type Meta = Metadata;

function corrupt(err: unknown, what: string): FolioError {
  const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new FolioError('corrupt_image', `${what}: ${msg}`, { cause: err });
}

function decodeError(err: unknown, pageNo: number, maxPixels: number): FolioError {
  if (err instanceof FolioError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (/exceeds pixel limit/i.test(msg)) {
    return new FolioError('too_many_pixels', `image page ${pageNo} is over the pixel limit of ${maxPixels} (FOLIO_MAX_PIXELS)`, { cause: err });
  }
  return corrupt(err, `cannot decode image page ${pageNo}`);
}

/** Pixel size as displayed: EXIF orientations 5-8 swap width and height. */
function displayedSize(m: Meta): { width: number; height: number } {
  if (m.autoOrient?.width && m.autoOrient?.height) return { width: m.autoOrient.width, height: m.autoOrient.height };
  const swap = (m.orientation ?? 1) >= 5;
  return swap ? { width: m.height, height: m.width } : { width: m.width, height: m.height };
}

function plausibleDensity(d: number | undefined): number | undefined {
  return d !== undefined && Number.isFinite(d) && d >= MIN_DPI && d <= MAX_DPI ? d : undefined;
}

/**
 * Read an image file as a document: one Page per TIFF page (other formats: one page, the first
 * frame), sizes in points from the image density (72 dpi when absent or implausible). When
 * `opts.storeImage` is given and `opts.render` is not 'none', each page is decoded, auto-oriented,
 * flattened on white and stored as PNG plus thumbnail (the same code as rendered PDF pages).
 * Without storing, only headers are read: a truncated body is then not noticed here.
 */
export async function extractImage(bytes: Uint8Array, opts: ExtractOptions): Promise<Extraction> {
  if (bytes.byteLength === 0) throw new FolioError('empty_file');
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const warnings: Extraction['warnings'] = [];

  // Headers only; the pixel limit is checked here with a clear message, so sharp's own
  // limitInputPixels (a backstop at decode time) is off for metadata.
  const metaOf = async (page: number): Promise<Meta> => {
    try {
      return await sharp(buf, { page, limitInputPixels: false }).metadata();
    } catch (err) {
      throw corrupt(err, page === 0 ? 'not a readable image' : `cannot read image page ${page + 1}`);
    }
  };

  const first = await metaOf(0);
  if (!IMAGE_FORMATS.has(first.format)) {
    throw new FolioError('unsupported_type', `${first.format} images are not read as documents`);
  }
  if (!(first.width > 0 && first.height > 0)) throw new FolioError('corrupt_image', 'the image has no pixels');

  const frames = first.pages ?? 1;
  const paged = PAGED_FORMATS.has(first.format);
  const pageCount = paged ? frames : 1;
  if (pageCount > opts.maxPages) {
    throw new FolioError('too_many_pages', `the ${first.format} image has ${pageCount} pages, over the limit of ${opts.maxPages} (FOLIO_MAX_PAGES)`);
  }
  if (!paged && frames > 1) {
    warnings.push({ code: 'frames_ignored', message: `animated ${first.format} with ${frames} frames: only the first is read`, page: 1 });
  }

  const store = opts.storeImage && opts.render !== 'none' ? opts.storeImage : undefined;
  const client = opts.engine !== 'text' ? opts.vlm?.() : undefined;
  if (opts.engine === 'vlm' && !client) throw new FolioError('model_missing', 'engine vlm needs a vision model: set FOLIO_VLM_MODEL (and FOLIO_VLM_MMPROJ) or FOLIO_VLM_URL');
  const ocr = opts.engine !== 'text' && opts.engine !== 'vlm' ? opts.ocr : undefined;
  const read: ReadPage[] = [];
  let firstDensity = DEFAULT_DPI;

  for (let i = 0; i < pageCount; i++) {
    if (opts.signal?.aborted) throw new FolioError('timeout', `stopped at image page ${i + 1}`, { cause: opts.signal.reason });
    const pageNo = i + 1;
    const m = i === 0 ? first : await metaOf(i);
    const { width, height } = displayedSize(m);
    if (!(width > 0 && height > 0)) throw new FolioError('corrupt_image', `image page ${pageNo} has no pixels`);
    if (width * height > opts.maxPixels) {
      throw new FolioError(
        'too_many_pixels',
        `image page ${pageNo} is ${width}x${height} = ${width * height} pixels, over the limit of ${opts.maxPixels} (FOLIO_MAX_PIXELS)`,
      );
    }
    const dpi = plausibleDensity(m.density);
    if (m.density !== undefined && dpi === undefined) {
      warnings.push({ code: 'implausible_density', message: `image density ${m.density} dpi ignored; ${DEFAULT_DPI} dpi assumed`, page: pageNo });
    }
    const density = dpi ?? DEFAULT_DPI;
    if (i === 0) firstDensity = density;

    const page: ReadPage = {
      layout: { number: pageNo, width: (width * 72) / density, height: (height * 72) / density, blocks: [] },
      tables: [],
      prov: { engine: 'image', engineVersion: `sharp@${sharp.versions.sharp}` },
      page: { rotation: 0, needsOcr: true, engine: 'none' },
    };
    if (!store && !ocr && !client) {
      read.push(page);
      continue;
    }
    const gray = m.space === 'b-w' || m.space === 'grey16';
    let raw: { data: Buffer; info: OutputInfo };
    try {
      let img = sharp(buf, { page: i, limitInputPixels: opts.maxPixels, failOn: 'error' }).autoOrient();
      if (m.hasAlpha) img = img.flatten({ background: '#ffffff' });
      // 8-bit gray stays one channel; everything else (CMYK, 16-bit, palette) becomes 8-bit sRGB.
      raw = await img.toColourspace(gray ? 'b-w' : 'srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    } catch (err) {
      throw decodeError(err, pageNo, opts.maxPixels);
    }
    const { width: w, height: h, channels } = raw.info;
    if (w !== width || h !== height) {
      warnings.push({ code: 'size_mismatch', message: `header says ${width}x${height}, decoded ${w}x${h}`, page: pageNo });
    }
    let stored: RawImage = { data: raw.data, width: w, height: h, channels };
    if (opts.engine === 'vlm') {
      try {
        Object.assign(page, (await vlmReadPage({ ...stored, scale: density / 72 }, pageNo, client!, page.page, { signal: opts.signal, tables: opts.tables })).read);
      } catch (err) {
        if (!(err instanceof FolioError && err.code === 'model_failed') || pageCount === 1) throw err;
        warnings.push({ code: 'model_failed', message: err.message, page: pageNo });
      }
    } else if (ocr) {
      const o = await ocrPage({ ...stored, scale: density / 72 }, await ocr(), { signal: opts.signal });
      Object.assign(page, readPageOf(o, pageNo, page.page, { tables: opts.tables }));
      // The page as read (upright, straightened), so that its boxes lie on it.
      if (o.facts.rotation || o.facts.skew) stored = o.view;
      if (client && wantsModel(page, { tables: opts.tables })) {
        try {
          await enrichPage(page, { ...stored, scale: stored.width / page.layout.width }, pageNo, client, { signal: opts.signal, tables: opts.tables });
        } catch (err) {
          if (!(err instanceof FolioError && err.code === 'model_failed')) throw err;
          warnings.push({ code: 'model_failed', message: err.message, page: pageNo });
        }
      }
    }
    if (store) Object.assign(page.page, await storeRendered(stored, { thumbnailWidth: opts.thumbnailWidth, storeImage: store }));
    read.push(page);
  }

  const { pages, tables, charts } = assemblePages(read, warnings);
  const size = displayedSize(first);
  const metadata: Record<string, string> = {
    format: first.format,
    width: String(size.width),
    height: String(size.height),
    density: String(firstDensity),
  };
  if (first.orientation !== undefined) metadata.orientation = String(first.orientation);
  if (paged && pageCount > 1) metadata.pages = String(pageCount);
  return { pages, tables, charts, metadata, warnings };
}
