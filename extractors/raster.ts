// Rasterizing PDF pages (pdf.js + @napi-rs/canvas) to raw pixels, and storing page images.
// Rendering gives raw RGBA; only what is stored is encoded (PNG encoding is the slow part).
// extractors/image.ts stores its pages through the same `storeRendered`.
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { FolioError } from '../schemas/errors.ts';
import { mapPdfError, type PDFPageProxy } from './pdfjs.ts';
import type { RawPixels } from './engines/types.ts';
import type { ImageSink } from './types.ts';

type NapiCanvasModule = typeof import('@napi-rs/canvas');
type NapiCanvas = import('@napi-rs/canvas').Canvas;

// pdf.js polyfills Path2D/DOMMatrix/ImageData in Node from the @napi-rs/canvas that *it* resolves,
// and its canvas methods only accept their own Path2D: a canvas from another copy of the package
// (npm may nest one under pdfjs-dist, as it does here) throws "not a valid enum value of type
// CanvasFillRule" on the first fill. So canvases come from the copy pdf.js resolves from its build.
const require = createRequire(import.meta.url);
const PDFJS_BUILD = path.join(path.dirname(require.resolve('pdfjs-dist/package.json')), 'legacy', 'build', 'pdf.mjs');
let napi: NapiCanvasModule | undefined;
function canvasModule(): NapiCanvasModule {
  napi ??= createRequire(PDFJS_BUILD)('@napi-rs/canvas') as NapiCanvasModule;
  return napi;
}

/** Raw pixels, row-major, no padding. renderPage always gives opaque RGBA (channels 4). */
export type RawImage = RawPixels;

export interface RenderedPage extends RawImage {
  channels: 4;
}

export interface RenderOptions {
  dpi: number;
  maxPixels: number;
  /** Cancels the render (the pipeline's time limit). */
  signal?: AbortSignal;
}

/** Pixel size of a page at `dpi`, in its displayed orientation (/Rotate applied). */
export function renderSize(page: PDFPageProxy, dpi: number): { width: number; height: number; scale: number } {
  const scale = dpi / 72;
  const vp = page.getViewport({ scale });
  // Round, not ceil: 792pt at 150 dpi is 1650.0000000000002.
  return { width: Math.max(1, Math.round(vp.width)), height: Math.max(1, Math.round(vp.height)), scale };
}

/**
 * Render one page at `dpi` onto a white background and return its raw RGBA pixels (opaque, so
 * premultiplied and straight alpha agree). Throws too_many_pixels before allocating anything when
 * width*height exceeds `maxPixels`. The caller owns the page (cleanup() it when done with it).
 */
export async function renderPage(page: PDFPageProxy, opts: RenderOptions): Promise<RenderedPage> {
  if (!(opts.dpi > 0) || !Number.isFinite(opts.dpi)) throw new FolioError('internal', `invalid dpi ${opts.dpi}`);
  const { width, height, scale } = renderSize(page, opts.dpi);
  if (width * height > opts.maxPixels) {
    throw new FolioError(
      'too_many_pixels',
      `page ${page.pageNumber} at ${opts.dpi} dpi is ${width}x${height} = ${width * height} pixels, over the limit of ${opts.maxPixels} (FOLIO_MAX_PIXELS); lower the dpi or raise the limit`,
    );
  }
  if (opts.signal?.aborted) throw new FolioError('timeout', `rendering page ${page.pageNumber} was cancelled`, { cause: opts.signal.reason });
  const viewport = page.getViewport({ scale });
  const canvas: NapiCanvas = canvasModule().createCanvas(width, height);
  // Opaque context: every pixel ends up with alpha 255 on pdf.js's white background.
  canvas.getContext('2d', { alpha: false });
  const task = page.render({ canvas: canvas as unknown as HTMLCanvasElement, viewport, background: '#ffffff' });
  const onAbort = () => task.cancel();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await task.promise;
    // canvas.data() is a borrowed view of the Skia surface, NOT kept alive by the Buffer: once the
    // canvas is freed (or collected) reading it gives garbage or a segfault. Copy it out first
    // (~1-2 ms at 1275x1650; getImageData costs more and also copies).
    const data = Buffer.from(canvas.data());
    if (data.length !== width * height * 4) {
      throw new FolioError('internal', `canvas gave ${data.length} bytes for ${width}x${height} RGBA`);
    }
    return { data, width, height, channels: 4 };
  } catch (err) {
    if (opts.signal?.aborted) throw new FolioError('timeout', `rendering page ${page.pageNumber} was cancelled`, { cause: err });
    throw err instanceof FolioError ? err : mapPdfError(err);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    // Release the Skia surface now rather than at some later GC.
    canvas.width = 0;
    canvas.height = 0;
  }
}

export interface StoreOptions {
  thumbnailWidth: number;
  storeImage: ImageSink;
  /** Store the image at most this wide (a page read by OCR at a higher resolution than it is stored at). */
  width?: number;
}

/**
 * zlib level of stored page PNGs. Measured at 150 dpi on born-digital pages (sharp 0.35, no
 * adaptive filtering): level 2 encodes in about half the time of the default 6 for ~5% more bytes;
 * level 1 is no faster and ~50% bigger. Opaque RGBA came out smaller than the same pixels as RGB.
 */
export const PNG_COMPRESSION_LEVEL = 2;

/**
 * Encode a rendered page as PNG plus a WebP thumbnail `thumbnailWidth` wide (never enlarged), store
 * both through the sink and return their keys. The pixels are stored with the channels they come
 * in (gray stays gray); they should be opaque (renderPage's are; extractImage flattens on white).
 */
export async function storeRendered(raw: RawImage, opts: StoreOptions): Promise<{ image: string; thumbnail: string }> {
  const { width, height, channels } = raw;
  if (raw.data.length !== width * height * channels) {
    throw new FolioError('internal', `raw image is ${raw.data.length} bytes, expected ${width}x${height}x${channels}`);
  }
  const gray = channels <= 2;
  // sharp writes sRGB unless told otherwise: keep one-channel input one channel.
  const input = () => {
    const img = sharp(raw.data, { raw: { width, height, channels }, limitInputPixels: false });
    return gray ? img.toColourspace('b-w') : img;
  };
  // Two pipelines at once: sharp runs one libvips thread per image on glibc Linux (concurrency 1).
  const [png, thumb] = await Promise.all([
    (opts.width && opts.width < width ? input().resize({ width: Math.max(1, Math.round(opts.width)) }) : input())
      .png({ compressionLevel: PNG_COMPRESSION_LEVEL, adaptiveFiltering: false })
      .toBuffer(),
    input()
      .resize({ width: Math.max(1, Math.round(opts.thumbnailWidth)), withoutEnlargement: true })
      .webp({ quality: 80, effort: 2 })
      .toBuffer(),
  ]);
  const [image, thumbnail] = await Promise.all([opts.storeImage(png, 'image/png'), opts.storeImage(thumb, 'image/webp')]);
  return { image, thumbnail };
}
