// Page preparation before an engine reads a page image: one gray channel, the page turned by the
// quarter turns asked for, a small skew straightened, and ruling lines found and masked (a
// rule read by OCR becomes "|" or "_" and breaks the words it touches). The rules found feed the
// lattice table code, as the rules of a born-digital page do.
//
// All of it is plain loops over one byte per pixel plus one sharp call to rotate; at 300 dpi a
// Letter page (8.4 MP) takes a few tens of milliseconds, against a second or more of OCR.
import sharp from 'sharp';
import type { BBox } from '../../schemas/document.ts';
import type { Segment } from '../graphics.ts';
import type { PageImage, RawPixels } from './types.ts';

export type Quarter = 0 | 90 | 180 | 270;

export interface PreparedPage {
  /** Gray, upright, deskewed, rules masked: what the engine reads. */
  image: PageImage;
  /** Gray, upright, deskewed, rules kept: what is stored as the page image. */
  view: PageImage;
  /** Clockwise quarter turns applied to the input to make it upright. */
  rotation: Quarter;
  /** Degrees of the small rotation applied after the quarter turns (clockwise positive). */
  skew: number;
  /** Ruling lines, page points, in the prepared (upright) frame. */
  segments: Segment[];
  /** Barcodes (masked before reading), page points, in the prepared frame. */
  figures: BBox[];
  /** Page size in points in the prepared frame. */
  width: number;
  height: number;
}

export interface PrepareOptions {
  /** Clockwise quarter turns to apply first (a page found sideways or upside down). */
  rotation?: Quarter;
  /** Straighten a small skew (default true). */
  deskew?: boolean;
}

/** Skews smaller than this (degrees) are left alone: resampling costs more than it gives. */
const MIN_SKEW = 0.25;
/** Skews beyond this are not searched: a page more askew than that is a photo of a page. */
const MAX_SKEW = 6;

export async function preparePage(input: PageImage, opts: PrepareOptions = {}): Promise<PreparedPage> {
  let gray: RawPixels = { data: toGray(input), width: input.width, height: input.height, channels: 1 };
  const thr = otsu(gray.data);
  const rotation: Quarter = opts.rotation ?? 0;
  if (rotation) gray = await turn(gray, rotation, 0);
  let skew = 0;
  if (opts.deskew !== false) {
    const thumb = inkThumb(gray, thr, thumbFactor(input.scale));
    skew = estimateSkew(thumb);
    if (Math.abs(skew) >= MIN_SKEW) gray = await turn(gray, 0, skew);
    else skew = 0;
  }
  const scale = input.scale;
  const view = gray;
  // Rules and barcodes as printed; then fills lightened (not barcodes), where the white gaps
  // between filled cells turn into lines: masked too, and reported with the rules, as they are
  // the grid of a table whose cells are told apart by tinted bands alone.
  const { rules, barcodes } = findLines(gray, thr, scale);
  const fills: PixelBox[] = [];
  const light = lightenFills(gray, thr, scale, barcodes, fills);
  const between = light === gray.data ? [] : findLines({ ...gray, data: light }, thr, scale).rules;
  const masks = [...rules, ...between];
  gray = { ...gray, data: light };
  const masked = masks.length || barcodes.length ? maskRules(gray, masks, barcodes, thr) : gray.data;
  const segments: Segment[] = [...masks, ...cellFrames(fills, between)].map((r) =>
    r.dir === 'h'
      ? { dir: 'h', pos: pt((r.y0 + r.y1 + 1) / 2, scale), from: pt(r.x0, scale), to: pt(r.x1 + 1, scale) }
      : { dir: 'v', pos: pt((r.x0 + r.x1 + 1) / 2, scale), from: pt(r.y0, scale), to: pt(r.y1 + 1, scale) },
  );
  return {
    image: { ...gray, data: masked, scale },
    view: { ...view, scale },
    rotation,
    skew: Math.round(skew * 100) / 100,
    segments,
    figures: barcodes.map((b) => ({ x0: pt(b.x0, scale), y0: pt(b.y0, scale), x1: pt(b.x1 + 1, scale), y1: pt(b.y1 + 1, scale) })),
    width: gray.width / scale,
    height: gray.height / scale,
  };
}

const pt = (v: number, scale: number) => Math.round((v / scale) * 100) / 100;

/**
 * The outlines of fills divided into cells (lines across and down between them): a table told
 * apart by tinted cells alone, whose frame no rule draws.
 */
function cellFrames(fills: PixelBox[], between: PixelRule[]): PixelRule[] {
  const out: PixelRule[] = [];
  for (const b of fills) {
    const inside = between.filter((r) => {
      const [cx, cy] = [(r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2];
      return cx > b.x0 && cx < b.x1 && cy > b.y0 && cy < b.y1;
    });
    if (!inside.some((r) => r.dir === 'h') || !inside.some((r) => r.dir === 'v')) continue;
    out.push(
      { dir: 'h', x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y0 },
      { dir: 'h', x0: b.x0, y0: b.y1, x1: b.x1, y1: b.y1 },
      { dir: 'v', x0: b.x0, y0: b.y0, x1: b.x0, y1: b.y1 },
      { dir: 'v', x0: b.x1, y0: b.y0, x1: b.x1, y1: b.y1 },
    );
  }
  return out;
}

/** One channel of luminance (Rec. 601), alpha composited on white. */
export function toGray(img: RawPixels): Buffer {
  const { data, width, height, channels } = img;
  if (channels === 1) return data;
  const n = width * height;
  const out = Buffer.allocUnsafe(n);
  for (let i = 0, j = 0; i < n; i++, j += channels) {
    let v = channels >= 3 ? (data[j]! * 299 + data[j + 1]! * 587 + data[j + 2]! * 114) / 1000 : data[j]!;
    if (channels === 2 || channels === 4) {
      const a = data[j + channels - 1]! / 255;
      v = v * a + 255 * (1 - a);
    }
    out[i] = v;
  }
  return out;
}

/**
 * Text on tinted fills (coloured table headers and cells) turned dark on light, as the engine
 * reads best. Where ink covers most (60%) of a window of about 9 pt and half of one of 17 pt, a
 * fill starts; it reaches on over neighbouring windows that are nearly half ink (its text, its
 * edge). A region whose ink is black is type, not a fill; one touching `keep` (barcodes) is left
 * too. A fill's text is light (white words on blue) or dark (black words on a mid tone),
 * whichever has more pixels in short strokes. Light text: pixels inverted and stretched, so that
 * the fill turns white and the text black (the white gaps between cells turn into dark lines);
 * dark pixels in a ring of about 3 pt around it are whitened, so that no edge is left to read as
 * "|". Dark text: the fill and its edge turn white and the text stays dark; the white gaps
 * inside it (long runs, not strokes) are drawn dark, as lines between the cells, and the fill's
 * box is pushed on `found`. Text on a light page never covers most of such a window and is left
 * as it is. Returns the input's own pixels when there is no fill.
 */
export function lightenFills(img: RawPixels, thr: number, scale: number, keep: PixelBox[] = [], found: PixelBox[] = []): Buffer {
  const { data, width, height } = img;
  // Blocks of about a point: ink counted per block in one pass.
  const f = Math.max(1, Math.round(scale));
  const bw = Math.ceil(width / f);
  const bh = Math.ceil(height / f);
  // Blocks of the areas to keep as they are (barcodes): a region touching one is no fill.
  const kept = new Uint8Array(bw * bh);
  for (const k of keep) {
    for (let by = Math.floor(k.y0 / f); by <= Math.min(bh - 1, Math.floor(k.y1 / f)); by++) {
      for (let bx = Math.floor(k.x0 / f); bx <= Math.min(bw - 1, Math.floor(k.x1 / f)); bx++) kept[by * bw + bx] = 1;
    }
  }
  const count = new Uint32Array(bw * bh);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const brow = ((y / f) | 0) * bw;
    for (let x = 0; x < width; x++) if (data[row + x]! < thr) count[brow + ((x / f) | 0)]++;
  }
  // Integral image of the counts, (bw+1) x (bh+1); block areas are f*f but at the right and bottom edges.
  const W = bw + 1;
  const ink = new Float64Array(W * (bh + 1));
  for (let by = 0; by < bh; by++) {
    let rowSum = 0;
    for (let bx = 0; bx < bw; bx++) {
      rowSum += count[by * bw + bx]!;
      ink[(by + 1) * W + bx + 1] = ink[by * W + bx + 1]! + rowSum;
    }
  }
  const density = (bx: number, by: number, r = 4) => {
    const x0 = Math.max(0, bx - r);
    const x1 = Math.min(bw, bx + r + 1);
    const y0 = Math.max(0, by - r);
    const y1 = Math.min(bh, by + r + 1);
    const px = (Math.min(width, x1 * f) - x0 * f) * (Math.min(height, y1 * f) - y0 * f);
    return (ink[y1 * W + x1]! - ink[y0 * W + x1]! - ink[y1 * W + x0]! + ink[y0 * W + x0]!) / px;
  };
  // Seeds, each grown over its neighbours (4-connected) while the window is nearly half ink. A
  // region whose ink is black is type, however large and bold, not a fill: fills are tinted (a
  // report's blue or gray), and reversed type on black is left to the engine's own inversion.
  const REJECTED = 9;
  const fill = new Uint8Array(bw * bh);
  // Which fill each block belongs to (index + 1 into `fills`), and how to make its text black on white.
  const owner = new Int32Array(bw * bh);
  const fills: { lut: Uint8Array; gaps?: PixelMask }[] = [];
  const hist = new Uint32Array(256);
  for (let seed = 0; seed < fill.length; seed++) {
    if (fill[seed]) continue;
    const sx = seed % bw;
    const sy = (seed / bw) | 0;
    // A seed's block is ink itself (most of it), so a cheap test goes first; the window twice as
    // wide is half ink too.
    if (!(count[seed]! * 2 > f * f && density(sx, sy) > 0.6 && density(sx, sy, 8) > 0.5)) continue;
    fill[seed] = 1;
    const region = flood(seed, bw, bh, (b) => {
      if (fill[b] || density(b % bw, (b / bw) | 0) <= 0.45) return false;
      fill[b] = 1;
      return true;
    });
    hist.fill(0);
    let n = 0;
    let touches = false;
    for (const b of region) {
      touches ||= kept[b] === 1;
      const x0 = (b % bw) * f;
      const y0 = ((b / bw) | 0) * f;
      for (let y = y0; y < Math.min(height, y0 + f); y++) {
        for (let x = x0; x < Math.min(width, x0 + f); x++) {
          const v = data[y * width + x]!;
          hist[v]++;
          if (v < thr) n++;
        }
      }
    }
    let median = 0;
    for (let seen = hist[0]!; seen * 2 < n; ) seen += hist[++median]!;
    if (median < 48 || touches) {
      for (const b of region) fill[b] = REJECTED;
      continue;
    }
    // Its text: light (above the page's threshold) or dark (well under the fill's own tone),
    // whichever has more pixels in short strokes (the white gaps between cells are long).
    const { light, dark, gaps } = strokePixels(img, region, bw, f, thr, Math.round(0.6 * median), Math.round(20 * scale), Math.round(4 * scale));
    // Light text is turned dark and the fill light, so its gaps turn dark (lines between the
    // cells); with dark text the fill turns light too, and its gaps are drawn dark to match.
    fills.push(dark > light ? { lut: darkOnFill(median), gaps } : { lut: lightOnFill(thr) });
    if (dark > light) found.push({ x0: gaps.x0, y0: gaps.y0, x1: gaps.x0 + gaps.width - 1, y1: gaps.y0 + gaps.height - 1 });
    for (const b of region) owner[b] = fills.length;
  }
  if (!fills.length) return data;
  for (let b = 0; b < fill.length; b++) if (fill[b] === REJECTED) fill[b] = 0;
  fillSmallHoles(fill, bw, bh, 400);
  // The holes filled belong to the fill around them.
  for (let changed = true; changed; ) {
    changed = false;
    for (let b = 0; b < fill.length; b++) {
      if (fill[b] !== 1 || owner[b]) continue;
      const bx = b % bw;
      const o = (bx > 0 && owner[b - 1]) || (bx + 1 < bw && owner[b + 1]) || owner[b - bw] || owner[b + bw];
      if (o) (owner[b] = o), (changed = true);
    }
  }
  // The fill's outermost point or so (more at its corners) is under the density asked for: the
  // ring of three blocks.
  for (let pass = 1; pass <= 3; pass++) {
    for (let b = 0; b < fill.length; b++) {
      if (fill[b]) continue;
      const bx = b % bw;
      let near = 0;
      for (let dy = -bw; dy <= bw && !near; dy += bw) {
        for (let dx = bx > 0 ? -1 : 0; dx <= (bx + 1 < bw ? 1 : 0) && !near; dx++) if (fill[b + dy + dx] === pass) near = b + dy + dx;
      }
      if (near) (fill[b] = pass + 1), (owner[b] = owner[near]!);
    }
  }
  // A region's outermost blocks hold the page beside the fill as well: whitened, not inverted
  // (inverted, the page's white would draw the fill's outline in black).
  const EDGE = 8;
  const ring = (v: number | undefined) => v === undefined || (v >= 2 && v <= 4);
  for (let b = 0; b < fill.length; b++) {
    if (fill[b] !== 1) continue;
    const bx = b % bw;
    if ((bx > 0 && ring(fill[b - 1])) || (bx + 1 < bw && ring(fill[b + 1])) || ring(fill[b - bw]) || ring(fill[b + bw])) fill[b] = EDGE;
  }
  const out = Buffer.from(data);
  const whiten = new Uint8Array(256);
  for (let v = 0; v < 256; v++) whiten[v] = v <= thr ? 255 : v;
  for (let b = 0; b < fill.length; b++) {
    if (!fill[b]) continue;
    const { lut: inside, gaps } = fills[owner[b]! - 1]!;
    // Dark text is kept wherever it reaches; around light text, anything dark is the fill's edge.
    const lut = fill[b] === 1 || gaps ? inside : whiten;
    const x0 = (b % bw) * f;
    const y0 = ((b / bw) | 0) * f;
    for (let y = y0; y < Math.min(height, y0 + f); y++) {
      const row = y * width;
      for (let x = x0; x < Math.min(width, x0 + f); x++) out[row + x] = lut[data[row + x]!]!;
    }
    // The gaps inside the fill, not along its outer edge (the page beside it).
    if (gaps && fill[b] === 1) {
      for (let y = y0; y < Math.min(height, y0 + f); y++) {
        for (let x = x0; x < Math.min(width, x0 + f); x++) {
          const gx = x - gaps.x0;
          const gy = y - gaps.y0;
          if (gx >= 0 && gy >= 0 && gx < gaps.width && gy < gaps.height && gaps.data[gy * gaps.width + gx]) out[y * width + x] = 0;
        }
      }
    }
  }
  return out;
}

/**
 * Pixels of a region (blocks of f x f) lighter than `lightOver` or darker than `darkUnder` that
 * lie in runs shorter than `maxRun` both across and down: strokes of text, not the long white
 * gaps between a table's cells nor rules. `gaps`: the light pixels in runs as long one way and
 * at most `thin` the other (the gaps between cells, not a white field in a tinted form).
 */
function strokePixels(img: RawPixels, region: number[], bw: number, f: number, lightOver: number, darkUnder: number, maxRun: number, thin: number): { light: number; dark: number; gaps: PixelMask } {
  const { data, width, height } = img;
  let bx0 = Infinity;
  let by0 = Infinity;
  let bx1 = -1;
  let by1 = -1;
  for (const b of region) {
    const bx = b % bw;
    const by = (b / bw) | 0;
    [bx0, by0, bx1, by1] = [Math.min(bx0, bx), Math.min(by0, by), Math.max(bx1, bx), Math.max(by1, by)];
  }
  const x0 = bx0 * f;
  const y0 = by0 * f;
  const w = Math.min(width, (bx1 + 1) * f) - x0;
  const h = Math.min(height, (by1 + 1) * f) - y0;
  const bbw = bx1 - bx0 + 1;
  const inRegion = new Uint8Array(bbw * (by1 - by0 + 1));
  for (const b of region) inRegion[(((b / bw) | 0) - by0) * bbw + (b % bw) - bx0] = 1;
  // 1 = light, 2 = dark, 0 = neither or outside; then marked short (+4) where its run across is short.
  const cls = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!inRegion[(((y / f) | 0) * bbw) + ((x / f) | 0)]) continue;
      const v = data[(y0 + y) * width + x0 + x]!;
      cls[y * w + x] = v > lightOver ? 1 : v < darkUnder ? 2 : 0;
    }
  }
  const SHORT = 4;
  const THIN = 8;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; ) {
      const c = cls[y * w + x]!;
      let e = x + 1;
      while (e < w && cls[y * w + e] === c) e++;
      const flag = (e - x < maxRun ? SHORT : 0) | (e - x <= thin ? THIN : 0);
      if (c && flag) for (let k = x; k < e; k++) cls[y * w + k] = c | flag;
      x = e;
    }
  }
  let light = 0;
  let dark = 0;
  const gaps = new Uint8Array(w * h);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; ) {
      const c = cls[y * w + x]! & 3;
      let e = y + 1;
      while (e < h && (cls[e * w + x]! & 3) === c) e++;
      for (let k = y; k < e && c; k++) {
        const across = cls[k * w + x]!;
        if (across & SHORT && e - y < maxRun) {
          if (c === 1) light++;
          else dark++;
        } else if (c === 1 && ((!(across & SHORT) && e - y <= thin) || (e - y >= maxRun && across & THIN))) gaps[k * w + x] = 1;
      }
      y = e;
    }
  }
  return { light, dark, gaps: { x0, y0, width: w, height: h, data: gaps } };
}

/** A mask over part of an image: `data` is width x height, its top-left at (x0, y0). */
interface PixelMask {
  x0: number;
  y0: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/** Light text on a fill: the fill (and anything as dark) turns white, the text black, stretched. */
function lightOnFill(thr: number): Uint8Array {
  const span = Math.max(1, 255 - thr);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v <= thr ? 255 : 255 - Math.min(255, Math.round(((v - thr) * 255) / span));
  return lut;
}

/** Dark text on a fill of tone `tone`: the fill (and anything lighter) turns white, the text stays dark, stretched. */
function darkOnFill(tone: number): Uint8Array {
  const cut = Math.max(1, Math.round(0.8 * tone));
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v >= cut ? 255 : Math.round((v * 255) / cut);
  return lut;
}

/**
 * Gaps of `mask` (0s that 1s enclose, 4-connected) of at most `max` cells set to 1: in a fill,
 * the dense words whose window fell under the density asked for.
 */
function fillSmallHoles(mask: Uint8Array, w: number, h: number, max: number): void {
  const seen = new Uint8Array(mask.length);
  for (let start = 0; start < mask.length; start++) {
    if (mask[start] || seen[start]) continue;
    seen[start] = 1;
    const cells = flood(start, w, h, (c) => {
      if (mask[c] || seen[c]) return false;
      seen[c] = 1;
      return true;
    });
    const open = cells.some((c) => c % w === 0 || c % w === w - 1 || c < w || c >= w * (h - 1));
    if (!open && cells.length <= max) for (const c of cells) mask[c] = 1;
  }
}

/**
 * `start` and the cells 4-connected to it on a w x h grid that `take` accepts; `take` marks a
 * cell it accepts, so that none is taken twice.
 */
function flood(start: number, w: number, h: number, take: (cell: number) => boolean): number[] {
  const cells = [start];
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    const x = c % w;
    if (x > 0 && take(c - 1)) cells.push(c - 1);
    if (x + 1 < w && take(c + 1)) cells.push(c + 1);
    if (c >= w && take(c - w)) cells.push(c - w);
    if (c + w < w * h && take(c + w)) cells.push(c + w);
  }
  return cells;
}

/** Otsu's threshold of a gray image: pixels below it are ink. */
export function otsu(gray: Uint8Array): number {
  const hist = new Float64Array(256);
  // Every 4th pixel is plenty for a histogram.
  for (let i = 0; i < gray.length; i += 4) hist[gray[i]!]++;
  let total = 0;
  let sum = 0;
  for (let v = 0; v < 256; v++) {
    total += hist[v]!;
    sum += v * hist[v]!;
  }
  let wB = 0;
  let sumB = 0;
  let best = 0;
  let thr = 128;
  for (let v = 0; v < 256; v++) {
    wB += hist[v]!;
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += v * hist[v]!;
    const mB = sumB / wB;
    const mF = (sum - sumB) / wF;
    const between = wB * wF * (mB - mF) ** 2;
    if (between > best) {
      best = between;
      thr = v + 1;
    }
  }
  // A page with hardly any ink has no second mode: keep the threshold at a sane darkness.
  return Math.min(thr, 200);
}

/** Downscale factor for analysis: about 75 dpi, where a line of body text is ~10 pixels tall. */
function thumbFactor(scale: number): number {
  return Math.max(1, Math.round((scale * 72) / 75));
}

interface Thumb {
  ink: Uint8Array;
  width: number;
  height: number;
}

/** A cell of the thumbnail is ink when any pixel of its block is (thin strokes survive). */
export function inkThumb(img: RawPixels, thr: number, f: number): Thumb {
  const width = Math.ceil(img.width / f);
  const height = Math.ceil(img.height / f);
  const ink = new Uint8Array(width * height);
  const d = img.data;
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width;
    const trow = Math.floor(y / f) * width;
    for (let x = 0; x < img.width; x++) if (d[row + x]! < thr) ink[trow + Math.floor(x / f)] = 1;
  }
  return { ink, width, height };
}

/**
 * The skew of a page's text lines in degrees (clockwise positive: the line's right end lower):
 * the shear at which the row profile of the ink is sharpest (sum of squares largest).
 */
export function estimateSkew(t: Thumb): number {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let y = 0; y < t.height; y++) {
    for (let x = 0; x < t.width; x++) {
      if (t.ink[y * t.width + x]) {
        xs.push(x);
        ys.push(y);
      }
    }
  }
  if (xs.length < 200) return 0;
  const cx = t.width / 2;
  const span = t.height + t.width;
  const hist = new Float64Array(2 * span + 2);
  const sharpness = (deg: number) => {
    const k = Math.tan((deg * Math.PI) / 180);
    hist.fill(0);
    for (let i = 0; i < xs.length; i++) {
      // A line skewed clockwise rises to the left: removing the skew lowers y by (x - cx)·tan.
      const yy = ys[i]! - (xs[i]! - cx) * k + span;
      const b = Math.floor(yy);
      const f = yy - b;
      hist[b] += 1 - f;
      hist[b + 1] += f;
    }
    let s = 0;
    for (let i = 0; i < hist.length; i++) s += hist[i]! * hist[i]!;
    return s;
  };
  let best = 0;
  let bestScore = sharpness(0);
  for (let d = -MAX_SKEW; d <= MAX_SKEW + 1e-9; d += 0.5) {
    const s = sharpness(d);
    if (s > bestScore) [best, bestScore] = [d, s];
  }
  const coarse = best;
  for (let d = coarse - 0.45; d <= coarse + 0.45 + 1e-9; d += 0.05) {
    const s = sharpness(d);
    if (s > bestScore) [best, bestScore] = [d, s];
  }
  // Only a clear gain over the unrotated profile counts (a page without lines has none).
  return bestScore > 1.02 * sharpness(0) ? best : 0;
}

/**
 * Rotate a gray image: `quarter` clockwise quarter turns (exact), then `skew` degrees back
 * (bilinear, white corners), cropped to the same size so that the page keeps its frame.
 */
async function turn(img: RawPixels, quarter: Quarter, skew: number): Promise<RawPixels> {
  let p = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 }, limitInputPixels: false });
  if (quarter) p = p.rotate(quarter);
  if (skew) p = p.rotate(-skew, { background: { r: 255, g: 255, b: 255 } });
  const { data, info } = await p.toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  const w = quarter === 90 || quarter === 270 ? img.height : img.width;
  const h = quarter === 90 || quarter === 270 ? img.width : img.height;
  if (info.width === w && info.height === h && info.channels === 1) return { data, width: w, height: h, channels: 1 };
  // sharp grows the canvas to hold the rotated corners: cut the middle back out.
  const left = Math.max(0, Math.floor((info.width - w) / 2));
  const top = Math.max(0, Math.floor((info.height - h) / 2));
  const out = Buffer.alloc(w * h, 255);
  const ch = info.channels;
  for (let y = 0; y < h && y + top < info.height; y++) {
    for (let x = 0; x < w && x + left < info.width; x++) out[y * w + x] = data[((y + top) * info.width + x + left) * ch]!;
  }
  return { data: out, width: w, height: h, channels: 1 };
}

/** A ruling line in pixels: x0..x1, y0..y1 inclusive. */
export interface PixelRule {
  dir: 'h' | 'v';
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A box in pixels, x0..x1, y0..y1 inclusive. */
export type PixelBox = Omit<PixelRule, 'dir'>;

/**
 * Ruling lines: straight runs of ink at least a quarter inch long (a one-pixel gap bridged, as
 * scans break thin lines) and at most 3 points thick, with paper on at least one side. Letters
 * never make such runs (their strokes are short or thick); underlines and table rules do.
 *
 * Barcodes: sixteen or more thin upright bars side by side, each at least 0.18 inch tall, with
 * the same top and bottom. OCR reads them as rows of "|" and "I"; they are masked instead.
 */
export function findLines(img: RawPixels, thr: number, scale: number): { rules: PixelRule[]; barcodes: PixelBox[] } {
  const minLen = Math.max(24, Math.round(0.25 * 72 * scale));
  const barMin = Math.max(12, Math.round(0.18 * 72 * scale));
  const maxThick = Math.max(3, Math.round(3 * scale));
  // One pixel of gap is bridged (scans break thin rules); more would join the serifs of a line of
  // type into a "rule" along its baseline.
  const gapTol = 1;
  const { data, width, height } = img;
  const hRuns: { y: number; x0: number; x1: number }[] = [];
  const vRuns: { x: number; y0: number; y1: number }[] = [];
  // Vertical runs are tracked per column while the rows go by.
  const vStart = new Int32Array(width).fill(-1);
  const vLast = new Int32Array(width).fill(-1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let start = -1;
    let last = -1;
    for (let x = 0; x < width; x++) {
      const dark = data[row + x]! < thr;
      if (dark) {
        if (start < 0 || x - last > gapTol + 1) {
          if (start >= 0 && last - start + 1 >= minLen) hRuns.push({ y, x0: start, x1: last });
          start = x;
        }
        last = x;
        if (vStart[x]! < 0 || y - vLast[x]! > gapTol + 1) {
          if (vStart[x]! >= 0 && vLast[x]! - vStart[x]! + 1 >= barMin) vRuns.push({ x, y0: vStart[x]!, y1: vLast[x]! });
          vStart[x] = y;
        }
        vLast[x] = y;
      }
    }
    if (start >= 0 && last - start + 1 >= minLen) hRuns.push({ y, x0: start, x1: last });
  }
  for (let x = 0; x < width; x++) if (vStart[x]! >= 0 && vLast[x]! - vStart[x]! + 1 >= barMin) vRuns.push({ x, y0: vStart[x]!, y1: vLast[x]! });
  const thin = (r: PixelRule) => (r.dir === 'h' ? r.y1 - r.y0 : r.x1 - r.x0) + 1 <= maxThick;
  const long = (r: PixelRule) => (r.dir === 'h' ? r.x1 - r.x0 : r.y1 - r.y0) + 1 >= minLen;
  const horizontal = stackRuns(hRuns, (r) => r.y, (r) => r.x0, (r) => r.x1, (a, b, l, h) => ({ dir: 'h', x0: l, x1: h, y0: a, y1: b }));
  const bars = stackRuns(vRuns, (r) => r.x, (r) => r.y0, (r) => r.y1, (a, b, l, h) => ({ dir: 'v', x0: a, x1: b, y0: l, y1: h })).filter(thin);
  const barcodes = barcodeBoxes(bars, Math.round(0.12 * 72 * scale));
  const inBarcode = (r: PixelRule) => barcodes.some((b) => r.x0 >= b.x0 && r.x1 <= b.x1 && r.y0 >= b.y0 && r.y1 <= b.y1);
  const rules = [...horizontal.filter(thin), ...bars.filter((r) => !inBarcode(r))].filter((r) => long(r) && clearBeside(img, thr, r));
  return { rules, barcodes };
}

/**
 * Runs on neighbouring rows (columns) that overlap by half make one stroke: `at` is the run's row
 * (column), `lo`..`hi` its extent along it.
 */
function stackRuns<R>(runs: R[], at: (r: R) => number, lo: (r: R) => number, hi: (r: R) => number, make: (a: number, b: number, l: number, h: number) => PixelRule): PixelRule[] {
  runs.sort((a, b) => at(a) - at(b) || lo(a) - lo(b));
  const out: PixelRule[] = [];
  const open: { a: number; b: number; l: number; h: number }[] = [];
  for (const r of runs) {
    const p = at(r);
    let joined = false;
    for (let i = open.length - 1; i >= 0; i--) {
      const g = open[i]!;
      if (p - g.b > 1) {
        out.push(make(g.a, g.b, g.l, g.h));
        open.splice(i, 1);
        continue;
      }
      const ov = Math.min(g.h, hi(r)) - Math.max(g.l, lo(r));
      if (!joined && ov >= 0.5 * Math.min(g.h - g.l, hi(r) - lo(r))) {
        g.b = p;
        g.l = Math.min(g.l, lo(r));
        g.h = Math.max(g.h, hi(r));
        joined = true;
      }
    }
    if (!joined) open.push({ a: p, b: p, l: lo(r), h: hi(r) });
  }
  for (const g of open) out.push(make(g.a, g.b, g.l, g.h));
  return out;
}

/**
 * Barcodes among upright bars: runs of bars at most `maxGap` apart, in which sixteen or more share
 * a top and a bottom (within a fifth of their height; a bar broken by the printer does not end
 * the run) and the spaces between them are about as wide as the bars, not several times wider as
 * between the stems of letters.
 */
export function barcodeBoxes(bars: PixelRule[], maxGap: number): PixelBox[] {
  const sorted = [...bars].sort((a, b) => a.x0 - b.x0);
  const runs: PixelRule[][] = [];
  for (const bar of sorted) {
    // Bars of different heights side by side (a barcode above a line of text) are told apart below.
    const run = runs.find((r) => bar.x0 - r[r.length - 1]!.x1 <= maxGap && overlapY(bar, r[r.length - 1]!) > 0);
    if (run) run.push(bar);
    else runs.push([bar]);
  }
  const out: PixelBox[] = [];
  for (const run of runs) {
    if (run.length < 16) continue;
    const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const top = mid(run.map((b) => b.y0));
    const bottom = mid(run.map((b) => b.y1));
    const tol = 0.2 * (bottom - top);
    const same = run.filter((b) => Math.abs(b.y0 - top) <= tol && Math.abs(b.y1 - bottom) <= tol);
    if (same.length < 16) continue;
    const inked = same.reduce((s, b) => s + b.x1 - b.x0 + 1, 0);
    const span = same[same.length - 1]!.x1 - same[0]!.x0 + 1;
    if (span - inked > 2.5 * inked) continue;
    out.push({ x0: same[0]!.x0, y0: Math.min(...same.map((b) => b.y0)), x1: same[same.length - 1]!.x1, y1: Math.max(...same.map((b) => b.y1)) });
  }
  return out;
}

const overlapY = (a: PixelBox, b: PixelBox) => Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);

/**
 * A rule has paper on at least one side along its length; a band of ink that has ink on both
 * sides (the middle of a line of bold type, a filled box) is no rule.
 */
function clearBeside(img: RawPixels, thr: number, r: PixelRule): boolean {
  const { data, width, height } = img;
  const darkShare = (fixed: number, from: number, to: number, horizontal: boolean) => {
    if (fixed < 0 || (horizontal ? fixed >= height : fixed >= width)) return 0;
    let dark = 0;
    for (let i = from; i <= to; i++) if (data[horizontal ? fixed * width + i : i * width + fixed]! < thr) dark++;
    return dark / (to - from + 1);
  };
  const h = r.dir === 'h';
  const before = h ? darkShare(r.y0 - 2, r.x0, r.x1, true) : darkShare(r.x0 - 2, r.y0, r.y1, false);
  const after = h ? darkShare(r.y1 + 2, r.x0, r.x1, true) : darkShare(r.x1 + 2, r.y0, r.y1, false);
  return Math.min(before, after) < 0.5;
}

/**
 * The gray image with the ink of each rule (and a pixel around it, the anti-aliased edge) turned
 * white, and each barcode's box (grown by two pixels) blanked whole: the soft edges of its bars
 * would still read as a row of "|".
 */
export function maskRules(img: RawPixels, rules: PixelBox[], barcodes: PixelBox[], thr: number): Buffer {
  const out = Buffer.from(img.data);
  const { width, height } = img;
  const edge = Math.min(255, thr + 40);
  const paint = (r: PixelBox, grow: number, limit: number) => {
    const x0 = Math.max(0, r.x0 - grow);
    const x1 = Math.min(width - 1, r.x1 + grow);
    const y0 = Math.max(0, r.y0 - grow);
    const y1 = Math.min(height - 1, r.y1 + grow);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) if (out[y * width + x]! < limit) out[y * width + x] = 255;
    }
  };
  for (const r of rules) paint(r, 1, edge);
  for (const b of barcodes) paint(b, 2, 256);
  return out;
}
