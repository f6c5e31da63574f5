// Layout analysis, independent of where the text came from (PDF text layer now, OCR later):
// positioned text runs -> words -> lines -> blocks, reading order by recursive XY-cut, and block
// types from font size, weight, position and repetition across pages.
//
// Coordinates: display space of the page (points, origin top-left, y down). Text that runs at an
// angle is laid out in a "canonical" frame rotated so that it runs left to right, then mapped back.
import type { BBox, Block, BlockType, Line, Word } from '../schemas/document.ts';

/** One positioned run of text on the page, as an engine reports it. */
export interface TextRun {
  text: string;
  /** Baseline origin of the run on the displayed page. */
  x: number;
  y: number;
  /** Advance of the run along its direction, in points. */
  width: number;
  /** Font size in points (height of the em square). */
  size: number;
  /** Direction of the baseline in degrees, clockwise on the displayed page (0 = left to right). */
  angle: number;
  ascent: number;
  descent: number;
  bold: boolean;
  /** Engine confidence in the text, 0..1 (OCR); absent for a PDF text layer. */
  conf?: number;
  /** The run is one whole word (OCR): never joined to a neighbouring run as a fragment. */
  whole?: boolean;
  /**
   * The engine's line this word belongs to (OCR). Words of one engine line make one line, kept
   * whole: the engine has already told lines apart and split them at column gutters.
   */
  line?: number;
}

interface CWord {
  text: string;
  x0: number;
  x1: number;
  top: number;
  bottom: number;
  base: number;
  size: number;
  bold: boolean;
  chars: number;
  conf?: number;
  line?: number;
  /** The piece touches its run's start/end, so it may continue a word from a neighbouring run. */
  openL: boolean;
  openR: boolean;
}

interface CLine {
  words: CWord[];
  x0: number;
  x1: number;
  top: number;
  bottom: number;
  size: number;
  bold: boolean;
}

/** A block before classification: lines in display space plus style facts. */
export interface RawBlock {
  text: string;
  bbox: BBox;
  lines: Line[];
  angle: number;
  size: number;
  bold: boolean;
  chars: number;
  kind?: 'figure' | 'table';
  /** The block's type as its reader gave it (a vision model); classified from its look otherwise. */
  type?: BlockType;
  /** Position in the page's reading order as its reader gave it; found from the layout otherwise. */
  seq?: number;
  /** For tables: the page table's key, then the document table's id. */
  ref?: string;
  tableId?: string;
}

const deg2rad = Math.PI / 180;

/** Angles within 2 degrees of a right angle snap to it, so boxes stay exact. */
export function quantizeAngle(a: number): number {
  let d = ((a % 360) + 360) % 360;
  const q = Math.round(d / 90) * 90;
  if (Math.abs(d - q) < 2) d = q % 360;
  return Math.round(d * 100) / 100;
}

export function rotate(x: number, y: number, angle: number): [number, number] {
  if (angle === 0) return [x, y];
  const c = Math.cos(angle * deg2rad);
  const s = Math.sin(angle * deg2rad);
  // display -> canonical is a rotation by -angle (y down); canonical -> display is by +angle.
  return [x * c - y * s, x * s + y * c];
}

function toCanonical(x: number, y: number, angle: number): [number, number] {
  return rotate(x, y, -angle);
}

export function boxToDisplay(x0: number, y0: number, x1: number, y1: number, angle: number): BBox {
  if (angle === 0) return roundBox({ x0, y0, x1, y1 });
  const pts = [rotate(x0, y0, angle), rotate(x1, y0, angle), rotate(x0, y1, angle), rotate(x1, y1, angle)];
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return roundBox({ x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) });
}

/** To a hundredth of a point. */
export const r2 = (v: number) => Math.round(v * 100) / 100;
export function roundBox(b: BBox): BBox {
  return { x0: r2(b.x0), y0: r2(b.y0), x1: r2(b.x1), y1: r2(b.y1) };
}

/** Split runs into words (by whitespace), in the canonical frame of their angle. */
function runsToWords(runs: TextRun[], angle: number): CWord[] {
  const pieces: CWord[] = [];
  for (const r of runs) {
    const [ox, oy] = toCanonical(r.x, r.y, angle);
    const n = r.text.length;
    if (n === 0) continue;
    const per = r.width / n;
    const top = oy - r.ascent * r.size;
    const bottom = oy - r.descent * r.size;
    const re = /\S+/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(r.text))) {
      pieces.push({
        text: m[0],
        x0: ox + m.index * per,
        x1: ox + (m.index + m[0].length) * per,
        top,
        bottom,
        base: oy,
        size: r.size,
        bold: r.bold,
        chars: m[0].length,
        ...(r.conf !== undefined ? { conf: r.conf } : {}),
        ...(r.line !== undefined ? { line: r.line } : {}),
        openL: !r.whole && m.index === 0,
        openR: !r.whole && m.index + m[0].length === n,
      });
    }
  }
  return pieces;
}

const overlapY = (a: { top: number; bottom: number }, b: { top: number; bottom: number }) =>
  Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);

/** Group words into lines by vertical overlap, then split lines at wide gaps (column gutters). */
function wordsToLines(words: CWord[]): CLine[] {
  if (words.length && words.every((w) => w.line !== undefined)) return engineLines(words);
  const sorted = [...words].sort((a, b) => a.base - b.base || a.x0 - b.x0);
  const rows: CWord[][] = [];
  const rowBox: { top: number; bottom: number; base: number; size: number }[] = [];
  for (const w of sorted) {
    let best = -1;
    let bestOv = 0;
    // Only the last few rows can overlap a word sorted by baseline.
    for (let i = rows.length - 1; i >= 0 && i >= rows.length - 4; i--) {
      const rb = rowBox[i]!;
      const ov = overlapY(rb, w);
      const minH = Math.min(rb.bottom - rb.top, w.bottom - w.top);
      if (ov > 0.5 * minH && ov > bestOv) {
        best = i;
        bestOv = ov;
      }
    }
    if (best < 0) {
      rows.push([w]);
      rowBox.push({ top: w.top, bottom: w.bottom, base: w.base, size: w.size });
    } else {
      rows[best]!.push(w);
      const rb = rowBox[best]!;
      // Keep the row box anchored on its dominant (largest) text so superscripts do not stretch it.
      if (w.size > rb.size) Object.assign(rb, { top: w.top, bottom: w.bottom, base: w.base, size: w.size });
    }
  }
  // Rows in baseline order, each with its words left to right and split fragments joined.
  const order = rows.map((_, i) => i).sort((a, b) => rowBox[a]!.base - rowBox[b]!.base);
  const merged = order.map((i) => joinFragments(rows[i]!));
  const bases = order.map((i) => rowBox[i]!.base);
  // Row j confirms a gutter at [a, b] when it has text on both sides near it and none inside;
  // it contradicts it when text crosses it. Rows of only one column say nothing.
  const gutterVote = (j: number, a: number, b: number, size: number): number => {
    const row = merged[j]!;
    if (row.some((w) => w.x0 < b - 1 && w.x1 > a + 1)) return -1;
    const left = row.some((w) => w.x1 <= a + 1 && w.x1 > a - 8 * size);
    const right = row.some((w) => w.x0 >= b - 1 && w.x0 < b + 8 * size);
    return left && right ? 1 : 0;
  };
  const lines: CLine[] = [];
  merged.forEach((row, i) => {
    const gaps = row.slice(1).map((w, k) => w.x0 - row[k]!.x1);
    const med = median(gaps.filter((g) => g > 0)) ?? 0;
    let cur: CWord[] = [];
    const flush = () => {
      if (cur.length) lines.push(makeLine(cur));
      cur = [];
    };
    row.forEach((w, k) => {
      if (k > 0) {
        const g = gaps[k - 1]!;
        const prev = row[k - 1]!;
        const size = Math.max(w.size, prev.size);
        let split = g > Math.max(1.5 * size, 2.5 * med);
        if (!split && g >= 0.6 * size) {
          // A narrower gap splits when it lines up with free space in the neighbouring rows:
          // a column gutter, not the stretched word spacing of one justified line.
          let confirm = 0;
          let contradict = 0;
          for (let j = i - 6; j <= i + 6; j++) {
            if (j === i || j < 0 || j >= merged.length || Math.abs(bases[j]! - bases[i]!) > 4 * size) continue;
            const v = gutterVote(j, prev.x1, w.x0, size);
            if (v > 0) confirm++;
            else if (v < 0) contradict++;
          }
          split = confirm >= 3 && confirm > 2 * contradict;
        }
        if (split) flush();
      }
      cur.push(w);
    });
    flush();
  });
  return lines;
}

/** Lines as an engine read them: its words grouped by their line, top to bottom. */
function engineLines(words: CWord[]): CLine[] {
  const byLine = new Map<number, CWord[]>();
  for (const w of words) {
    const list = byLine.get(w.line!) ?? [];
    list.push(w);
    byLine.set(w.line!, list);
  }
  return [...byLine.values()].map((ws) => makeLine(ws.sort((a, b) => a.x0 - b.x0))).sort((a, b) => a.top - b.top || a.x0 - b.x0);
}

/** Join fragments of one word split across runs (kerning, font changes); sorts the row by x. */
function joinFragments(row: CWord[]): CWord[] {
  row.sort((a, b) => a.x0 - b.x0);
  const merged: CWord[] = [];
  for (const w of row) {
    const prev = merged[merged.length - 1];
    const gap = prev ? w.x0 - prev.x1 : Infinity;
    if (prev && prev.openR && w.openL && gap < 0.12 * Math.min(prev.size, w.size) && gap > -0.5 * w.size) {
      prev.text += w.text;
      prev.x1 = Math.max(prev.x1, w.x1);
      prev.top = Math.min(prev.top, w.top);
      prev.bottom = Math.max(prev.bottom, w.bottom);
      prev.chars += w.chars;
      prev.bold = prev.bold && w.bold;
      if (w.conf !== undefined) prev.conf = Math.min(prev.conf ?? 1, w.conf);
      prev.openR = w.openR;
    } else {
      merged.push({ ...w });
    }
  }
  return merged;
}

function makeLine(words: CWord[]): CLine {
  const chars = words.reduce((s, w) => s + w.chars, 0);
  const boldChars = words.reduce((s, w) => s + (w.bold ? w.chars : 0), 0);
  return {
    words,
    x0: Math.min(...words.map((w) => w.x0)),
    x1: Math.max(...words.map((w) => w.x1)),
    top: Math.min(...words.map((w) => w.top)),
    bottom: Math.max(...words.map((w) => w.bottom)),
    size: weightedMedian(words.map((w) => [w.size, w.chars])),
    bold: boldChars >= 0.7 * chars,
  };
}

const BULLET = /^([\u2022\u25e6\u25aa\u25cf\u2023\u2043\u2219\u00b7\-\u2013\u2014*]|\(?\d{1,3}[.)]|\(?[a-z][.)]|\(?[ivx]{1,4}[.)])$/i;

/** Group lines into blocks: close vertically, overlapping horizontally, same style. */
function linesToBlocks(lines: CLine[]): CLine[][] {
  const sorted = [...lines].sort((a, b) => a.top - b.top || a.x0 - b.x0);
  const blocks: CLine[][] = [];
  for (const line of sorted) {
    let best = -1;
    let bestGap = Infinity;
    for (let i = blocks.length - 1; i >= 0; i--) {
      const blk = blocks[i]!;
      const last = blk[blk.length - 1]!;
      if (last.top > line.top + 0.1) continue;
      const gap = line.top - last.bottom;
      if (gap > 1.0 * Math.max(line.size, last.size) || gap < -0.6 * Math.min(line.bottom - line.top, last.bottom - last.top)) continue;
      const bx0 = Math.min(...blk.map((l) => l.x0));
      const bx1 = Math.max(...blk.map((l) => l.x1));
      const ov = Math.min(bx1, line.x1) - Math.max(bx0, line.x0);
      if (ov <= 0) continue;
      const ratio = Math.max(line.size, last.size) / Math.min(line.size, last.size);
      if (ratio > 1.15) continue;
      if (line.bold !== last.bold && (line.bold || blk.every((l) => l.bold))) continue;
      if (BULLET.test(line.words[0]!.text)) continue;
      // First-line indent after a short line starts a new paragraph.
      if (line.x0 - bx0 > 0.8 * line.size && last.x1 < bx1 - 1.5 * line.size && blk.length > 1) continue;
      if (gap < bestGap) {
        best = i;
        bestGap = gap;
      }
    }
    if (best >= 0) blocks[best]!.push(line);
    else blocks.push([line]);
  }
  return blocks;
}

/** Runs grouped by direction (quantized), control characters blanked, unusable runs dropped. */
function groupByAngle(runs: TextRun[]): Map<number, TextRun[]> {
  const byAngle = new Map<number, TextRun[]>();
  for (const raw of runs) {
    // Control characters (NUL above all) carry no text and cannot be stored.
    const r = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(raw.text) ? { ...raw, text: raw.text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ' ') } : raw;
    if (!r.text.trim() || !(r.size > 0) || !Number.isFinite(r.x) || !Number.isFinite(r.y)) continue;
    const a = quantizeAngle(r.angle);
    const list = byAngle.get(a) ?? [];
    list.push(r);
    byAngle.set(a, list);
  }
  return byAngle;
}

/** A word on the displayed page, for stages that work on words (tables). */
export interface PageWord {
  text: string;
  bbox: BBox;
  angle: number;
  size: number;
  bold: boolean;
  /** Engine confidence, 0..1 (OCR); absent for a PDF text layer. */
  conf?: number;
}

/**
 * A page's text as lines, direction by direction (each in its canonical frame). Words and lines
 * are the costly part of layout; the stages that read them (the table look, table detection and
 * the layout itself) share one build. It reflects the runs' weights when it was built.
 */
export interface PageLines {
  groups: { angle: number; lines: CLine[] }[];
}

/** Lines of the page's runs; words whose centre lies in a `claimed` region are left out first. */
export function pageLines(runs: TextRun[], claimed: BBox[] = []): PageLines {
  const groups: PageLines['groups'] = [];
  for (const [angle, group] of groupByAngle(runs)) {
    let words = runsToWords(group, angle);
    if (claimed.length) words = words.filter((w) => !centerInside(boxToDisplay(w.x0, w.top, w.x1, w.bottom, angle), claimed));
    groups.push({ angle, lines: wordsToLines(words) });
  }
  return { groups };
}

/** Every word of the page (fragments joined), in display space. */
export function pageWords(text: TextRun[] | PageLines): PageWord[] {
  const out: PageWord[] = [];
  for (const { angle, lines } of (Array.isArray(text) ? pageLines(text) : text).groups) {
    for (const line of lines) {
      for (const w of line.words) out.push({ text: w.text, bbox: boxToDisplay(w.x0, w.top, w.x1, w.bottom, angle), angle, size: w.size, bold: w.bold, ...(w.conf !== undefined ? { conf: w.conf } : {}) });
    }
  }
  return out;
}

export function centerInside(b: BBox, regions: BBox[]): boolean {
  const cx = (b.x0 + b.x1) / 2;
  const cy = (b.y0 + b.y1) / 2;
  return regions.some((r) => cx >= r.x0 && cx <= r.x1 && cy >= r.y0 && cy <= r.y1);
}

/**
 * Runs of one page -> raw blocks, each direction laid out in its own frame. Words whose centre
 * lies in a `claimed` region (a table) are left to the stage that claimed it. `built` is the
 * page's lines if they were built already (used as they are when nothing is claimed; they are
 * consumed).
 */
export function layoutRuns(runs: TextRun[], claimed: BBox[] = [], built?: PageLines): RawBlock[] {
  const { groups } = built && claimed.length === 0 ? built : pageLines(runs, claimed);
  return groups.flatMap(({ angle, lines }) => linesToBlocks(lines).map((blk) => toRawBlock(blk, angle)));
}

const RTL_CHAR = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]/gu;
const LETTER = /\p{L}/gu;

/** Mostly Hebrew/Arabic letters: the words of the line read right to left. */
export function isRtl(text: string): boolean {
  const rtl = text.match(RTL_CHAR)?.length ?? 0;
  return rtl > 0 && rtl > 0.5 * (text.match(LETTER)?.length ?? 0);
}

/** Words of one line in reading order (left to right, or right to left for RTL scripts). */
export function inReadingOrder<T extends { text: string }>(words: T[]): T[] {
  return isRtl(words.map((w) => w.text).join('')) ? [...words].reverse() : words;
}

function toRawBlock(blk: CLine[], angle: number): RawBlock {
  const lines: Line[] = blk.map((l) => {
    const words = inReadingOrder(l.words);
    return {
      text: words.map((w) => w.text).join(' '),
      bbox: boxToDisplay(l.x0, l.top, l.x1, l.bottom, angle),
      angle,
      words: words.map((w): Word => ({ text: w.text, bbox: boxToDisplay(w.x0, w.top, w.x1, w.bottom, angle), ...(w.conf !== undefined ? { conf: w.conf } : {}) })),
    };
  });
  const chars = blk.reduce((s, l) => s + l.words.reduce((t, w) => t + w.chars, 0), 0);
  const boldChars = blk.reduce((s, l) => s + l.words.reduce((t, w) => t + (w.bold ? w.chars : 0), 0), 0);
  return {
    text: lines.map((l) => l.text).join('\n'),
    bbox: unionBoxes(lines.map((l) => l.bbox)),
    lines,
    angle,
    size: weightedMedian(blk.flatMap((l) => l.words.map((w) => [w.size, w.chars] as [number, number]))),
    bold: boldChars >= 0.7 * chars,
    chars,
  };
}

export function unionBoxes(boxes: BBox[]): BBox {
  return {
    x0: Math.min(...boxes.map((b) => b.x0)),
    y0: Math.min(...boxes.map((b) => b.y0)),
    x1: Math.max(...boxes.map((b) => b.x1)),
    y1: Math.max(...boxes.map((b) => b.y1)),
  };
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function weightedMedian(pairs: [number, number][]): number {
  const s = [...pairs].sort((a, b) => a[0] - b[0]);
  const total = s.reduce((t, p) => t + p[1], 0);
  let acc = 0;
  for (const [v, w] of s) {
    acc += w;
    if (acc >= total / 2) return v;
  }
  return s[s.length - 1]?.[0] ?? 0;
}

// ---------------------------------------------------------------- reading order

/**
 * Recursive XY-cut. Columns first (a vertical white gap crossing every block), then bands
 * (a horizontal gap), recursing into each part; parts that admit no cut read top to bottom.
 */
export function readingOrder<T extends { bbox: BBox }>(items: T[], minGap = 4): T[] {
  if (items.length <= 1) return [...items];
  const cols = splitByGap(items, 'x', minGap);
  if (cols.length > 1) return cols.flatMap((c) => readingOrder(c, minGap));
  const bands = splitByGap(items, 'y', 0.5);
  if (bands.length > 1) return bands.flatMap((b) => readingOrder(b, minGap));
  return [...items].sort((a, b) => a.bbox.y0 - b.bbox.y0 || a.bbox.x0 - b.bbox.x0);
}

function splitByGap<T extends { bbox: BBox }>(items: T[], axis: 'x' | 'y', minGap: number): T[][] {
  const lo = axis === 'x' ? 'x0' : 'y0';
  const hi = axis === 'x' ? 'x1' : 'y1';
  const sorted = [...items].sort((a, b) => a.bbox[lo] - b.bbox[lo]);
  const parts: T[][] = [];
  let cur: T[] = [];
  let reach = -Infinity;
  for (const it of sorted) {
    if (cur.length && it.bbox[lo] - reach >= minGap) {
      parts.push(cur);
      cur = [];
    }
    cur.push(it);
    reach = Math.max(reach, it.bbox[hi]);
  }
  if (cur.length) parts.push(cur);
  return parts;
}

// ---------------------------------------------------------------- classification

export interface PageLayout {
  number: number;
  width: number;
  height: number;
  blocks: RawBlock[];
}

export interface Classified {
  type: BlockType;
  level?: number;
}

/** A caption's label and number: "Table 3", "Figure 2.1", "Exhibit B.4", "Table A-1", "Table IV". */
const CAPTION_HEAD = /^(fig(ure)?|table|tab|chart|plate|exhibit|graph|image|photo|schedule)\.?\s*([a-z][-.\u2013]?)?[0-9ivxlc]+([-.\u2013][0-9]+)*[a-z]?/i;

/**
 * Whether text opens a caption: a label and number followed by punctuation, by a capitalised
 * title, or by nothing ("Table 3: ...", "Exhibit B.4 State ...", "Table 12"); "Table 3 shows
 * that ..." is running text.
 */
export function isCaption(text: string): boolean {
  const m = CAPTION_HEAD.exec(text);
  if (!m) return false;
  const rest = text.slice(m[0].length);
  return rest.trim() === '' || /^\s*[.:\-\u2013\u2014]/.test(rest) || /^\s+\p{Lu}/u.test(rest);
}
const PAGE_NUMBER = /^((page|p\.|seite|p[aá]gina)\s*)?(\d{1,5}|[ivxlcdm]{1,7})(\s*(of|\/|de|von)\s*\d{1,5})?$/i;

const signature = (t: string) => t.toLowerCase().replace(/\d+/g, '#').replace(/\s+/g, ' ').trim();

/**
 * Classify the blocks of a whole document and give them a reading order. Returns, per page, the
 * blocks in reading order with their type and level.
 */
export function classifyDocument(pages: PageLayout[]): { block: RawBlock; cls: Classified }[][] {
  // Body text size: the size carrying the most characters.
  const sizeChars = new Map<number, number>();
  for (const p of pages) for (const b of p.blocks) if (!b.kind) sizeChars.set(Math.round(b.size * 2) / 2, (sizeChars.get(Math.round(b.size * 2) / 2) ?? 0) + b.chars);
  let body = 10;
  let bestChars = -1;
  for (const [s, c] of sizeChars) if (c > bestChars) [body, bestChars] = [s, c];

  // Running headers/footers: margin blocks whose text (digits folded) repeats across pages.
  const marginSig = new Map<string, Set<number>>();
  const inTop = (b: RawBlock, p: PageLayout) => b.bbox.y1 <= p.height * 0.15;
  const inBottom = (b: RawBlock, p: PageLayout) => b.bbox.y0 >= p.height * 0.85;
  for (const p of pages) {
    for (const b of p.blocks) {
      if (b.kind || !(inTop(b, p) || inBottom(b, p))) continue;
      const sig = (inTop(b, p) ? 'T:' : 'B:') + signature(b.text);
      const set = marginSig.get(sig) ?? new Set<number>();
      set.add(p.number);
      marginSig.set(sig, set);
    }
  }
  const minRepeat = pages.length >= 2 ? Math.max(2, Math.ceil(pages.length * 0.25)) : Infinity;

  // Title: the largest text on the first page with text, clearly above body size.
  let titleBlock: RawBlock | undefined;
  const first = pages.find((p) => p.blocks.some((b) => !b.kind));
  if (first) {
    const cands = first.blocks.filter((b) => !b.kind && b.size >= 1.3 * body && b.lines.length <= 4 && b.bbox.y0 < first.height * 0.5);
    titleBlock = cands.sort((a, b) => b.size - a.size || a.bbox.y0 - b.bbox.y0)[0];
  }
  // Heading levels by size rank among heading-like blocks.
  const isHeadingLike = (b: RawBlock) => {
    const words = b.text.split(/\s+/).filter(Boolean).length;
    if (b.lines.length > 3 || words > 24 || words === 0) return false;
    if (!/\p{L}/u.test(b.text)) return false;
    if (b.size >= 1.15 * body) return true;
    return b.bold && b.size >= 0.95 * body && b.lines.length <= 2 && !/[.,;:]$/.test(b.text.trim());
  };
  const headingSizes = [...new Set(pages.flatMap((p) => p.blocks.filter((b) => !b.kind && b !== titleBlock && isHeadingLike(b)).map((b) => Math.round(b.size))))].sort((a, b) => b - a);

  return pages.map((p) => {
    const typed = p.blocks.map((b) => ({ block: b, cls: classifyBlock(b, p) }));
    const head = typed.filter((t) => t.cls.type === 'page_header');
    const foot = typed.filter((t) => t.cls.type === 'page_footer');
    const rest = typed.filter((t) => t.cls.type !== 'page_header' && t.cls.type !== 'page_footer');
    const byBox = (t: { block: RawBlock; cls: Classified }) => ({ ...t, bbox: t.block.bbox });
    // A reader that gives the reading order (a vision model) is followed; otherwise it is found.
    const given = p.blocks.length > 0 && p.blocks.every((b) => b.seq !== undefined);
    const order = (xs: typeof typed) => (given ? [...xs].sort((a, b) => a.block.seq! - b.block.seq!) : readingOrder(xs.map(byBox), Math.max(3, body * 0.6)).map(({ block, cls }) => ({ block, cls })));
    return [...order(head), ...order(rest), ...order(foot)];
  });

  function classifyBlock(b: RawBlock, p: PageLayout): Classified {
    if (b.kind === 'figure') return { type: 'figure' };
    if (b.kind === 'table') return { type: 'table' };
    if (b.type) return { type: b.type, ...(b.type === 'title' ? { level: 1 } : b.type === 'heading' ? { level: 2 } : {}) };
    const text = b.text.trim();
    const top = inTop(b, p);
    const bottom = inBottom(b, p);
    if (top || bottom) {
      const sig = (top ? 'T:' : 'B:') + signature(text);
      if ((marginSig.get(sig)?.size ?? 0) >= minRepeat) return { type: top ? 'page_header' : 'page_footer' };
    }
    // A lone page number above or below everything else on the page.
    if (b.lines.length === 1 && PAGE_NUMBER.test(text)) {
      const others = p.blocks.filter((o) => o !== b && !o.kind);
      if (b.bbox.y0 >= p.height * 0.7 && others.every((o) => o.bbox.y1 <= b.bbox.y0 + 1)) return { type: 'page_footer' };
      if (b.bbox.y1 <= p.height * 0.3 && others.every((o) => o.bbox.y0 >= b.bbox.y1 - 1)) return { type: 'page_header' };
    }
    if (b === titleBlock) return { type: 'title', level: 1 };
    if (isCaption(text)) return { type: 'caption' };
    if (isHeadingLike(b)) {
      const rank = headingSizes.indexOf(Math.round(b.size));
      return { type: 'heading', level: Math.min(6, Math.max(1, rank + (titleBlock ? 2 : 1))) };
    }
    if (BULLET.test(b.lines[0]?.words[0]?.text ?? '')) return { type: 'list_item' };
    if (b.size <= 0.85 * body && b.bbox.y0 >= p.height * 0.6) return { type: 'footnote' };
    return { type: 'paragraph' };
  }
}

/** Assemble schema Blocks (ids, order, provenance) from classified blocks of all pages. */
export function toBlocks(
  ordered: { block: RawBlock; cls: Classified }[][],
  pageNumbers: number[],
  /** Who read each page. */
  provs: { engine: Block['provenance']['engine']; engineVersion: string; model?: string }[],
): Block[][] {
  let order = 0;
  return ordered.map((list, i) => {
    const page = pageNumbers[i]!;
    const { engine, engineVersion, model } = provs[i]!;
    return list.map(({ block, cls }, j): Block => ({
      id: `p${page}-b${j + 1}`,
      type: cls.type,
      text: block.text,
      bbox: block.bbox,
      order: order++,
      ...(cls.level ? { level: cls.level } : {}),
      ...(block.kind || !(block.size > 0) ? {} : { fontSize: r2(block.size), bold: block.bold }),
      lines: block.lines,
      ...(block.tableId ? { tableId: block.tableId } : {}),
      provenance: { page, bbox: block.bbox, engine, engineVersion, ...(model ? { model } : {}) },
    }));
  });
}
