// Table detection on a page's words and graphics, independent of where the words came from.
//
// - lattice: ruling lines (stroked lines, rectangle edges, thin filled rectangles) that cross
//   each other form a grid; a missing rule between two grid cells makes them one spanning cell.
// - stream: no rules; rows of text whose gaps line up in the same columns over several rows.
//
// Rotated tables are detected in the frame of their text (rotated so that it reads left to
// right) and their boxes mapped back to the displayed page.
import { tableGrid, type BBox } from '../schemas/document.ts';
import type { Segment } from './graphics.ts';
import { boxToDisplay, centerInside, inReadingOrder, isCaption, rotate, type PageWord } from './layout.ts';

export interface GridCell {
  row: number;
  col: number;
  rowSpan: number;
  colSpan: number;
  bbox: BBox;
  text: string;
  bold: boolean;
}

export interface PageTable {
  method: 'lattice' | 'stream' | 'vlm';
  bbox: BBox;
  rows: number;
  cols: number;
  cells: GridCell[];
  /** Column boundaries (left edges and the right edge) in the table's own frame. */
  colEdges: number[];
  /** Text direction of the table (0 = upright). */
  angle: number;
  /** The table's title ("Table 3: ..."), when the detector took it off the table's top. */
  caption?: string;
  /** Header rows as the reader gave them (a vision model); found from the cells otherwise. */
  headerRows?: number;
  /** Who read the table, when not the reader of its page (a vision model asked about a table OCR found). */
  prov?: { engine: 'pdf-text' | 'pdf-image' | 'image' | 'ocr' | 'vlm' | 'remote'; engineVersion: string; model?: string };
}

const TOL = 2;

// ------------------------------------------------------------------ frames

interface Frame {
  angle: number;
  box(b: BBox): BBox; // display -> table frame
  back(b: BBox): BBox; // table frame -> display
}

function frameOf(angle: number): Frame {
  const fwd = (b: BBox): BBox => {
    if (angle === 0) return b;
    const pts = [rotate(b.x0, b.y0, -angle), rotate(b.x1, b.y0, -angle), rotate(b.x0, b.y1, -angle), rotate(b.x1, b.y1, -angle)];
    return { x0: Math.min(...pts.map((p) => p[0])), y0: Math.min(...pts.map((p) => p[1])), x1: Math.max(...pts.map((p) => p[0])), y1: Math.max(...pts.map((p) => p[1])) };
  };
  return { angle, box: fwd, back: (b) => (angle === 0 ? b : boxToDisplay(b.x0, b.y0, b.x1, b.y1, angle)) };
}

function segmentInFrame(s: Segment, f: Frame): Segment {
  const b = s.dir === 'h' ? { x0: s.from, y0: s.pos, x1: s.to, y1: s.pos } : { x0: s.pos, y0: s.from, x1: s.pos, y1: s.to };
  const r = f.box(b);
  return r.x1 - r.x0 >= r.y1 - r.y0 ? { dir: 'h', pos: (r.y0 + r.y1) / 2, from: r.x0, to: r.x1 } : { dir: 'v', pos: (r.x0 + r.x1) / 2, from: r.y0, to: r.y1 };
}

/** The direction most of these words' characters run in. */
function dominantAngle(words: PageWord[]): number {
  const count = new Map<number, number>();
  for (const w of words) count.set(w.angle, (count.get(w.angle) ?? 0) + w.text.length);
  let best = 0;
  let n = -1;
  for (const [a, c] of count) if (c > n) [best, n] = [a, c];
  return best;
}

// ------------------------------------------------------------------ shared helpers

const cx = (b: BBox) => (b.x0 + b.x1) / 2;
const cy = (b: BBox) => (b.y0 + b.y1) / 2;

/**
 * Words -> text: lines by vertical overlap, words left to right, lines joined by newlines; in the
 * frame of the words' own direction (a vertical header in an upright table reads along itself).
 */
function wordsText(words: PageWord[], tableAngle = 0): string {
  const own = dominantAngle(words);
  if (words.length && own !== tableAngle) {
    const f = frameOf((((own - tableAngle) % 360) + 360) % 360);
    words = words.map((w) => ({ ...w, bbox: f.box(w.bbox) }));
  }
  const sorted = [...words].sort((a, b) => cy(a.bbox) - cy(b.bbox) || a.bbox.x0 - b.bbox.x0);
  const lines: { top: number; bottom: number; words: PageWord[] }[] = [];
  for (const w of sorted) {
    const line = lines.find((l) => Math.min(l.bottom, w.bbox.y1) - Math.max(l.top, w.bbox.y0) > 0.5 * Math.min(l.bottom - l.top, w.bbox.y1 - w.bbox.y0));
    if (line) {
      line.words.push(w);
      line.top = Math.min(line.top, w.bbox.y0);
      line.bottom = Math.max(line.bottom, w.bbox.y1);
    } else lines.push({ top: w.bbox.y0, bottom: w.bbox.y1, words: [w] });
  }
  return lines
    .sort((a, b) => a.top - b.top)
    .map((l) => inReadingOrder(l.words.sort((a, b) => a.bbox.x0 - b.bbox.x0)).map((w) => w.text).join(' '))
    .join('\n');
}

/** Which interval of sorted `edges` holds v (clamped to the first and last). */
function slot(edges: number[], v: number): number {
  for (let i = 1; i < edges.length - 1; i++) if (v < edges[i]!) return i - 1;
  return edges.length - 2;
}

function clusterPositions(values: number[], tol: number): number[] {
  const s = [...values].sort((a, b) => a - b);
  const out: number[][] = [];
  for (const v of s) {
    const last = out[out.length - 1];
    if (last && v - last[last.length - 1]! <= tol) last.push(v);
    else out.push([v]);
  }
  return out.map((c) => c.reduce((a, b) => a + b, 0) / c.length);
}

/** Collinear pieces of rules (one per cell border, dashes) joined into lines. */
function mergeSegments(segs: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const dir of ['h', 'v'] as const) {
    const list = segs.filter((s) => s.dir === dir).sort((a, b) => a.pos - b.pos || a.from - b.from);
    const groups: Segment[][] = [];
    for (const s of list) {
      const g = groups[groups.length - 1];
      if (g && s.pos - g[0]!.pos <= 1.5) g.push(s);
      else groups.push([s]);
    }
    for (const g of groups) {
      g.sort((a, b) => a.from - b.from);
      let cur: Segment | undefined;
      for (const s of g) {
        if (cur && s.from <= cur.to + TOL) {
          cur.to = Math.max(cur.to, s.to);
          cur.pos = (cur.pos + s.pos) / 2;
        } else {
          if (cur) out.push(cur);
          cur = { ...s };
        }
      }
      if (cur) out.push(cur);
    }
  }
  return out;
}

// ------------------------------------------------------------------ lattice

function crosses(h: Segment, v: Segment): boolean {
  return v.pos >= h.from - TOL && v.pos <= h.to + TOL && h.pos >= v.from - TOL && h.pos <= v.to + TOL;
}

/** Groups of rules that touch each other: each is a candidate table. */
function ruledComponents(lines: Segment[]): Segment[][] {
  const parent = lines.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  // Each horizontal rule against the vertical rules whose x lies within its reach (binary search).
  const vIdx = lines.map((_, i) => i).filter((i) => lines[i]!.dir === 'v').sort((a, b) => lines[a]!.pos - lines[b]!.pos);
  const vPos = vIdx.map((i) => lines[i]!.pos);
  lines.forEach((h, i) => {
    if (h.dir !== 'h') return;
    let lo = 0;
    let hi = vPos.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (vPos[mid]! < h.from - TOL) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < vPos.length && vPos[k]! <= h.to + TOL; k++) {
      const j = vIdx[k]!;
      if (crosses(h, lines[j]!)) parent[find(i)] = find(j);
    }
  });
  const groups = new Map<number, Segment[]>();
  lines.forEach((l, i) => {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(l);
    else groups.set(r, [l]);
  });
  return absorbRulesAcross([...groups.values()]);
}

/**
 * Rules across a table's full width that cross none of its column rules (a partly ruled table:
 * column rules in the header only, rows ruled across below it) belong to the ruled grid they
 * line up with, when each lies within three of its rows of the grid (or of a rule taken in).
 */
function absorbRulesAcross(groups: Segment[][]): Segment[][] {
  const grids = groups.filter((g) => g.some((l) => l.dir === 'v') && g.some((l) => l.dir === 'h'));
  const lone = groups.filter((g) => g.every((l) => l.dir === 'h')).flat().sort((a, b) => a.pos - b.pos);
  const taken = new Set<Segment>();
  for (const grid of grids) {
    const hs = grid.filter((l) => l.dir === 'h');
    const from = Math.min(...hs.map((l) => l.from));
    const to = Math.max(...hs.map((l) => l.to));
    const ys = [...new Set(hs.map((l) => l.pos))].sort((a, b) => a - b);
    const steps = ys.slice(1).map((y, i) => y - ys[i]!).filter((d) => d > 3);
    const row = steps.length ? Math.max(...steps) : 20;
    let top = ys[0]!;
    let bottom = ys[ys.length - 1]!;
    const fits = (l: Segment) => !taken.has(l) && Math.abs(l.from - from) <= 2 * TOL && Math.abs(l.to - to) <= 2 * TOL;
    for (const l of lone) {
      if (fits(l) && l.pos > bottom && l.pos - bottom <= 3 * row) {
        grid.push(l);
        taken.add(l);
        bottom = l.pos;
      }
    }
    for (const l of [...lone].reverse()) {
      if (fits(l) && l.pos < top && top - l.pos <= 3 * row) {
        grid.push(l);
        taken.add(l);
        top = l.pos;
      }
    }
  }
  return [...grids, ...groups.filter((g) => !grids.includes(g)).map((g) => g.filter((l) => !taken.has(l))).filter((g) => g.length)];
}

function coverage(lines: Segment[], pos: number, from: number, to: number): number {
  const spans = lines
    .filter((l) => Math.abs(l.pos - pos) <= TOL + 0.5 && l.to > from && l.from < to)
    .map((l) => [Math.max(from, l.from), Math.min(to, l.to)] as [number, number])
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let reach = from;
  for (const [a, b] of spans) {
    if (b <= reach) continue;
    covered += b - Math.max(a, reach);
    reach = b;
  }
  return to > from ? covered / (to - from) : 0;
}

function latticeTable(comp: Segment[], words: PageWord[], frame: Frame): PageTable | undefined {
  const hs = comp.filter((l) => l.dir === 'h');
  const vs = comp.filter((l) => l.dir === 'v');
  if (hs.length < 2 || vs.length < 2) return undefined;
  let xs = clusterPositions(vs.map((l) => l.pos), TOL);
  let ys = clusterPositions(hs.map((l) => l.pos), TOL);
  // Rules that run past the outermost crossing rule bound cells too (tables without a frame).
  const minX = Math.min(...hs.map((l) => l.from));
  const maxX = Math.max(...hs.map((l) => l.to));
  const minY = Math.min(...vs.map((l) => l.from));
  const maxY = Math.max(...vs.map((l) => l.to));
  if (xs[0]! - minX > 3) xs.unshift(minX);
  if (maxX - xs[xs.length - 1]! > 3) xs.push(maxX);
  if (ys[0]! - minY > 3) ys.unshift(minY);
  if (maxY - ys[ys.length - 1]! > 3) ys.push(maxY);
  // Double rules make sliver rows and columns: drop positions closer than 3 pt to the previous.
  const thin = (p: number[]) => p.filter((v, i) => i === 0 || v - p[i - 1]! >= 3);
  xs = thin(xs);
  ys = thin(ys);
  const within = (w: PageWord) => cx(w.bbox) >= xs[0]! && cx(w.bbox) <= xs[xs.length - 1]! && cy(w.bbox) >= ys[0]! && cy(w.bbox) <= ys[ys.length - 1]!;
  ys = dropEmptySlivers(ys, words.filter(within).map((w) => cy(w.bbox)));
  xs = dropEmptySlivers(xs, words.filter(within).map((w) => cx(w.bbox)));
  if (xs.length < 3 || ys.length < 2) return undefined;
  // Rows found inside ruled rows are bordered as if ruled: a rule across the table at each cut.
  const ruledYs = ys;
  ys = splitBands(xs, ys, words.filter(within));
  const cuts = ys.filter((y) => !ruledYs.includes(y));
  hs.push(...cuts.map((pos): Segment => ({ dir: 'h', pos, from: xs[0]!, to: xs[xs.length - 1]! })));
  // Judge the ruled grid on its own first.
  const base = gridCells(xs, ys, vs, hs, words, frame, () => true, ruledYs);
  const filled = base.filter((c) => c.text);
  // A box around a paragraph, or a grid with next to no text, is not a table.
  if (filled.length < 2 || base.length < 2) return undefined;
  // Rules that only frame a block of aligned text (rows or columns without rules between them)
  // leave cells holding many lines: that table is read by text alignment instead.
  if (filled.filter((c) => c.text.split('\n').length >= 6).length > 0.1 * filled.length) return undefined;
  // So do rules around columns of figures that stand apart inside one ruled column.
  const cellWords = wordsOfCells(base, xs, ys, words);
  if (filled.filter((c) => wideGap(cellWords.get(c) ?? [])).length > 0.2 * filled.length) return undefined;
  const grown = extendGrid(xs, ys, words);
  const { added } = grown;
  const nR = grown.ys.length - 1;
  const nC = grown.xs.length - 1;
  // Cells in the added rows and columns are separated by the grid's own rows and columns.
  const ruled = (r: number, c: number) => r < nR - added.bottom && c >= added.left && c < nC - added.right;
  const cells = added.left + added.right + added.bottom === 0 ? base : gridCells(grown.xs, grown.ys, vs, hs, words, frame, ruled, ruledYs);
  if (chartOrSymbols(cells, nR, nC)) return undefined;
  // A title inside the frame (one cell across the whole first row, over a header of two cells or
  // more) is the table's caption, not a header over every column.
  const first = cells.filter((c) => c.row === 0);
  if (nR >= 3 && first.length === 1 && first[0]!.colSpan === nC && first[0]!.rowSpan === 1 && first[0]!.text && cells.filter((c) => c.row === 1 && c.text).length >= 2) {
    const body = cells.filter((c) => c.row > 0).map((c) => ({ ...c, row: c.row - 1 }));
    const box = { x0: grown.xs[0]!, y0: grown.ys[1]!, x1: grown.xs[nC]!, y1: grown.ys[nR]! };
    return { method: 'lattice', bbox: box, rows: nR - 1, cols: nC, cells: body.sort((a, b) => a.row - b.row || a.col - b.col), colEdges: grown.xs, angle: frame.angle, caption: first[0]!.text.replace(/\s+/g, ' ') };
  }
  const box = { x0: grown.xs[0]!, y0: grown.ys[0]!, x1: grown.xs[nC]!, y1: grown.ys[nR]! };
  return { method: 'lattice', bbox: box, rows: nR, cols: nC, cells: cells.sort((a, b) => a.row - b.row || a.col - b.col), colEdges: grown.xs, angle: frame.angle };
}

/**
 * Ruled grids that are not tables: a chart's gridlines (most of the grid empty, and most rows
 * holding one cell at most: an axis label, a legend entry) and the labels of a diagram set in a
 * symbol font (pdf.js maps glyphs it has no Unicode for to their codes, ASCII punctuation: most
 * cells are runs of it). Their words stay on the page as text.
 */
function chartOrSymbols(cells: GridCell[], rows: number, cols: number): boolean {
  const filled = cells.filter((c) => c.text);
  if (filled.filter((c) => isGlyphSoup(c.text)).length > 0.5 * filled.length) return true;
  if (rows < 4) return false;
  const perRow = new Array<number>(rows).fill(0);
  let covered = 0;
  for (const c of filled) {
    covered += c.rowSpan * c.colSpan;
    for (let r = c.row; r < Math.min(rows, c.row + c.rowSpan); r++) perRow[r]!++;
  }
  return covered < 0.2 * rows * cols && perRow.filter((n) => n <= 1).length > 0.5 * rows;
}

/**
 * Text made of two or more different ASCII punctuation marks and nothing else. Placeholders
 * ("-", "--", "...") and symbols outside ASCII (check marks, bullets, dashes) are not.
 */
function isGlyphSoup(text: string): boolean {
  const t = text.replace(/\s+/g, '');
  return /^[!-/:-@[-`{-~]+$/.test(t) && new Set(t).size >= 2;
}

/**
 * The cells of a grid: neighbours with no rule between them (where `ruled`) are one spanning cell.
 * `bands` are the ruled rows' edges when rows were found inside them (splitBands): whether text
 * keeps to a column border is judged over the whole ruled row.
 */
function gridCells(xs: number[], ys: number[], vs: Segment[], hs: Segment[], words: PageWord[], frame: Frame, ruled: (r: number, c: number) => boolean, bands: number[] = ys): GridCell[] {
  const nR = ys.length - 1;
  const nC = xs.length - 1;
  const id = (r: number, c: number) => r * nC + c;
  const parent = Array.from({ length: nR * nC }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const box = { x0: xs[0]!, y0: ys[0]!, x1: xs[nC]!, y1: ys[nR]! };
  const inside = words.filter((w) => centerInside(w.bbox, [box]));
  const byCol = Array.from({ length: nC }, () => [] as PageWord[]);
  for (const w of inside) byCol[slot(xs, cx(w.bbox))]!.push(w);
  // A column border the row's text keeps to (words on both sides with more than a word space
  // between them, none across it) separates cells even where its rule is missing: partly ruled
  // tables draw rules in the header only. A title centred over two columns has only word spaces.
  // The same holds for a row border with text above and below it, further apart than the lines
  // of one cell are.
  const keptBorder = (r: number, c: number, across: boolean) => {
    const [lo, hi] = across ? ['x0', 'x1'] as const : ['y0', 'y1'] as const;
    const at = across ? xs[c + 1]! : ys[r + 1]!;
    const band = bands[slot(bands, (ys[r]! + ys[r + 1]!) / 2)] ?? ys[r]!;
    const bandEnd = bands.find((y) => y > band) ?? ys[r + 1]!;
    const ws = across
      ? byCol[c]!.concat(byCol[c + 1]!).filter((w) => cy(w.bbox) >= Math.min(band, ys[r]!) && cy(w.bbox) <= Math.max(bandEnd, ys[r + 1]!))
      : byCol[c]!.filter((w) => cy(w.bbox) >= ys[r]! && cy(w.bbox) <= ys[r + 2]!);
    if (ws.some((w) => w.bbox[lo] < at - TOL && w.bbox[hi] > at + TOL)) return false;
    const before = ws.filter((w) => w.bbox[hi] <= at + TOL);
    const after = ws.filter((w) => w.bbox[lo] >= at - TOL);
    if (!before.length || !after.length) return false;
    const gap = Math.min(...after.map((w) => w.bbox[lo])) - Math.max(...before.map((w) => w.bbox[hi]));
    // Across a column border more than a word space (an em); down a row border more than the
    // leading of a cell's lines, however loose (an em and a half).
    return gap >= (across ? 1 : 1.5) * Math.max(...ws.map((w) => w.size));
  };
  // The rules along each column and row border, found once.
  const near = (lines: Segment[], pos: number) => lines.filter((l) => Math.abs(l.pos - pos) <= TOL + 0.5);
  const vAt = xs.map((x) => near(vs, x));
  const hAt = ys.map((y) => near(hs, y));
  for (let r = 0; r < nR; r++) {
    for (let c = 0; c < nC; c++) {
      if (c + 1 < nC && ruled(r, c) && ruled(r, c + 1) && coverage(vAt[c + 1]!, xs[c + 1]!, ys[r]!, ys[r + 1]!) < 0.5 && !keptBorder(r, c, true)) parent[find(id(r, c + 1))] = find(id(r, c));
      if (r + 1 < nR && ruled(r, c) && ruled(r + 1, c) && coverage(hAt[r + 1]!, ys[r + 1]!, xs[c]!, xs[c + 1]!) < 0.5 && !keptBorder(r, c, false)) parent[find(id(r + 1, c))] = find(id(r, c));
    }
  }
  const spansOf = () => {
    const spans = new Map<number, { r0: number; c0: number; r1: number; c1: number }>();
    for (let r = 0; r < nR; r++) {
      for (let c = 0; c < nC; c++) {
        const root = find(id(r, c));
        const s = spans.get(root);
        if (!s) spans.set(root, { r0: r, c0: c, r1: r, c1: c });
        else Object.assign(s, { r0: Math.min(s.r0, r), c0: Math.min(s.c0, c), r1: Math.max(s.r1, r), c1: Math.max(s.c1, c) });
      }
    }
    return spans;
  };
  let spans = spansOf();
  // A group that is not a rectangle (an L of unruled cells) cannot be one cell: its cells stay apart.
  const broken = [...spans].filter(([root, s]) => {
    for (let r = s.r0; r <= s.r1; r++) for (let c = s.c0; c <= s.c1; c++) if (find(id(r, c)) !== root) return true;
    return false;
  });
  if (broken.length) {
    const roots = new Set(broken.map(([root]) => root));
    const members = parent.map((_, i) => i).filter((i) => roots.has(find(i)));
    for (const i of members) parent[i] = i;
    spans = spansOf();
  }
  const byCell = new Map<number, PageWord[]>();
  for (const w of inside) {
    const root = find(id(slot(ys, cy(w.bbox)), slot(xs, cx(w.bbox))));
    const list = byCell.get(root);
    if (list) list.push(w);
    else byCell.set(root, [w]);
  }
  const cells: GridCell[] = [];
  for (const [root, s] of spans) {
    const ws = byCell.get(root) ?? [];
    cells.push({
      row: s.r0,
      col: s.c0,
      rowSpan: s.r1 - s.r0 + 1,
      colSpan: s.c1 - s.c0 + 1,
      bbox: { x0: xs[s.c0]!, y0: ys[s.r0]!, x1: xs[s.c1 + 1]!, y1: ys[s.r1 + 1]! },
      text: wordsText(ws, frame.angle),
      bold: ws.length > 0 && ws.every((w) => w.bold),
    });
  }
  return cells;
}

/** Each cell's words (by the grid position of their centre), in one pass over the words. */
function wordsOfCells(cells: GridCell[], xs: number[], ys: number[], words: PageWord[]): Map<GridCell, PageWord[]> {
  const nC = xs.length - 1;
  const at = new Map<number, GridCell>();
  for (const c of cells) for (let r = c.row; r < c.row + c.rowSpan; r++) for (let k = c.col; k < c.col + c.colSpan; k++) at.set(r * nC + k, c);
  const out = new Map<GridCell, PageWord[]>();
  const box = { x0: xs[0]!, y0: ys[0]!, x1: xs[nC]!, y1: ys[ys.length - 1]! };
  for (const w of words) {
    if (!centerInside(w.bbox, [box])) continue;
    const c = at.get(slot(ys, cy(w.bbox)) * nC + slot(xs, cx(w.bbox)));
    if (c) out.set(c, [...(out.get(c) ?? []), w]);
  }
  return out;
}

/** Words on one line of a cell further apart than an em and a half: columns without rules. */
function wideGap(words: PageWord[]): boolean {
  return rowsOf(words).some((r) => r.words.some((w, i) => i > 0 && w.bbox.x0 - r.words[i - 1]!.bbox.x1 >= 1.5 * Math.max(w.size, r.words[i - 1]!.size)));
}

/**
 * Rows a ruled row holds without rules between them: it is split where a blank line runs across
 * the whole table (no cell's text crosses it, and the gap is wider than the table's usual gap
 * between lines by half a line: boxes of words read from pixels hug the ink, so evenly spaced
 * lines show gaps near a line's height), and where every filled cell holds the same number of
 * lines, side by side, with a number among each line's cells (rows of figures that share one
 * ruled box). Wrapped text, one cell longer than another, stays one row.
 */
function splitBands(xs: number[], ys: number[], words: PageWord[]): number[] {
  const bands = ys.slice(0, -1).map((top, b) => bandLines(xs, top, ys[b + 1]!, words));
  // The table's usual gap between consecutive lines of a column.
  const gaps = bands.flatMap((cols) => [...cols.values()].flatMap((ls) => ls.slice(1).map((l, i) => l.top - ls[i]!.bottom)));
  const usualGap = gaps.length >= 3 ? gaps.sort((a, c) => a - c)[Math.floor(gaps.length / 2)]! : 0;
  const out = [ys[0]!];
  for (let b = 0; b + 1 < ys.length; b++) {
    const bottom = ys[b + 1]!;
    const cols = bands[b]!;
    const lines = [...cols.values()].flat().sort((a, c) => a.top - c.top);
    const cuts: number[] = [];
    if (lines.length >= 2) {
      const h = lines.map((l) => l.bottom - l.top).sort((a, c) => a - c)[Math.floor(lines.length / 2)]!;
      // Blank lines across the whole width.
      let reach = lines[0]!.bottom;
      for (const l of lines.slice(1)) {
        if (l.top - reach >= Math.max(0.8 * h, usualGap + 0.5 * h)) cuts.push((l.top + reach) / 2);
        reach = Math.max(reach, l.bottom);
      }
      // Rows of figures side by side.
      const filled = [...cols.values()];
      const k = filled[0]!.length;
      const aligned =
        cuts.length === 0 &&
        filled.length >= 2 &&
        k >= 2 &&
        filled.every((c) => c.length === k) &&
        Array.from({ length: k }, (_, i) => filled.map((c) => c[i]!)).every((row) => {
          const tops = row.map((l) => l.top);
          return Math.max(...tops) - Math.min(...tops) <= 0.4 * h && row.some((l) => l.words.some((w) => /\d/.test(w.text)));
        });
      if (aligned) for (let i = 1; i < k; i++) cuts.push((Math.max(...filled.map((c) => c[i - 1]!.bottom)) + Math.min(...filled.map((c) => c[i]!.top))) / 2);
    }
    out.push(...cuts, bottom);
  }
  return out;
}

type BandLine = { top: number; bottom: number; words: PageWord[] };

/** The lines of each column (by slot of `xs`) between `top` and `bottom`: words grouped by vertical overlap. */
function bandLines(xs: number[], top: number, bottom: number, words: PageWord[]): Map<number, BandLine[]> {
  const cols = new Map<number, BandLine[]>();
  const inBand = words.filter((w) => cy(w.bbox) > top && cy(w.bbox) < bottom);
  for (const w of inBand.sort((a, c) => a.bbox.y0 - c.bbox.y0)) {
    const col = slot(xs, cx(w.bbox));
    const lines = cols.get(col) ?? cols.set(col, []).get(col)!;
    const last = lines[lines.length - 1];
    if (last && Math.min(last.bottom, w.bbox.y1) - Math.max(last.top, w.bbox.y0) > 0.5 * Math.min(last.bottom - last.top, w.bbox.y1 - w.bbox.y0)) {
      last.top = Math.min(last.top, w.bbox.y0);
      last.bottom = Math.max(last.bottom, w.bbox.y1);
      last.words.push(w);
    } else lines.push({ top: w.bbox.y0, bottom: w.bbox.y1, words: [w] });
  }
  return cols;
}

/**
 * Rows (or columns) with no text that are much thinner than those with text (double rules, the
 * edges of shading) are artefacts of drawing: their far boundary is dropped.
 */
function dropEmptySlivers(edges: number[], centers: number[]): number[] {
  const filled = (a: number, b: number) => centers.some((v) => v > a && v < b);
  const bands = edges.slice(1).map((e, i) => ({ h: e - edges[i]!, text: filled(edges[i]!, e) }));
  const withText = bands.filter((x) => x.text).map((x) => x.h).sort((a, b) => a - b);
  if (withText.length === 0) return edges;
  const median = withText[Math.floor(withText.length / 2)]!;
  const out = [edges[0]!];
  bands.forEach((x, i) => {
    if (!x.text && x.h < 0.6 * median && i < bands.length - 1) return; // merge into the next band
    out.push(edges[i + 1]!);
  });
  return out;
}

/**
 * Text just outside a ruled grid that lines up with its rows (a label column left or right of
 * the rules) or with its columns (a totals row under them) belongs to the table: add it as a
 * column or row. Returns the grown edges and how much was added on each side.
 */
function extendGrid(xs: number[], ys: number[], words: PageWord[]) {
  const rowsWithText = (list: PageWord[]) => new Set(list.map((w) => slot(ys, cy(w.bbox)))).size;
  const colsWithText = (list: PageWord[]) => new Set(list.map((w) => slot(xs, cx(w.bbox)))).size;
  const inY = (w: PageWord) => cy(w.bbox) > ys[0]! && cy(w.bbox) < ys[ys.length - 1]!;
  const inX = (w: PageWord) => cx(w.bbox) > xs[0]! && cx(w.bbox) < xs[xs.length - 1]!;
  const inside = words.filter((w) => inY(w) && inX(w));
  const bodyRows = rowsWithText(inside);
  const heights = ys.slice(1).map((y, i) => y - ys[i]!).sort((a, b) => a - b);
  const lineHs = inside.map((w) => w.bbox.y1 - w.bbox.y0).sort((a, b) => a - b);
  // A row step: the grid's typical row, but never more than a few lines of its text.
  const rowH = Math.min(heights[Math.floor(heights.length / 2)]!, 2.5 * (lineHs[Math.floor(lineHs.length / 2)] ?? 10));
  const added = { left: 0, right: 0, top: 0, bottom: 0 };
  // A label column holds short labels; lines of running text beside the rules (prose in the
  // next column of the page) are no part of the table.
  const short = (list: PageWord[]) => {
    const texts = new Map<number, string[]>();
    for (const w of list) texts.set(slot(ys, cy(w.bbox)), [...(texts.get(slot(ys, cy(w.bbox))) ?? []), w.text]);
    const lens = [...texts.values()].map((t) => t.join(' ').length).sort((a, b) => a - b);
    return lens[Math.floor(lens.length / 2)]! <= 24;
  };
  const side = (list: PageWord[]) => list.length > 0 && rowsWithText(list) >= Math.max(2, 0.5 * bodyRows) && short(list);
  const left = words.filter((w) => inY(w) && w.bbox.x1 <= xs[0]! + 1 && xs[0]! - w.bbox.x0 < 200);
  if (side(left)) {
    xs = [Math.min(...left.map((w) => w.bbox.x0)) - 1, ...xs];
    added.left = 1;
  }
  const right = words.filter((w) => inY(w) && w.bbox.x0 >= xs[xs.length - 1]! - 1 && w.bbox.x1 - xs[xs.length - 1]! < 200);
  if (side(right)) {
    xs = [...xs, Math.max(...right.map((w) => w.bbox.x1)) + 1];
    added.right = 1;
  }
  // Rows under the grid: each within 1.5 row heights of the last, with text in most columns.
  for (;;) {
    const bottom = ys[ys.length - 1]!;
    const below = words.filter((w) => inX(w) && w.bbox.y0 >= bottom - 1 && w.bbox.y0 < bottom + 1.5 * rowH);
    // A totals row fills most columns; a footnote under the table does not, and lines of
    // running text under it run across the column borders.
    if (below.length === 0 || colsWithText(below) < Math.max(2, 0.4 * (xs.length - 1))) break;
    if (below.some((w) => xs.slice(1, -1).some((x) => w.bbox.x0 < x - TOL && w.bbox.x1 > x + TOL))) break;
    // Nor where a border falls between two of its words a word space apart: cells stand a gutter apart.
    const spaced = xs.slice(1, -1).every((x) => {
      const l = below.filter((w) => w.bbox.x1 <= x + TOL).sort((a, b) => b.bbox.x1 - a.bbox.x1)[0];
      const r = below.filter((w) => w.bbox.x0 >= x - TOL).sort((a, b) => a.bbox.x0 - b.bbox.x0)[0];
      return !l || !r || Math.abs(cy(l.bbox) - cy(r.bbox)) > 0.5 * l.size || r.bbox.x0 - l.bbox.x1 >= 0.45 * Math.max(l.size, r.size);
    });
    if (!spaced) break;
    const y1 = Math.max(...below.map((w) => w.bbox.y1)) + 1;
    if (y1 - bottom > 2 * rowH) break;
    ys = [...ys, y1];
    added.bottom++;
  }
  return { xs, ys, added };
}

function latticeTables(words: PageWord[], segments: Segment[]): PageTable[] {
  const lines = mergeSegments(segments);
  const out: PageTable[] = [];
  for (const comp of ruledComponents(lines)) {
    const hs = comp.filter((l) => l.dir === 'h');
    const vs = comp.filter((l) => l.dir === 'v');
    if (hs.length < 2 || vs.length < 2) continue;
    const region = {
      x0: Math.min(...comp.map((l) => (l.dir === 'h' ? l.from : l.pos))),
      y0: Math.min(...comp.map((l) => (l.dir === 'v' ? l.from : l.pos))),
      x1: Math.max(...comp.map((l) => (l.dir === 'h' ? l.to : l.pos))),
      y1: Math.max(...comp.map((l) => (l.dir === 'v' ? l.to : l.pos))),
    };
    const inside = words.filter((w) => centerInside(w.bbox, [region]));
    const frame = frameOf(dominantAngle(inside));
    // All the page's words go in: text just outside the rules may belong to the table.
    const t = latticeTable(mergeSegments(comp.map((l) => segmentInFrame(l, frame))), words.map((w) => ({ ...w, bbox: frame.box(w.bbox) })), frame);
    if (t) out.push(toDisplay(t, frame));
  }
  return out;
}

function toDisplay(t: PageTable, f: Frame): PageTable {
  if (f.angle === 0) return t;
  return { ...t, bbox: f.back(t.bbox), cells: t.cells.map((c) => ({ ...c, bbox: f.back(c.bbox) })) };
}

// ------------------------------------------------------------------ stream

interface Row {
  words: PageWord[];
  top: number;
  bottom: number;
  size: number;
  /** Runs of words separated by gaps wider than word spacing. */
  segs: { x0: number; x1: number; words: PageWord[] }[];
}

/**
 * A row's line height for spacing rules: its box, which for a text layer spans the font's ascent
 * and descent; for words read from pixels (they carry a confidence), which hug the ink, so that a
 * line of figures is only a cap height tall, at least the line's type size as the engine read it.
 */
const lineHeight = (r: Row) => (r.words.some((w) => w.conf !== undefined) ? Math.max(r.bottom - r.top, r.size) : r.bottom - r.top);

function rowsOf(words: PageWord[]): Row[] {
  const sorted = [...words].sort((a, b) => cy(a.bbox) - cy(b.bbox));
  const rows: Row[] = [];
  for (const w of sorted) {
    const h = w.bbox.y1 - w.bbox.y0;
    const row = rows.length ? rows[rows.length - 1] : undefined;
    if (row && Math.min(row.bottom, w.bbox.y1) - Math.max(row.top, w.bbox.y0) > 0.5 * Math.min(row.bottom - row.top, h)) {
      row.words.push(w);
      row.top = Math.min(row.top, w.bbox.y0);
      row.bottom = Math.max(row.bottom, w.bbox.y1);
      row.size = Math.max(row.size, w.size);
    } else rows.push({ words: [w], top: w.bbox.y0, bottom: w.bbox.y1, size: w.size, segs: [] });
  }
  for (const r of rows) {
    r.words.sort((a, b) => a.bbox.x0 - b.bbox.x0);
    for (const w of r.words) {
      const last = r.segs[r.segs.length - 1];
      if (last && w.bbox.x0 - last.x1 < 0.75 * r.size) {
        last.x1 = Math.max(last.x1, w.bbox.x1);
        last.words.push(w);
      } else r.segs.push({ x0: w.bbox.x0, x1: w.bbox.x1, words: [w] });
    }
  }
  return rows;
}

/**
 * Column gutters: x ranges free of words in nearly every row (all but a tenth) and of running
 * text (words less than an em apart) in most of them. Words, not runs, decide first, so that a
 * typewritten table whose numbers stand one space apart in some rows still shows its columns;
 * runs decide second, so that the word spaces of cells that line up (dates, names) do not.
 */
/** A dot leader or a rule typed as text: three or more dots, dashes, underscores or equals signs, and nothing else. */
const isLeader = (t: string) => /^(?:[.\u00b7\u2024\u2026]{3,}|[-_=\u2013\u2014\u2500]{3,})$/.test(t);

function streamColumns(rows: Row[], size: number): number[] | undefined {
  const x0 = Math.min(...rows.map((r) => r.segs[0]!.x0));
  const x1 = Math.max(...rows.map((r) => r.segs[r.segs.length - 1]!.x1));
  const n = Math.ceil(x1 - x0) + 1;
  const byWords = new Uint16Array(n);
  const bySegs = new Uint16Array(n);
  // Point-wide bins; a box covers the bins its extent rounds to.
  const mark = (cover: Uint16Array, a: number, b: number) => {
    for (let i = Math.max(0, Math.round(a - x0)); i < Math.round(b - x0) && i < n; i++) cover[i]!++;
  };
  // Dot leaders fill the space between a label and its value, and rules typed as dashes run
  // across the columns: neither covers a gutter. Nor does a line of one piece set in from both
  // edges: a title or a section heading centred over the figures ("Enrollment, in thousands").
  const headingOver = (r: Row) => r.segs.length === 1 && r.segs[0]!.x0 > x0 + 2 * size && r.segs[0]!.x1 < x1 - 2 * size;
  for (const r of rows) {
    if (headingOver(r)) continue;
    for (const s of r.segs) {
      let run: PageWord[] = [];
      const flush = () => {
        if (run.length) mark(bySegs, run[0]!.bbox.x0, run[run.length - 1]!.bbox.x1);
        run = [];
      };
      for (const w of s.words) {
        if (isLeader(w.text)) {
          flush();
          continue;
        }
        run.push(w);
        mark(byWords, w.bbox.x0, w.bbox.x1);
      }
      flush();
    }
  }
  const wordLimit = Math.max(0, Math.floor(rows.length * 0.1));
  const segLimit = Math.floor(rows.length * 0.2);
  const edges = [x0];
  let start = -1;
  for (let i = 0; i <= n; i++) {
    if (i < n && byWords[i]! <= wordLimit && bySegs[i]! <= segLimit) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= 0.5 * size) edges.push(x0 + (start + i) / 2);
      start = -1;
    }
  }
  edges.push(x1);
  return edges.length >= 3 ? edges : undefined;
}

/**
 * The unruled tables of a run of rows: one table, or two, split at a title line (a caption, or a
 * line of one piece set in from both edges) when both sides line up as tables with their columns
 * in other places: tables stacked without space between them.
 */
/**
 * Columns that no word's centre falls in, or that only the header rows' words reach (a header
 * wider than the narrow, centred figures under it leaves free space on both sides of them), are
 * part of the column next to them that holds the body's text.
 */
function dropHeaderSlivers(edges: number[], rows: Row[]): number[] {
  const out = [...edges];
  const head = Math.min(2, rows.length - 1);
  for (;;) {
    const nC = out.length - 1;
    const firstRow = Array.from({ length: nC }, () => Infinity);
    const count = new Array<number>(nC).fill(0);
    rows.forEach((r, ri) => {
      const seen = new Set<number>();
      for (const w of r.words) seen.add(slot(out, cx(w.bbox)));
      for (const c of seen) {
        count[c]++;
        firstRow[c] = Math.min(firstRow[c]!, ri);
      }
    });
    const bodyRows = (c: number) => rows.filter((r, ri) => ri >= head && r.words.some((w) => slot(out, cx(w.bbox)) === c)).length;
    const sliver = Array.from({ length: nC }, (_, c) => c).find((c) => count[c] === 0 || (bodyRows(c) === 0 && rows.length - head >= 3));
    if (sliver === undefined || nC <= 2) return out;
    // Joined to the neighbour with more body text (an edge between them goes).
    const left = sliver > 0 ? bodyRows(sliver - 1) : -1;
    const right = sliver < nC - 1 ? bodyRows(sliver + 1) : -1;
    out.splice(left >= right ? sliver : sliver + 1, 1);
  }
}

function tablesIn(body: Row[], frame: Frame, width: number): PageTable[] {
  const one = enoughCellRows(body) ? streamTable(body, frame, width) : undefined;
  let best: PageTable[] = one ? [one] : [];
  const left = Math.min(...body.map((r) => r.segs[0]!.x0));
  const right = Math.max(...body.map((r) => r.segs[r.segs.length - 1]!.x1));
  const size = Math.max(...body.map((r) => r.size));
  for (let k = 2; k < body.length - 2; k++) {
    if (body[k]!.segs.length >= 2) continue;
    // A title (a caption, or a line set in from both edges): a line at the left edge (the right
    // one in a right-to-left table) is a wrapped label or a section label of the same table.
    const line = body[k]!.words.map((w) => w.text).join(' ');
    const seg = body[k]!.segs[0]!;
    if (!isCaption(line) && (seg.x0 <= left + 2 * size || seg.x1 >= right - 2 * size)) continue;
    const parts = [body.slice(0, k), body.slice(k)].map((p) => (enoughCellRows(p) ? streamTable(p, frame, width) : undefined));
    if (!parts.every((t): t is PageTable => !!t)) continue;
    // Two parts with the same columns are one table with a gap or a wrapped label in it.
    const [p, q] = parts as [PageTable, PageTable];
    const sameColumns = p.cols === q.cols && p.colEdges.slice(1, -1).every((e, i) => Math.abs(e - q.colEdges[i + 1]!) <= 10);
    if (sameColumns && one) continue;
    const cells = (ts: PageTable[]) => ts.reduce((n, t) => n + t.rows * t.cols, 0);
    if (best.length < 2 || cells(parts) > cells(best)) best = parts;
  }
  return best;
}

function streamTables(words: PageWord[], width: number, rules: Segment[] = []): PageTable[] {
  const out: PageTable[] = [];
  const byAngle = new Map<number, PageWord[]>();
  for (const w of words) {
    const list = byAngle.get(w.angle);
    if (list) list.push(w);
    else byAngle.set(w.angle, [w]);
  }
  for (const [angle, group] of byAngle) {
    const frame = frameOf(angle);
    const rows = rowsOf(group.map((w) => ({ ...w, bbox: frame.box(w.bbox) })));
    const runs: { start: number; end: number; tables: PageTable[] }[] = [];
    let i = 0;
    let taken = 0; // rows before this index belong to a table already
    while (i < rows.length) {
      if (rows[i]!.segs.length < 2) {
        i++;
        continue;
      }
      // A run of multi-segment rows, tolerating single-segment rows (wrapped cells, labels).
      let j = i;
      let last = i;
      while (j + 1 < rows.length) {
        const next = rows[j + 1]!;
        const gap = next.top - rows[j]!.bottom;
        if (gap > 1.8 * Math.max(lineHeight(next), lineHeight(rows[j]!))) break;
        if (next.segs.length >= 2) last = j + 1;
        else if (j + 1 - last > 2) break;
        j++;
      }
      // Header rows often stand apart from the body: take multi-cell rows a few lines above.
      let start = i;
      while (start - 1 >= taken && rows[start - 1]!.segs.length >= 2) {
        const above = rows[start - 1]!;
        if (rows[start]!.top - above.bottom > 3.5 * lineHeight(above)) break;
        start--;
      }
      const body = rows.slice(start, last + 1);
      const found = tablesIn(body, frame, width);
      if (found.length) {
        runs.push({ start, end: last, tables: found });
        taken = last + 1;
      }
      i = last + 1;
    }
    const framed = rules.map((l) => segmentInFrame(l, frame)).filter((l) => l.dir === 'h');
    for (const run of joinRuns(runs, rows, frame, width, framed)) out.push(...run.tables.map((t) => toDisplay(t, frame)));
  }
  return out;
}

/**
 * One table that white space broke in two (a gap before a section of the table, a header block
 * set apart): two tables found one above the other over the same width are read again as one
 * when they are less than four lines apart, or lie between the same two rules that span them
 * both with none between them (the top and bottom rules of a table ruled only across); they
 * become one when that keeps
 * all their rows and as many columns as the narrower had.
 */
function joinRuns(runs: { start: number; end: number; tables: PageTable[] }[], rows: Row[], frame: Frame, width: number, rules: Segment[]): typeof runs {
  const out: typeof runs = [];
  for (const run of runs) {
    const prev = out[out.length - 1];
    if (prev && prev.tables.length === 1 && run.tables.length === 1) {
      const [a, b] = [prev.tables[0]!, run.tables[0]!];
      const lineH = Math.max(lineHeight(rows[prev.end]!), lineHeight(rows[run.start]!));
      const gap = rows[run.start]!.top - rows[prev.end]!.bottom;
      const overlap = Math.min(a.bbox.x1, b.bbox.x1) - Math.max(a.bbox.x0, b.bbox.x0);
      const x0 = Math.min(a.bbox.x0, b.bbox.x0);
      const x1 = Math.max(a.bbox.x1, b.bbox.x1);
      const spans = (l: Segment) => l.from <= x0 + 0.1 * (x1 - x0) && l.to >= x1 - 0.1 * (x1 - x0);
      const framed =
        rules.some((l) => spans(l) && l.pos <= a.bbox.y0 + TOL) &&
        rules.some((l) => spans(l) && l.pos >= b.bbox.y1 - TOL) &&
        !rules.some((l) => spans(l) && l.pos >= a.bbox.y1 - TOL && l.pos <= b.bbox.y0 + TOL);
      if ((gap <= 4 * lineH || framed) && overlap >= 0.8 * Math.min(a.bbox.x1 - a.bbox.x0, b.bbox.x1 - b.bbox.x0)) {
        const joined = streamTable(rows.slice(prev.start, run.end + 1), frame, width);
        if (joined && joined.rows >= a.rows + b.rows && joined.cols >= Math.min(a.cols, b.cols)) {
          out[out.length - 1] = { start: prev.start, end: run.end, tables: [joined] };
          continue;
        }
      }
    }
    out.push(run);
  }
  return out;
}

/** Enough rows split into two pieces or more for an unruled table: three. */
function enoughCellRows(rows: Row[]): boolean {
  return rows.filter((r) => r.segs.length >= 2).length >= 3;
}

/**
 * A caption on top of a run of rows ("Table A-1. Summary of ...", and the lines that go on with
 * it: they start in lower case) is the table's title, not its first rows.
 */
function peelCaption(rows: Row[]): { caption?: string; rows: Row[] } {
  const text = (r: Row) => r.words.map((w) => w.text).join(' ');
  if (!rows.length || !isCaption(text(rows[0]!))) return { rows };
  let n = 1;
  while (n < Math.min(rows.length, 4) && /^\p{Ll}/u.test(rows[n]!.words[0]?.text ?? '')) n++;
  return { caption: rows.slice(0, n).map(text).join(' '), rows: rows.slice(n) };
}

function streamTable(all: Row[], frame: Frame, width: number, retried = false): PageTable | undefined {
  const { caption, rows } = peelCaption(all);
  // Under a figure's caption, text that lines up is the figure's labels, not a table.
  if (caption && /^(fig|chart|graph|image|photo|plate)/i.test(caption)) return undefined;
  if (!enoughCellRows(rows)) return undefined;
  const size = Math.max(...rows.map((r) => r.size));
  const found = streamColumns(rows, size);
  if (!found) return undefined;
  const edges = dropHeaderSlivers(found, rows);
  if (edges.length < 3) return undefined;
  const nC = edges.length - 1;
  const grid: PageWord[][][] = rows.map(() => Array.from({ length: nC }, () => []));
  rows.forEach((r, ri) => {
    for (const w of r.words) grid[ri]![slot(edges, cx(w.bbox))]!.push(w);
  });
  // Prose in columns is not a table: cells of a table are short.
  const lens = grid.flat().filter((ws) => ws.length).map((ws) => ws.reduce((n, w) => n + w.text.length + 1, 0));
  lens.sort((a, b) => a - b);
  if (lens.length < 6 || lens[Math.floor(lens.length / 2)]! > 30) return undefined;
  // What is left beside running text is a table when it starts with a row of two cells or more
  // (its header); labels of a figure are scattered one or two to a row.
  if (retried && grid[0]!.filter((ws) => ws.length).length < 2) return undefined;
  // Columns used by almost no row are noise.
  const used = Array.from({ length: nC }, (_, c) => grid.filter((row) => row[c]!.length).length);
  // A column whose cells are mostly whole lines of prose (eight words or more; dot leaders and
  // numbers are not words) is running text beside a table or a figure whose labels line up: the
  // rest is looked at again without it.
  const words = (ws: PageWord[]) => ws.filter((w) => /\p{L}{2}/u.test(w.text)).length;
  const prose = Array.from({ length: nC }, (_, c) => grid.filter((row) => words(row[c]!) >= 8).length).map(
    (n, c) => n >= 3 && n >= 0.5 * used[c]!,
  );
  if (prose.some(Boolean)) {
    if (retried) return undefined;
    const kept = rows.flatMap((r) => r.words).filter((w) => !prose[slot(edges, cx(w.bbox))]);
    const rest = rowsOf(kept);
    return enoughCellRows(rest) ? streamTable(rest, frame, width, true) : undefined;
  }
  if (used.filter((u) => u >= Math.max(2, rows.length * 0.3)).length < 2) return undefined;
  const box = {
    x0: edges[0]!,
    y0: Math.min(...rows.map((r) => r.top)),
    x1: edges[nC]!,
    y1: Math.max(...rows.map((r) => r.bottom)),
  };
  if (box.x1 - box.x0 < 0.1 * width) return undefined;
  // A grid that is mostly holes, or whose cells are mostly symbols (labels scattered over a
  // diagram, glyphs of a symbol font), is not a table.
  const texts = grid.flat().filter((ws) => ws.length).map((ws) => ws.map((w) => w.text).join(' '));
  if (texts.length < 0.35 * rows.length * nC) return undefined;
  if (texts.filter((t) => /[\p{L}\p{N}]/u.test(t)).length < 0.8 * texts.length) return undefined;
  const groups = logicalRows(rows, grid, edges);
  const cells: GridCell[] = [];
  groups.forEach((g, ri) => {
    const top = Math.min(...g.map((i) => rows[i]!.top));
    const bottom = Math.max(...g.map((i) => rows[i]!.bottom));
    for (let c = 0; c < nC; c++) {
      const ws = g.flatMap((i) => grid[i]![c]!);
      cells.push({
        row: ri,
        col: c,
        rowSpan: 1,
        colSpan: 1,
        bbox: { x0: edges[c]!, y0: top, x1: edges[c + 1]!, y1: bottom },
        text: wordsText(ws, frame.angle),
        bold: ws.length > 0 && ws.every((w) => w.bold),
      });
    }
  });
  return { method: 'stream', bbox: box, rows: groups.length, cols: nC, cells, colEdges: edges, angle: frame.angle, ...(caption ? { caption } : {}) };
}

const numeric = (ws: PageWord[]) => ws.length > 0 && ws.every((w) => /^[-+(\u2212\u2013]?[$\u20ac\u00a3\u00a5]?[\d.,]*\d[\d.,]*%?\)?$/.test(w.text));

/**
 * Lines of an unruled table grouped into its rows (indices into `rows`):
 * - the header's lines (the leading lines holding no figures, over a body of figures) are one
 *   row when some column has text on one line and not the next (cells wrapped over lines) and
 *   no word of them runs across a column border (a header over several columns stays a row);
 * - two neighbouring lines where no column has text in both (a label wrapped over lines, its
 *   figures on one of them) are one row, as is a line of text only, shorter than the row above,
 *   that starts in lower case (the rest of a label).
 */
function logicalRows(rows: Row[], grid: PageWord[][][], edges: number[]): number[][] {
  const nC = edges.length - 1;
  const filled = (i: number) => grid[i]!.map((ws) => ws.length > 0);
  const hasFigures = (i: number) => grid[i]!.some(numeric);
  const crosses = (i: number) => rows[i]!.words.some((w) => edges.slice(1, -1).some((x) => w.bbox.x0 < x - TOL && w.bbox.x1 > x + TOL));
  const close = (a: number, b: number) => rows[b]!.top - rows[a]!.bottom <= 0.6 * Math.min(rows[a]!.bottom - rows[a]!.top, rows[b]!.bottom - rows[b]!.top);
  // The header zone is known only over a body of figures.
  let head = 0;
  if (rows.some((_, i) => hasFigures(i))) while (head < Math.min(4, rows.length - 2) && !hasFigures(head)) head++;
  const groups: number[][] = [];
  for (let i = 0; i < rows.length; i++) {
    const g = groups[groups.length - 1];
    const prev = g?.[g.length - 1];
    if (g && prev !== undefined && close(prev, i)) {
      // Header lines that are rows of their own fill every column they share; lines of
      // wrapped header cells leave some column empty on one of them.
      const uneven = filled(i).some((v, c) => v !== filled(prev)[c]);
      if (i < head && g[0]! < head && uneven && !g.some(crosses) && !crosses(i)) {
        g.push(i);
        continue;
      }
      if (i >= head && g[0]! >= head) {
        const mine = filled(i);
        const theirs = g.map(filled).reduce((a, b) => a.map((v, c) => v || b[c]!));
        const apart = mine.every((v, c) => !(v && theirs[c]));
        const partial = theirs.some((v, c) => v && !mine[c]);
        const rest = !hasFigures(i) && partial && /^\p{Ll}/u.test(rows[i]!.words[0]?.text ?? '') && mine.some((v, c) => v && theirs[c]);
        if ((apart && nC > 1) || rest) {
          g.push(i);
          continue;
        }
      }
    }
    groups.push([i]);
  }
  return groups;
}

/**
 * A cheap look at a page's words: do a few rows close together split into two or more short
 * pieces, and do those pieces line up (left or right edges) from row to row? Table cells are
 * short and stacked in columns; the lines of prose in columns are long, and text whose spacing
 * pdf.js gets wrong splits into short pieces that do not line up.
 */
export function looksTabular(words: PageWord[]): boolean {
  const rows = rowsOf(words);
  let streak = 0;
  let run: Row[] = [];
  for (const r of rows) {
    const lens = r.segs.map((s) => s.words.reduce((n, w) => n + w.text.length + 1, 0)).sort((a, b) => a - b);
    const cellLike = r.segs.length >= 2 && lens[Math.floor((lens.length - 1) / 2)]! < 12 && mostlyAlphanumeric(r);
    if (cellLike) {
      run.push(r);
      streak = 0;
      // Among the last four such rows, an inner edge that three of them share (the outer edges
      // of justified prose line up too).
      if (run.length >= 3 && sharedInnerEdge(run.slice(-4))) return true;
    } else if (++streak > 2) run = [];
  }
  return false;
}

/** Cells hold words and numbers; glyphs pdf.js cannot map come out as punctuation soup. */
function mostlyAlphanumeric(r: Row): boolean {
  let alnum = 0;
  let all = 0;
  for (const w of r.words) {
    all += w.text.length;
    for (const ch of w.text) if (/[\p{L}\p{N}]/u.test(ch)) alnum++;
  }
  return alnum >= 0.6 * all;
}

/**
 * Whether at least three of the rows have a piece on the same inner edge (left edges but the
 * first, right edges but the last; to 2 pt).
 */
function sharedInnerEdge(rows: Row[]): boolean {
  const count = new Map<string, number>();
  for (const r of rows) {
    const seen = new Set<string>();
    r.segs.forEach((s, i) => {
      const edges: (readonly ['l' | 'r', number])[] = [];
      if (i > 0) edges.push(['l', s.x0]);
      if (i < r.segs.length - 1) edges.push(['r', s.x1]);
      for (const [side, x] of edges) {
        const bin = Math.round(x / 2);
        // A neighbouring bin counts as the same edge (rounding splits edges that are 1 pt apart).
        for (const b of [bin - 1, bin, bin + 1]) seen.add(`${side}${b}`);
      }
    });
    for (const k of seen) count.set(k, (count.get(k) ?? 0) + 1);
  }
  return [...count.values()].some((n) => n >= 3);
}

// ------------------------------------------------------------------ entry

/** Tables on one page: ruled ones first; unruled ones among the words no ruled table took. */
export function detectTables(words: PageWord[], segments: Segment[], width: number): PageTable[] {
  const lattice = latticeTables(words, segments).filter((t) => !mostlyUnsure(t, words));
  const rest = words.filter((w) => !centerInside(w.bbox, lattice.map((t) => t.bbox)));
  return [...lattice, ...streamTables(rest, width, mergeSegments(segments).filter((l) => l.dir === 'h'))];
}

/**
 * A ruled grid where two words in five that were read from pixels are unsure (confidence under
 * 0.6) is no table: the engine read drawn lines there (a chart's curves between its gridlines).
 * Cells of a table, even on a poor scan, read better than that.
 */
function mostlyUnsure(t: PageTable, words: PageWord[]): boolean {
  const read = words.filter((w) => w.conf !== undefined && centerInside(w.bbox, [t.bbox]));
  return read.length >= 4 && read.filter((w) => w.conf! < 0.6).length >= 0.4 * read.length;
}

// ------------------------------------------------------------------ document level

/** A page's table with where it stands on its page. */
export interface PlacedTable {
  key: string;
  page: number;
  table: PageTable;
  /** Nothing but running headers above it / footers and footnotes below it on its page. */
  first: boolean;
  last: boolean;
}

export interface AssembledCell extends GridCell {
  page: number;
}

export interface AssembledTable {
  id: string;
  method: PageTable['method'];
  rows: number;
  cols: number;
  headerRows: number;
  regions: { page: number; bbox: BBox }[];
  rowPages: number[];
  cells: AssembledCell[];
  /** Page-table keys that make up this table. */
  keys: string[];
  caption?: string;
  prov?: PageTable['prov'];
}

const looksNumeric = (t: string) => /^[-+(−–]?[$€£¥]?\s?\d[\d.,\s]*%?\)?$/.test(t.trim());

const isYear = (t: string) => /^(1[89]|20)\d\d$/.test(t.trim());

/**
 * Header rows: the leading rows until the first row with data in the numeric columns (a row of
 * years over a body of other numbers is a header), widened to the rows that header cells span
 * down over, and to leading rows set in bold over a body that is not.
 */
export function headerRowCount(rows: number, cols: number, cells: GridCell[]): number {
  if (rows < 2) return 0;
  const grid = tableGrid(rows, cols, cells);
  const numericCol = Array.from({ length: cols }, (_, c) => {
    const vals = grid.slice(1).map((r) => r[c]!.trim()).filter(Boolean);
    return vals.length >= 2 && vals.filter(looksNumeric).length >= 0.6 * vals.length;
  });
  const yearsOnly = (r: number) => grid[r]!.every((t, c) => !numericCol[c] || !t.trim() || isYear(t)) && grid[r]!.some((t) => isYear(t));
  let h = 1;
  if (numericCol.some(Boolean)) {
    h = 0;
    const data = (r: number) => grid[r]!.some((t, c) => numericCol[c] && looksNumeric(t)) && !(yearsOnly(r) && r + 1 < rows && !yearsOnly(r + 1));
    while (h < Math.min(rows - 1, 6) && !data(h)) h++;
    h = Math.max(1, h);
  }
  const boldRow = (r: number) => cells.filter((c) => c.row === r && c.text).every((c) => c.bold) && cells.some((c) => c.row === r && c.text);
  let hb = 0;
  while (hb < rows - 1 && boldRow(hb)) hb++;
  if (hb > 0 && hb < rows - 1 && cells.some((c) => c.row >= hb && c.text && !c.bold)) h = Math.max(h, hb);
  // Header cells that span down make the rows they cover header rows.
  for (let grew = true; grew; ) {
    grew = false;
    for (const c of cells) if (c.row < h && c.row + c.rowSpan > h && c.row + c.rowSpan < rows) (h = c.row + c.rowSpan), (grew = true);
  }
  return Math.min(h, rows - 1);
}


const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();

/** Does `b` (top of the next page) continue `a` (bottom of this page)? */
function continues(a: AssembledTable, b: PageTable): boolean {
  if (b.cols !== a.cols) return false;
  const lastRegion = a.regions[a.regions.length - 1]!;
  const wa = lastRegion.bbox.x1 - lastRegion.bbox.x0;
  const last = a.cells.filter((c) => c.page === lastRegion.page);
  // Same column layout: the column edges of both line up within 3% of the width.
  const edgesA = [...new Set(last.map((c) => Math.round(c.bbox.x0)))].sort((x, y) => x - y);
  const edgesB = [...new Set(b.cells.map((c) => Math.round(c.bbox.x0)))].sort((x, y) => x - y);
  if (edgesA.length === edgesB.length && edgesA.every((e, i) => Math.abs(e - edgesB[i]!) <= 0.03 * wa)) return true;
  // Or the header is repeated at the top of the next page.
  const headA = tableGrid(a.rows, a.cols, a.cells).slice(0, Math.max(1, a.headerRows)).map((r) => r.map(norm).join('|'));
  const headB = tableGrid(b.rows, b.cols, b.cells).slice(0, headA.length).map((r) => r.map(norm).join('|'));
  return headA.join('\n') === headB.join('\n');
}

/** Page tables -> document tables: a table that runs on at the top of the next page is merged. */
export function assembleTables(placed: PlacedTable[]): AssembledTable[] {
  const out: AssembledTable[] = [];
  let prev: { t: AssembledTable; page: number; last: boolean } | undefined;
  for (const p of placed) {
    const t = p.table;
    const grid = tableGrid(t.rows, t.cols, t.cells);
    if (prev && prev.last && p.first && p.page === prev.page + 1 && continues(prev.t, t)) {
      const a = prev.t;
      // Drop the repeated header rows of the continuation.
      const headA = tableGrid(a.rows, a.cols, a.cells).slice(0, a.headerRows).map((r) => r.map(norm).join('|'));
      let skip = 0;
      while (skip < headA.length && skip < t.rows && grid[skip]!.map(norm).join('|') === headA[skip]) skip++;
      const offset = a.rows - skip;
      for (const c of t.cells) {
        if (c.row < skip) continue;
        a.cells.push({ ...c, row: c.row + offset, rowSpan: Math.min(c.rowSpan, t.rows - c.row), page: p.page });
      }
      for (let r = skip; r < t.rows; r++) a.rowPages.push(p.page);
      a.rows += t.rows - skip;
      a.regions.push({ page: p.page, bbox: t.bbox });
      a.keys.push(p.key);
      prev = { t: a, page: p.page, last: p.last };
      continue;
    }
    const a: AssembledTable = {
      id: `t${out.length + 1}`,
      method: t.method,
      rows: t.rows,
      cols: t.cols,
      headerRows: t.headerRows ?? headerRowCount(t.rows, t.cols, t.cells),
      ...(t.prov ? { prov: t.prov } : {}),
      regions: [{ page: p.page, bbox: t.bbox }],
      rowPages: Array.from({ length: t.rows }, () => p.page),
      cells: t.cells.map((c) => ({ ...c, page: p.page })),
      keys: [p.key],
      ...(t.caption ? { caption: t.caption } : {}),
    };
    out.push(a);
    prev = { t: a, page: p.page, last: p.last };
  }
  return out;
}

