// Pure scoring of extracted tables against expected grids, for bench/tables.ts: normalise cell
// text, align an extracted table to an expectation (row/column offset), match cells, P/R/F1,
// "reproduced exactly", and the file-level pairing of expected and extracted tables (page, area).
// No I/O and no project imports, so test/table-score.test.ts runs without the corpus.
//
// Conventions (printed by the benchmark too):
// - Only cells whose text is non-empty after normalisation count, on both sides: empty padding
//   (camelot/tabula fill merged and missing positions with "") neither helps nor hurts.
// - Spans: a cell's text sits at its top-left position (ICDAR `spans`, camelot, tabula and
//   Table.cells all agree on this); the extracted side is read from Table.cells, never from
//   Table.rows, which repeats a spanned text in every position it covers. An expected and an
//   extracted cell match when their texts are equal and their rectangles overlap after alignment
//   (so a spanned header found at the span's top-left, or inside it, counts once).
// - Alignment: one row/column offset per table pair, the one with the most matches (ties: the
//   smallest shift), tried on the grids as they are and on the grids without their empty rows and
//   columns (so that blank spacer rows on one side do not break the alignment); the better wins
//   (ties: as they are). Extra or missing leading rows/columns cost only their own cells.
// - Area-restricted expectations (tabula) cover only part of a table: the extracted cells count
//   when their centre lies inside the area and, after alignment, inside the expected grid's extent.
//
// ICDAR 2013 (human ground truth, ../shared/bench/tables-icdar/; scoreIcdar and the functions
// above it), end to end: every table on every page, no areas given.
// - Adjacency relations (the competition's measure): every non-empty cell (after
//   normalizeCellText) is related to its nearest non-empty neighbour to the right in the same row
//   ('h') and below in the same column ('v'); a spanning cell takes part in every row and column it
//   covers, with its top-left text, and a pair of cells is counted once. A relation is
//   (textA, textB, direction); an annotated table and the extracted table paired with it are
//   compared as multisets of relations. Relations are independent of where a grid starts, so a
//   leading empty row/column or a title row costs only the relations it adds.
// - Pairing: an extracted table is cut into one piece per page it has cells on (its cells on that
//   page, with their row/col in the whole table), so a table folio merged across pages is scored on
//   each page by its cells there. A piece overlaps an annotated table of its page by the number of
//   its non-empty cells whose bbox centre lies inside the annotated region (table_bboxes_pdf turned
//   into the page's top-left frame; 1 pt slack); the overlap is substantial when it is at least 2
//   (1 for a piece of one cell) and at least half of the piece's cells or a fifth of the annotated
//   table's cells. Pairs are made one-to-one, greedily by overlap (largest first; ties: larger
//   intersection of the region boxes), among substantial overlaps only. An annotated table without
//   a region pairs by the number of cell texts it shares with the piece instead.
// - Counting (micro over a document and over the corpus): a paired annotated table counts its
//   relations (recall's denominator), the piece its relations (precision's), the multiset
//   intersection as matches; an unpaired annotated table counts all its relations as missed, an
//   unpaired piece (on any page, annotated or not) all its relations as extra. Cell-text F1: the
//   same with the non-empty cells' normalised texts (a spanned cell once) instead of relations.
// - Diagnosis per annotated table, the first that holds: 'missed' (unpaired and no piece
//   overlaps it substantially), 'merged' (unpaired but inside a piece paired with another
//   annotated table, or paired with a piece that also overlaps another annotated table
//   substantially), 'split' (two or more pieces overlap it substantially), 'rows' / 'cols' (the
//   number of rows / columns occupied by non-empty cells differs between the two), 'ok'.
// - Numeric columns: in a paired table, an annotated column whose non-empty body cells (all rows
//   but the first) all look like numbers (looksNumeric) is numeric; it comes out numeric when the
//   piece's column sharing most texts with it (votes by equal text) has a typed value (number,
//   percent or currency) on every body cell (Cell.header false) whose text matches one of the
//   column's body cells, and at least one such cell. No matching cell counts as not numeric.

export type Span = readonly [r0: number, c0: number, r1: number, c1: number];

/** A cell that counts: non-empty normalised text, at (row, col), covering rowSpan x colSpan positions. */
export interface ScoreCell {
  row: number;
  col: number;
  rowSpan: number;
  colSpan: number;
  text: string;
  /** Position in the source grid (row, col) before compaction, for reports. */
  at?: readonly [number, number];
}

/** Axis-aligned box in points, origin top-left of the displayed page (as Document bboxes). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** What the scorer needs of a folio Table (schemas/document.ts) - structurally. */
export interface TableLike {
  regions: readonly { page: number; bbox?: Box }[];
  cells: readonly {
    row: number;
    col: number;
    rowSpan: number;
    colSpan: number;
    text: string;
    page: number;
    bbox: Box;
    /** Typed value (Cell.value); only its presence and type are read (numeric columns). */
    value?: { type: string };
    /** Cell.header: header cells are not body cells (numeric columns). */
    header?: boolean;
  }[];
}

/** [top, left, bottom, right] in points, origin top-left of the displayed page (tabula's area). */
export type Area = readonly [top: number, left: number, bottom: number, right: number];

/** [x1, y1, x2, y2] in PDF points, origin bottom-left (ICDAR `table_bboxes_pdf`). */
export type PdfBox = readonly [x1: number, y1: number, x2: number, y2: number];

export interface ExpectedTable {
  page: number;
  rows: string[][];
  spans: Span[];
  area?: Area;
  /** The table's region, from `table_bboxes_pdf` (ICDAR). */
  bboxPdf?: PdfBox;
}

export interface ExpectedDoc {
  groundTruth: string;
  tables: ExpectedTable[];
}

/**
 * Cell text for comparison: NFKC, case-folded, every whitespace character removed (line breaks
 * "\n" and tabula's "\r" included; tools also differ on spaces inside cells: camelot "11,062 .6",
 * tabula "5 2.976,4"), zero-width characters removed, and dot leaders ("Total . . . . .") removed,
 * since how many leader dots land in a cell is an accident of the tool. A cell that is only dots
 * ("..", a "not available" mark) keeps them.
 */
export function normalizeCellText(s: string): string {
  const t = s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s\u200b-\u200d\u2060\u00ad]+/gu, '');
  const noLeaders = t.replace(/\.{2,}/g, '');
  return noLeaders || t;
}

/** Expected grid ("" = empty) with optional spans -> the cells that count. Covered positions never count. */
export function cellsFromGrid(rows: readonly (readonly string[])[], spans: readonly Span[] = []): ScoreCell[] {
  const origin = new Map<string, Span>();
  const covered = new Set<string>();
  for (const s of spans) {
    const [r0, c0, r1, c1] = s;
    origin.set(`${r0},${c0}`, s);
    for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) if (r !== r0 || c !== c0) covered.add(`${r},${c}`);
  }
  const out: ScoreCell[] = [];
  rows.forEach((row, r) =>
    row.forEach((raw, c) => {
      const key = `${r},${c}`;
      if (covered.has(key)) return;
      const text = normalizeCellText(raw ?? '');
      if (!text) return;
      const s = origin.get(key);
      out.push({ row: r, col: c, rowSpan: s ? s[2] - s[0] + 1 : 1, colSpan: s ? s[3] - s[1] + 1 : 1, text, at: [r, c] });
    }),
  );
  return out;
}

/** Extracted cells (Table.cells) -> the cells that count. */
export function cellsFromTable(cells: readonly { row: number; col: number; rowSpan: number; colSpan: number; text: string }[]): ScoreCell[] {
  const out: ScoreCell[] = [];
  for (const c of cells) {
    const text = normalizeCellText(c.text);
    if (text) out.push({ row: c.row, col: c.col, rowSpan: Math.max(1, c.rowSpan), colSpan: Math.max(1, c.colSpan), text, at: [c.row, c.col] });
  }
  return out;
}

/**
 * Drop the rows and columns that no cell occupies (renumber densely). Spans keep their size: the
 * rows and columns a cell covers are occupied by it.
 */
export function compact(cells: readonly ScoreCell[]): ScoreCell[] {
  const dense = (occupied: Set<number>) => {
    const map = new Map<number, number>();
    [...occupied].sort((a, b) => a - b).forEach((v, i) => map.set(v, i));
    return map;
  };
  const rows = new Set<number>();
  const cols = new Set<number>();
  for (const c of cells) {
    for (let r = c.row; r < c.row + c.rowSpan; r++) rows.add(r);
    for (let k = c.col; k < c.col + c.colSpan; k++) cols.add(k);
  }
  const R = dense(rows);
  const C = dense(cols);
  return cells.map((c) => ({ ...c, row: R.get(c.row)!, col: C.get(c.col)!, at: c.at ?? [c.row, c.col] }));
}

export interface Match {
  /** Offset: extracted position = expected position + (dr, dc). */
  dr: number;
  dc: number;
  matched: number;
  expected: number;
  extracted: number;
  /** Every expected cell matched and no extracted cell left over. */
  exact: boolean;
}

const KEY = 1_000_003;
const key = (r: number, c: number) => r * KEY + c;

/** Matches (one-to-one) with the extracted table shifted by (dr, dc) relative to the expectation. */
export function matchAt(expected: readonly ScoreCell[], extracted: readonly ScoreCell[], dr: number, dc: number): number {
  return pairUp(expected, extracted, dr, dc).matched;
}

/** The cells left over at offset (dr, dc): expected ones not found, extracted ones not matching. */
export function diffAt(expected: readonly ScoreCell[], extracted: readonly ScoreCell[], dr: number, dc: number): { missed: ScoreCell[]; extra: ScoreCell[] } {
  const { done, used } = pairUp(expected, extracted, dr, dc);
  return { missed: expected.filter((_, i) => !done[i]), extra: extracted.filter((_, j) => !used[j]) };
}

function pairUp(expected: readonly ScoreCell[], extracted: readonly ScoreCell[], dr: number, dc: number): { matched: number; done: Uint8Array; used: Uint8Array } {
  // Every extracted position -> the extracted cell covering it.
  const at = new Map<number, number>();
  extracted.forEach((x, i) => {
    for (let r = x.row; r < x.row + x.rowSpan; r++) for (let c = x.col; c < x.col + x.colSpan; c++) if (!at.has(key(r, c))) at.set(key(r, c), i);
  });
  const lookup = (r: number, c: number) => (r < 0 || c < 0 || c >= KEY ? undefined : at.get(key(r, c)));
  const used = new Uint8Array(extracted.length);
  const done = new Uint8Array(expected.length);
  let matched = 0;
  // Pass 1: the extracted cell at the expected cell's (shifted) top-left.
  expected.forEach((e, i) => {
    const j = lookup(e.row + dr, e.col + dc);
    if (j !== undefined && !used[j] && extracted[j]!.text === e.text) {
      used[j] = 1;
      done[i] = 1;
      matched++;
    }
  });
  // Pass 2: for spanned expected cells, any equal extracted cell inside the span.
  expected.forEach((e, i) => {
    if (done[i] || (e.rowSpan === 1 && e.colSpan === 1)) return;
    for (let r = e.row; r < e.row + e.rowSpan; r++) {
      for (let c = e.col; c < e.col + e.colSpan; c++) {
        const j = lookup(r + dr, c + dc);
        if (j !== undefined && !used[j] && extracted[j]!.text === e.text) {
          used[j] = 1;
          done[i] = 1;
          matched++;
          return;
        }
      }
    }
  });
  return { matched, done, used };
}

/**
 * The best alignment of `extracted` to `expected`. Candidate offsets are voted for by pairs of
 * equal texts (for 1x1 cells the votes are exactly the matches); the best few are evaluated in full.
 */
export function alignAndMatch(expected: readonly ScoreCell[], extracted: readonly ScoreCell[], candidates = 8): Match {
  const base = { expected: expected.length, extracted: extracted.length };
  if (!expected.length || !extracted.length) {
    return { dr: 0, dc: 0, matched: 0, ...base, exact: expected.length === 0 && extracted.length === 0 };
  }
  const byText = new Map<string, ScoreCell[]>();
  for (const x of extracted) {
    const list = byText.get(x.text);
    if (list) list.push(x);
    else byText.set(x.text, [x]);
  }
  const votes = new Map<string, { dr: number; dc: number; n: number }>();
  for (const e of expected) {
    for (const x of byText.get(e.text) ?? []) {
      const dr = x.row - e.row;
      const dc = x.col - e.col;
      const k = `${dr},${dc}`;
      const v = votes.get(k);
      if (v) v.n++;
      else votes.set(k, { dr, dc, n: 1 });
    }
  }
  const shift = (o: { dr: number; dc: number }) => Math.abs(o.dr) + Math.abs(o.dc);
  const tried = [...votes.values()].sort((a, b) => b.n - a.n || shift(a) - shift(b)).slice(0, candidates);
  if (!votes.has('0,0')) tried.push({ dr: 0, dc: 0, n: 0 });
  let best = { dr: 0, dc: 0, matched: -1 };
  for (const o of tried) {
    const m = matchAt(expected, extracted, o.dr, o.dc);
    if (m > best.matched || (m === best.matched && shift(o) < shift(best))) best = { dr: o.dr, dc: o.dc, matched: m };
  }
  return { ...best, ...base, exact: best.matched === expected.length && best.matched === extracted.length };
}

export interface Aligned extends Match {
  /** Whether the offset is between the grids without their empty rows and columns. */
  compacted: boolean;
  /** The cells the counts are over, in the grids the offset is for (extracted: after the crop). */
  expectedCells: ScoreCell[];
  extractedCells: ScoreCell[];
}

/**
 * Align as the grids are and without their empty rows/columns, keep the better; with `crop`,
 * count only the extracted cells that overlap the extent of the expected cells at that alignment.
 */
export function alignTables(expected: readonly ScoreCell[], extracted: readonly ScoreCell[], opts: { crop?: boolean } = {}): Aligned {
  let best: Aligned | undefined;
  for (const compacted of [false, true]) {
    const e = compacted ? compact(expected) : [...expected];
    const x = compacted ? compact(extracted) : [...extracted];
    const m = alignAndMatch(e, x);
    if (!best || m.matched > best.matched) best = { ...m, compacted, expectedCells: e, extractedCells: x };
  }
  const b = best!;
  if (!opts.crop || !b.expectedCells.length) return b;
  const e = b.expectedCells;
  const r0 = Math.min(...e.map((c) => c.row)) + b.dr;
  const r1 = Math.max(...e.map((c) => c.row + c.rowSpan)) + b.dr;
  const c0 = Math.min(...e.map((c) => c.col)) + b.dc;
  const c1 = Math.max(...e.map((c) => c.col + c.colSpan)) + b.dc;
  const x = b.extractedCells.filter((c) => c.row + c.rowSpan > r0 && c.row < r1 && c.col + c.colSpan > c0 && c.col < c1);
  return { ...b, extracted: x.length, exact: b.matched === b.expected && b.matched === x.length, extractedCells: x };
}

export interface PRF {
  precision: number;
  recall: number;
  f1: number;
}

/** P = matched / extracted, R = matched / expected (0 when there is nothing to divide by; both empty = 1). */
export function prf(matched: number, expected: number, extracted: number): PRF {
  if (expected === 0 && extracted === 0) return { precision: 1, recall: 1, f1: 1 };
  const precision = extracted > 0 ? matched / extracted : 0;
  const recall = expected > 0 ? matched / expected : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}

/**
 * Maximum-weight one-to-one assignment (Hungarian algorithm): for each row, the column it gets or
 * -1. Pairs of weight <= 0 are never assigned.
 */
export function assign(weights: readonly (readonly number[])[]): number[] {
  const n = weights.length;
  const m = n ? weights[0]!.length : 0;
  if (!n || !m) return new Array(n).fill(-1);
  const transpose = n > m;
  const rows = transpose ? m : n;
  const cols = transpose ? n : m;
  const cost = (i: number, j: number) => -(transpose ? weights[j]![i]! : weights[i]![j]!);
  // e-maxx formulation, 1-based, rows <= cols.
  const u = new Array<number>(rows + 1).fill(0);
  const v = new Array<number>(cols + 1).fill(0);
  const p = new Array<number>(cols + 1).fill(0);
  const way = new Array<number>(cols + 1).fill(0);
  for (let i = 1; i <= rows; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Array<number>(cols + 1).fill(Infinity);
    const used = new Array<boolean>(cols + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const cur = cost(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[p[j]!] = u[p[j]!]! + delta;
          v[j] = v[j]! - delta;
        } else minv[j] = minv[j]! - delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0);
  }
  const out = new Array<number>(n).fill(-1);
  for (let j = 1; j <= cols; j++) {
    if (!p[j]) continue;
    const [r, c] = transpose ? [j - 1, p[j]! - 1] : [p[j]! - 1, j - 1];
    if (weights[r]![c]! > 0) out[r] = c;
  }
  return out;
}

const isNumber4 = (a: unknown): a is [number, number, number, number] => Array.isArray(a) && a.length === 4 && a.every((x) => typeof x === 'number' && Number.isFinite(x));

/**
 * An .expected.json (see ../shared/bench/MANIFEST.md) -> one page, spans and area per table.
 * Area: params.area or params.area_top_left_bottom_right_pt, one for all tables or one per table.
 * Spans: one list per table, or a flat list when there is one table.
 */
export function parseExpected(json: unknown): ExpectedDoc {
  const j = json as {
    page?: number;
    tables?: unknown;
    table_pages?: number[];
    ground_truth?: string;
    spans?: unknown;
    table_bboxes_pdf?: unknown;
    params?: { area?: unknown; area_top_left_bottom_right_pt?: unknown };
  };
  if (!Array.isArray(j.tables)) throw new Error('expected file has no "tables" array');
  const tables = j.tables as string[][][];
  const rawArea = j.params?.area ?? j.params?.area_top_left_bottom_right_pt;
  const areaOf = (i: number): Area | undefined => {
    if (rawArea === undefined || rawArea === null) return undefined;
    if (isNumber4(rawArea)) return rawArea;
    if (Array.isArray(rawArea) && isNumber4(rawArea[i])) return rawArea[i] as Area;
    throw new Error(`params area ${JSON.stringify(rawArea)} is not [top,left,bottom,right] (or one per table)`);
  };
  const spansOf = (i: number): Span[] => {
    const s = j.spans;
    if (s === undefined || s === null) return [];
    if (!Array.isArray(s)) throw new Error('"spans" is not an array');
    if (s.length === 0) return [];
    if (s.every(isNumber4)) {
      if (tables.length !== 1) throw new Error('"spans" is one flat list but there are several tables');
      return s as Span[];
    }
    const per = s[i];
    if (per === undefined || per === null) return [];
    if (!Array.isArray(per) || !per.every(isNumber4)) throw new Error(`"spans[${i}]" is not a list of [r0,c0,r1,c1]`);
    return per as Span[];
  };
  const bboxOf = (i: number): PdfBox | undefined => {
    const b = j.table_bboxes_pdf;
    if (b === undefined || b === null) return undefined;
    if (!Array.isArray(b) || b.length !== tables.length || !b.every(isNumber4)) throw new Error('"table_bboxes_pdf" is not one [x1,y1,x2,y2] per table');
    return b[i] as PdfBox;
  };
  return {
    groundTruth: j.ground_truth ?? 'unknown',
    tables: tables.map((rows, i) => {
      const page = j.table_pages?.[i] ?? j.page;
      if (typeof page !== 'number' || page < 1) throw new Error(`table ${i} has no page`);
      const area = areaOf(i);
      const bboxPdf = bboxOf(i);
      return { page, rows, spans: spansOf(i), ...(area ? { area } : {}), ...(bboxPdf ? { bboxPdf } : {}) };
    }),
  };
}

/** Cells of an extracted table that lie on `page` and (when given) inside one of `areas`: centre inside, 1 pt slack. */
export function restrictCells(t: TableLike, page: number, areas?: readonly Area[]): TableLike['cells'] {
  return t.cells.filter((c) => {
    if (c.page !== page) return false;
    if (!areas) return true;
    const x = (c.bbox.x0 + c.bbox.x1) / 2;
    const y = (c.bbox.y0 + c.bbox.y1) / 2;
    return areas.some(([top, left, bottom, right]) => x >= left - 1 && x <= right + 1 && y >= top - 1 && y <= bottom + 1);
  });
}

export interface TableScore extends Aligned {
  /** Index in the expected file. */
  index: number;
  page: number;
  /** Index (in the extracted tables) of the table it was paired with, or -1. */
  table: number;
}

export interface FileScore {
  expectedTables: number;
  /** Extracted tables with a counted cell on an expected page (inside the area where there is one). */
  foundTables: number;
  matched: number;
  expected: number;
  /** Counted extracted cells: those of the paired tables plus those of unpaired tables on the pages. */
  extracted: number;
  exact: number;
  tables: TableScore[];
}

/**
 * Score the tables extracted from a document against its expectation. Per expected page: the
 * extracted tables with a region there (their cells on that page, inside the expectation's area
 * when it has one) are paired one-to-one with the expected tables of the page, maximising F1;
 * unpaired extracted tables count their cells as false positives.
 */
export function scoreDocument(exp: ExpectedDoc, extracted: readonly TableLike[]): FileScore {
  const out: FileScore = { expectedTables: exp.tables.length, foundTables: 0, matched: 0, expected: 0, extracted: 0, exact: 0, tables: [] };
  const pages = [...new Set(exp.tables.map((t) => t.page))].sort((a, b) => a - b);
  for (const page of pages) {
    const want = exp.tables.map((t, index) => ({ t, index })).filter((x) => x.t.page === page);
    const wantCells = want.map((x) => cellsFromGrid(x.t.rows, x.t.spans));
    const units = extracted.map((t, index) => ({ t, index })).filter((x) => x.t.regions.some((r) => r.page === page));
    const pairs = want.map((w, i) =>
      units.map((u) => alignTables(wantCells[i]!, cellsFromTable(restrictCells(u.t, page, w.t.area ? [w.t.area] : undefined)), { crop: !!w.t.area })),
    );
    const pick = assign(pairs.map((row) => row.map((m) => prf(m.matched, m.expected, m.extracted).f1)));
    // Unpaired tables: their cells on the page, inside the areas when every expectation there has one.
    const areas = want.every((w) => w.t.area) ? want.map((w) => w.t.area!) : undefined;
    units.forEach((u, k) => {
      const n = cellsFromTable(restrictCells(u.t, page, areas)).length;
      if (n > 0) out.foundTables++;
      if (!pick.includes(k)) out.extracted += n;
    });
    want.forEach((w, i) => {
      const k = pick[i]!;
      const m: Aligned = k >= 0 ? pairs[i]![k]! : { dr: 0, dc: 0, matched: 0, expected: wantCells[i]!.length, extracted: 0, exact: false, compacted: false, expectedCells: wantCells[i]!, extractedCells: [] };
      out.tables.push({ ...m, index: w.index, page, table: k >= 0 ? units[k]!.index : -1 });
      out.matched += m.matched;
      out.expected += m.expected;
      out.extracted += m.extracted;
      if (m.exact) out.exact++;
    });
  }
  out.tables.sort((a, b) => a.index - b.index);
  return out;
}

// ---------------------------------------------------------------------------------------------
// ICDAR 2013: adjacency relations, pairing by region, cell-text F1, diagnoses, numeric columns.
// The rules are at the top of this file.

export type Direction = 'h' | 'v';

/** An adjacency relation: `a` is the nearest non-empty neighbour left of (h) or above (v) `b`. */
export interface Relation {
  a: string;
  b: string;
  dir: Direction;
}

export const relationKey = (r: Relation): string => `${r.dir}\u0001${r.a}\u0001${r.b}`;

/**
 * The adjacency relations of a table's counted cells (cellsFromGrid or cellsFromTable: non-empty,
 * normalised, with spans). Row by row, the cells met left to right (a spanning cell in every row it
 * covers) give a relation between each two consecutive different cells; column by column, top to
 * bottom, the same. A pair met in several rows (or columns) is one relation. When cells overlap,
 * the one listed first owns the position.
 */
export function adjacencyRelations(cells: readonly ScoreCell[]): Relation[] {
  const owner = new Map<number, number>();
  const byRow = new Map<number, number[]>();
  const byCol = new Map<number, number[]>();
  cells.forEach((x, i) => {
    for (let r = x.row; r < x.row + Math.max(1, x.rowSpan); r++) {
      for (let c = x.col; c < x.col + Math.max(1, x.colSpan); c++) {
        const k = key(r, c);
        if (owner.has(k)) continue;
        owner.set(k, i);
        (byRow.get(r) ?? byRow.set(r, []).get(r)!).push(c);
        (byCol.get(c) ?? byCol.set(c, []).get(c)!).push(r);
      }
    }
  });
  const seen = new Set<string>();
  const out: Relation[] = [];
  const walk = (lines: Map<number, number[]>, dir: Direction, pos: (line: number, x: number) => number) => {
    for (const line of [...lines.keys()].sort((a, b) => a - b)) {
      let prev = -1;
      for (const x of lines.get(line)!.sort((a, b) => a - b)) {
        const i = owner.get(pos(line, x))!;
        if (prev >= 0 && i !== prev) {
          const k = `${dir}${prev},${i}`;
          if (!seen.has(k)) {
            seen.add(k);
            out.push({ a: cells[prev]!.text, b: cells[i]!.text, dir });
          }
        }
        prev = i;
      }
    }
  };
  walk(byRow, 'h', (r, c) => key(r, c));
  walk(byCol, 'v', (c, r) => key(r, c));
  return out;
}

/** Multiset comparison: how many of `expected` find an equal (by key) item of `extracted`, and what is left on each side. */
export function multisetDiff<T>(expected: readonly T[], extracted: readonly T[], keyOf: (x: T) => string): { matched: number; missed: T[]; extra: T[] } {
  const pool = new Map<string, number>();
  for (const x of extracted) pool.set(keyOf(x), (pool.get(keyOf(x)) ?? 0) + 1);
  const missed: T[] = [];
  let matched = 0;
  for (const e of expected) {
    const k = keyOf(e);
    const n = pool.get(k) ?? 0;
    if (n > 0) {
      pool.set(k, n - 1);
      matched++;
    } else missed.push(e);
  }
  const extra: T[] = [];
  for (const x of extracted) {
    const k = keyOf(x);
    const n = pool.get(k) ?? 0;
    // As many copies of the key as were left unmatched (the first ones met).
    if (n > 0) {
      pool.set(k, n - 1);
      extra.push(x);
    }
  }
  return { matched, missed, extra };
}

/** The displayed page a PDF-space box is turned into: Page.width/height (after /Rotate) and rotation. */
export interface PageFrame {
  width: number;
  height: number;
  rotation?: number;
}

/**
 * [x1,y1,x2,y2] in PDF points (origin bottom-left of the unrotated page, MediaBox at the origin)
 * -> a box in the displayed page's frame (origin top-left, after /Rotate, as pdf.js' viewport).
 */
export function pdfBoxToPage(b: PdfBox, page: PageFrame): Box {
  const xa = Math.min(b[0], b[2]);
  const xb = Math.max(b[0], b[2]);
  const ya = Math.min(b[1], b[3]);
  const yb = Math.max(b[1], b[3]);
  const rot = (((page.rotation ?? 0) % 360) + 360) % 360;
  const quarter = rot === 90 || rot === 270;
  const W = quarter ? page.height : page.width;
  const H = quarter ? page.width : page.height;
  if (rot === 90) return { x0: ya, y0: xa, x1: yb, y1: xb };
  if (rot === 180) return { x0: W - xb, y0: ya, x1: W - xa, y1: yb };
  if (rot === 270) return { x0: H - yb, y0: W - xb, x1: H - ya, y1: W - xa };
  return { x0: xa, y0: H - yb, x1: xb, y1: H - ya };
}

/** A counted cell of an extracted table on one page, with where it lies and whether it is typed as a number. */
export interface PieceCell extends ScoreCell {
  /** Centre of the cell's bbox. */
  x: number;
  y: number;
  /** Cell.value is a number, percent or currency. */
  numeric: boolean;
  /** Cell.header. */
  header: boolean;
}

/** An extracted table's part on one page: what is paired and scored. */
export interface Piece {
  /** Index of the extracted table. */
  table: number;
  page: number;
  /** The table's region on the page, or the box around its cells there. */
  region: Box;
  cells: PieceCell[];
}

const NUMERIC_TYPES = new Set(['number', 'percent', 'currency']);

/** One piece per extracted table and page it has a counted cell on (pages ascending, tables in order). */
export function piecesOf(tables: readonly TableLike[]): Piece[] {
  const out: Piece[] = [];
  tables.forEach((t, table) => {
    const byPage = new Map<number, { cells: PieceCell[]; boxes: Box[] }>();
    for (const c of t.cells) {
      const text = normalizeCellText(c.text);
      if (!text) continue;
      const p = byPage.get(c.page) ?? byPage.set(c.page, { cells: [], boxes: [] }).get(c.page)!;
      p.cells.push({
        row: c.row,
        col: c.col,
        rowSpan: Math.max(1, c.rowSpan),
        colSpan: Math.max(1, c.colSpan),
        text,
        at: [c.row, c.col],
        x: (c.bbox.x0 + c.bbox.x1) / 2,
        y: (c.bbox.y0 + c.bbox.y1) / 2,
        numeric: !!c.value && NUMERIC_TYPES.has(c.value.type),
        header: !!c.header,
      });
      p.boxes.push(c.bbox);
    }
    for (const page of [...byPage.keys()].sort((a, b) => a - b)) {
      const p = byPage.get(page)!;
      const region = t.regions.find((r) => r.page === page)?.bbox ?? {
        x0: Math.min(...p.boxes.map((b) => b.x0)),
        y0: Math.min(...p.boxes.map((b) => b.y0)),
        x1: Math.max(...p.boxes.map((b) => b.x1)),
        y1: Math.max(...p.boxes.map((b) => b.y1)),
      };
      out.push({ table, page, region, cells: p.cells });
    }
  });
  return out;
}

/** An annotated table as scored: its page, counted cells and region (displayed page frame), when known. */
export interface AnnotatedTable {
  page: number;
  cells: ScoreCell[];
  region?: Box;
}

const area = (b: Box) => Math.max(0, b.x1 - b.x0) * Math.max(0, b.y1 - b.y0);
const intersection = (a: Box, b: Box) => area({ x0: Math.max(a.x0, b.x0), y0: Math.max(a.y0, b.y0), x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1) });

/**
 * How much a piece overlaps an annotated table: 0 on another page; with a region, the piece's cells
 * whose centre lies inside it (1 pt slack); without one, the cell texts the two share (multiset).
 */
export function overlapOf(a: AnnotatedTable, p: Piece): number {
  if (a.page !== p.page) return 0;
  const r = a.region;
  if (!r) return multisetDiff(a.cells, p.cells, (c) => c.text).matched;
  return p.cells.filter((c) => c.x >= r.x0 - 1 && c.x <= r.x1 + 1 && c.y >= r.y0 - 1 && c.y <= r.y1 + 1).length;
}

/** An overlap is substantial: at least 2 cells (1 for a one-cell piece) and half the piece's cells or a fifth of the annotated table's. */
export function isSubstantial(overlap: number, pieceCells: number, annotatedCells: number): boolean {
  if (overlap <= 0 || overlap < Math.min(2, pieceCells)) return false;
  return overlap >= 0.5 * pieceCells || overlap >= 0.2 * annotatedCells;
}

export interface Pairing {
  /** Per annotated table: the piece paired with it, or -1. */
  pieceOf: number[];
  /** Per piece: the annotated table paired with it, or -1. */
  annotatedOf: number[];
  /** [annotated][piece] overlap (overlapOf). */
  overlap: number[][];
  /** [annotated][piece] whether the overlap is substantial. */
  substantial: boolean[][];
}

/** One-to-one pairing, greedily by overlap among substantial overlaps (ties: larger region intersection, then order). */
export function pairTables(annotated: readonly AnnotatedTable[], pieces: readonly Piece[]): Pairing {
  const overlap = annotated.map((a) => pieces.map((p) => overlapOf(a, p)));
  const substantial = annotated.map((a, i) => pieces.map((p, k) => isSubstantial(overlap[i]![k]!, p.cells.length, a.cells.length)));
  const candidates: { i: number; k: number; o: number; box: number }[] = [];
  annotated.forEach((a, i) =>
    pieces.forEach((p, k) => {
      if (substantial[i]![k]) candidates.push({ i, k, o: overlap[i]![k]!, box: a.region ? intersection(a.region, p.region) : 0 });
    }),
  );
  candidates.sort((x, y) => y.o - x.o || y.box - x.box || x.i - y.i || x.k - y.k);
  const pieceOf = new Array<number>(annotated.length).fill(-1);
  const annotatedOf = new Array<number>(pieces.length).fill(-1);
  for (const c of candidates) {
    if (pieceOf[c.i]! >= 0 || annotatedOf[c.k]! >= 0) continue;
    pieceOf[c.i] = c.k;
    annotatedOf[c.k] = c.i;
  }
  return { pieceOf, annotatedOf, overlap, substantial };
}

export type Diagnosis = 'missed' | 'split' | 'merged' | 'rows' | 'cols' | 'ok';

/** Rows x columns occupied by counted cells (spans included), empty rows/columns dropped. */
export function gridSize(cells: readonly ScoreCell[]): [rows: number, cols: number] {
  if (!cells.length) return [0, 0];
  const c = compact(cells);
  return [Math.max(...c.map((x) => x.row + x.rowSpan)), Math.max(...c.map((x) => x.col + x.colSpan))];
}

/** What went wrong with annotated table `i` (see the rules at the top of this file). */
export function diagnose(i: number, annotated: readonly AnnotatedTable[], pieces: readonly Piece[], pairing: Pairing): Diagnosis {
  const k = pairing.pieceOf[i]!;
  const overlapping = pieces.map((_, j) => j).filter((j) => pairing.substantial[i]![j]);
  if (k < 0) return overlapping.some((j) => pairing.annotatedOf[j]! >= 0) ? 'merged' : 'missed';
  if (overlapping.length >= 2) return 'split';
  if (annotated.some((_, h) => h !== i && pairing.substantial[h]![k])) return 'merged';
  const [ar, ac] = gridSize(annotated[i]!.cells);
  const [xr, xc] = gridSize(pieces[k]!.cells);
  if (ar !== xr) return 'rows';
  if (ac !== xc) return 'cols';
  return 'ok';
}

/**
 * Looks like a number: digits with optional thousands separators (, . ' or space), a decimal point
 * or comma, a sign (+ - − –), %, a currency symbol before or after (US$ and the like too),
 * parentheses for a negative. "1,234.5"  "-3.2%"  "(1 200)"  "$12"  "12 €"  ".5"  "1,5"; not
 * "12-34", "1.2.3", "12a", "n/a", "-", "1269 (19.9%)".
 */
export function looksNumeric(text: string): boolean {
  let s = text.normalize('NFKC').replace(/[\s\u200b-\u200d\u2060\u00ad]+/gu, '');
  if (/^\(.*\)$/.test(s)) s = s.slice(1, -1);
  s = s.replace(/^[+\-\u2212\u2013]/, '');
  s = s.replace(/^(?:[a-z]{0,2}\$|[€£¥₹₩₽₺₪₫₱฿₴₦₡])/i, '').replace(/(?:\$|[€£¥₹₩₽₺₪₫₱฿₴₦₡])$/, '');
  s = s.replace(/^[+\-\u2212\u2013]/, '');
  if (/^\(.*\)$/.test(s)) s = s.slice(1, -1);
  s = s.replace(/%$/, '');
  return /^(?:\d+|\d{1,3}(?:[,.']\d{3})+)(?:[.,]\d+)?$/.test(s) || /^[.,]\d+$/.test(s);
}

export interface NumericColumn {
  /** Annotated column (grid position of the cells' top-left). */
  col: number;
  /** The piece's column sharing most texts with it, or -1. */
  extractedCol: number;
  /** Body (not header) piece cells in that column matching one of the column's body texts, and how many of them are typed. */
  cells: number;
  typed: number;
  ok: boolean;
}

/**
 * Numeric columns of an annotated table (body = every row but the first occupied one) and whether
 * each comes out numeric in the piece paired with it (see the rules at the top of this file).
 */
export function numericColumns(annotated: readonly ScoreCell[], piece: readonly PieceCell[]): NumericColumn[] {
  if (!annotated.length) return [];
  const head = Math.min(...annotated.map((c) => c.row));
  const byCol = new Map<number, ScoreCell[]>();
  for (const c of annotated) if (c.row > head) (byCol.get(c.col) ?? byCol.set(c.col, []).get(c.col)!).push(c);
  const out: NumericColumn[] = [];
  for (const col of [...byCol.keys()].sort((a, b) => a - b)) {
    const body = byCol.get(col)!;
    if (!body.every((c) => looksNumeric(c.text))) continue;
    const texts = new Set(body.map((c) => c.text));
    const votes = new Map<number, number>();
    for (const e of body) for (const x of piece) if (x.text === e.text) votes.set(x.col, (votes.get(x.col) ?? 0) + 1);
    let extractedCol = -1;
    let best = 0;
    for (const [c, n] of votes) if (n > best || (n === best && c < extractedCol)) [extractedCol, best] = [c, n];
    const cells = extractedCol < 0 ? [] : piece.filter((x) => x.col === extractedCol && !x.header && texts.has(x.text));
    const typed = cells.filter((x) => x.numeric).length;
    out.push({ col, extractedCol, cells: cells.length, typed, ok: cells.length > 0 && typed === cells.length });
  }
  return out;
}

export interface Counts {
  matched: number;
  expected: number;
  extracted: number;
}

export interface IcdarTableScore {
  /** Index in the expected file. */
  index: number;
  page: number;
  /** The piece paired with it (index in IcdarScore.pieces) and its extracted table, or -1. */
  piece: number;
  table: number;
  relations: Counts;
  cells: Counts;
  diagnosis: Diagnosis;
  /** Rows x columns occupied by non-empty cells: annotated, and of the paired piece. */
  size: [number, number];
  extractedSize?: [number, number];
  /** Pieces overlapping it substantially (paired or not). */
  overlapping: number[];
  missedRelations: Relation[];
  extraRelations: Relation[];
  numeric: NumericColumn[];
}

export interface IcdarScore {
  tables: IcdarTableScore[];
  pieces: Piece[];
  pairing: Pairing;
  /** Micro over the document: paired pairs, unpaired annotated tables, unpaired pieces. */
  relations: Counts;
  cells: Counts;
  /** Pieces paired with no annotated table, and what they add to the extracted side. */
  unpaired: { piece: number; relations: number; cells: number }[];
  numeric: { columns: number; ok: number };
}

/**
 * Score the tables extracted from a document against its ICDAR annotation. `pageOf(n)` gives the
 * displayed frame of page n (Page.width/height/rotation) to place `table_bboxes_pdf`; without a
 * frame or a box, that table pairs by shared cell texts.
 */
export function scoreIcdar(exp: ExpectedDoc, extracted: readonly TableLike[], pageOf: (page: number) => PageFrame | undefined): IcdarScore {
  const annotated: AnnotatedTable[] = exp.tables.map((t) => {
    const frame = pageOf(t.page);
    const cells = cellsFromGrid(t.rows, t.spans);
    return { page: t.page, cells, ...(t.bboxPdf && frame ? { region: pdfBoxToPage(t.bboxPdf, frame) } : {}) };
  });
  const pieces = piecesOf(extracted);
  const pairing = pairTables(annotated, pieces);
  const pieceRelations = pieces.map((p) => adjacencyRelations(p.cells));
  const relations: Counts = { matched: 0, expected: 0, extracted: 0 };
  const cells: Counts = { matched: 0, expected: 0, extracted: 0 };
  const numeric = { columns: 0, ok: 0 };
  const tables = annotated.map((a, i): IcdarTableScore => {
    const k = pairing.pieceOf[i]!;
    const want = adjacencyRelations(a.cells);
    const got = k >= 0 ? pieceRelations[k]! : [];
    const r = multisetDiff(want, got, relationKey);
    const c = multisetDiff(a.cells, k >= 0 ? pieces[k]!.cells : [], (x) => x.text);
    const rel: Counts = { matched: r.matched, expected: want.length, extracted: got.length };
    const cel: Counts = { matched: c.matched, expected: a.cells.length, extracted: k >= 0 ? pieces[k]!.cells.length : 0 };
    for (const key of ['matched', 'expected', 'extracted'] as const) {
      relations[key] += rel[key];
      cells[key] += cel[key];
    }
    const num = k >= 0 ? numericColumns(a.cells, pieces[k]!.cells) : [];
    numeric.columns += num.length;
    numeric.ok += num.filter((n) => n.ok).length;
    return {
      index: i,
      page: a.page,
      piece: k,
      table: k >= 0 ? pieces[k]!.table : -1,
      relations: rel,
      cells: cel,
      diagnosis: diagnose(i, annotated, pieces, pairing),
      size: gridSize(a.cells),
      ...(k >= 0 ? { extractedSize: gridSize(pieces[k]!.cells) } : {}),
      overlapping: pieces.map((_, j) => j).filter((j) => pairing.substantial[i]![j]),
      missedRelations: r.missed,
      extraRelations: r.extra,
      numeric: num,
    };
  });
  const unpaired = pieces
    .map((p, k) => ({ piece: k, relations: pieceRelations[k]!.length, cells: p.cells.length }))
    .filter((u) => pairing.annotatedOf[u.piece]! < 0);
  for (const u of unpaired) {
    relations.extracted += u.relations;
    cells.extracted += u.cells;
  }
  return { tables, pieces, pairing, relations, cells, unpaired, numeric };
}
