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

/** What the scorer needs of a folio Table (schemas/document.ts) - structurally. */
export interface TableLike {
  regions: readonly { page: number }[];
  cells: readonly {
    row: number;
    col: number;
    rowSpan: number;
    colSpan: number;
    text: string;
    page: number;
    bbox: { x0: number; y0: number; x1: number; y1: number };
  }[];
}

/** [top, left, bottom, right] in points, origin top-left of the displayed page (tabula's area). */
export type Area = readonly [top: number, left: number, bottom: number, right: number];

export interface ExpectedTable {
  page: number;
  rows: string[][];
  spans: Span[];
  area?: Area;
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
  return {
    groundTruth: j.ground_truth ?? 'unknown',
    tables: tables.map((rows, i) => {
      const page = j.table_pages?.[i] ?? j.page;
      if (typeof page !== 'number' || page < 1) throw new Error(`table ${i} has no page`);
      const area = areaOf(i);
      return { page, rows, spans: spansOf(i), ...(area ? { area } : {}) };
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
