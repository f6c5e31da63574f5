// Tables as data: column names from headers, the grid as text, CSV and Markdown, and the SQL side
// (listing stored tables, materializing one typed view per table).
//
// Column names are defined once, in SQL (the table_columns view of migrations/0004), and
// columnNames() below computes the same names from a Table in memory:
//   a column's header text = the texts of the header rows' cells covering it (a header cell that
//   spans columns covers each), each with its whitespace runs made one space and trimmed, the
//   empty ones left out, top to bottom, joined with ' / ' (stacked headers: "Sales / 2023");
//   empty -> col_N (1-based); the 2nd, 3rd… column of a name gets _2, _3….
import { sql } from 'drizzle-orm';
import { tableGrid, type Table } from '../schemas/document.ts';
import type { Database } from './client.ts';
import { findDocument } from './persist.ts';

/** The whitespace the table_columns view folds (the same class as its SQL regular expression). */
const SPACE_RUN = /[ \t\n\r\f\v\u00a0\u2007\u2009\u202f]+/g;

const fold = (s: string) => s.replace(SPACE_RUN, ' ').replace(/^ | $/g, '');

/** Stacked header rows' texts are joined with this: a key a person can read and type. */
export const HEADER_JOIN = ' / ';

/** Each column's header text (stacked header rows joined with ' / '), '' where the column has none. */
export function headerTexts(table: Table): string[] {
  const parts: { row: number; col: number; text: string }[][] = Array.from({ length: table.colCount }, () => []);
  for (const c of table.cells) {
    if (c.row >= table.headerRows) continue;
    for (let k = c.col; k < Math.min(table.colCount, c.col + c.colSpan); k++) parts[k]!.push(c);
  }
  return parts.map((p) =>
    p
      .sort((a, b) => a.row - b.row || a.col - b.col)
      .map((c) => fold(c.text))
      .filter(Boolean)
      .join(HEADER_JOIN),
  );
}

/** Give the 2nd, 3rd… occurrence of a name the suffix _2, _3… (in column order). */
function numberDuplicates(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n}_${k}`;
  });
}

/** The column names of table_rows.data for this table (the table_columns view computes the same). */
export function columnNames(table: Table): string[] {
  return numberDuplicates(headerTexts(table).map((h, i) => h || `col_${i + 1}`));
}

/** The grid as text, rows x cols: a spanning cell's text in every position it covers, '' where no cell is. */
export function gridText(table: Table): string[][] {
  return tableGrid(table.rowCount, table.colCount, table.cells);
}

/** One RFC 4180 field: quoted when it holds a comma, a quote, CR or LF (quotes doubled). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV (CRLF line ends, a final CRLF). */
export function toCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

/**
 * A table as CSV: one header line (the column names of table_rows: stacked headers joined, col_N,
 * _2…), then one line per body row with the cells' text (a spanning cell's text repeated).
 */
export function tableToCsv(table: Table): string {
  return toCsv([columnNames(table), ...gridText(table).slice(table.headerRows)]);
}

const mdCell = (s: string) => fold(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|');

/**
 * A table as a GitHub Markdown table: the header line is the stacked header texts (empty when the
 * table has no header rows), then the body rows (a spanning cell's text repeated).
 */
export function tableToMarkdown(table: Table): string {
  const head = table.headerRows > 0 ? headerTexts(table) : Array.from({ length: table.colCount }, () => '');
  const line = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(head), `|${' --- |'.repeat(table.colCount)}`, ...gridText(table).slice(table.headerRows).map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Stored tables

export interface TableSummary {
  id: string;
  documentId: string;
  filename: string;
  /** Table.id within its document. */
  key: string;
  /** Position in Document.tables (0-based). */
  index: number;
  method: string;
  rowCount: number;
  colCount: number;
  headerRows: number;
  pages: number[];
  columns: string[];
}

const TABLE_SUMMARY_SQL = `
select t.id::text as id, t.document_id::text as document_id, d.filename, t.table_key, t.table_no, t.method,
       t.row_count, t.col_count, t.header_rows, t.regions,
       coalesce((select jsonb_agg(k.name order by k.col_no) from table_columns k where k.table_id = t.id), '[]'::jsonb) as columns
from tables t join documents d on d.id = t.document_id`;

function summary(r: Record<string, unknown>): TableSummary {
  const regions = r.regions as { page: number }[];
  return {
    id: r.id as string,
    documentId: r.document_id as string,
    filename: r.filename as string,
    key: r.table_key as string,
    index: r.table_no as number,
    method: r.method as string,
    rowCount: r.row_count as number,
    colCount: r.col_count as number,
    headerRows: r.header_rows as number,
    pages: [...new Set(regions.map((x) => x.page))],
    columns: r.columns as string[],
  };
}

/** The stored tables, of one document (an id or unique prefix) or of all. */
export async function listTables(database: Database, documentIdOrPrefix?: string): Promise<TableSummary[]> {
  if (documentIdOrPrefix !== undefined) {
    const d = await findDocument(database, documentIdOrPrefix);
    const r = await database.query(`${TABLE_SUMMARY_SQL} where t.document_id = $1 order by t.table_no`, [d.id]);
    return r.rows.map(summary);
  }
  const r = await database.query(`${TABLE_SUMMARY_SQL} order by d.filename, d.id, t.table_no`);
  return r.rows.map(summary);
}

/** A stored table by its id or a unique id prefix (at least 4 characters). */
export async function findTable(database: Database, idOrPrefix: string): Promise<TableSummary> {
  if (!/^[0-9a-f-]{4,36}$/i.test(idOrPrefix)) throw new Error(`"${idOrPrefix}" is not a table id (at least 4 characters of a uuid)`);
  const r = await database.query(`${TABLE_SUMMARY_SQL} where t.id::text like $1 limit 2`, [idOrPrefix.toLowerCase() + '%']);
  if (r.rows.length === 0) throw new Error(`no table ${idOrPrefix}`);
  if (r.rows.length > 1) throw new Error(`table id prefix ${idOrPrefix} is ambiguous`);
  return summary(r.rows[0]!);
}

/**
 * The Table.id (key) of one table of a document, named by its key (Table.id, e.g. "t1") or by its
 * stored id or a unique prefix of it (as `folio tables` lists them).
 */
export async function resolveTableKey(database: Database, documentId: string, ref: string): Promise<string> {
  const byKey = await database.query('select table_key from tables where document_id = $1 and table_key = $2', [documentId, ref]);
  if (byKey.rows.length === 1) return byKey.rows[0]!.table_key as string;
  if (/^[0-9a-f-]{4,36}$/i.test(ref)) {
    const byId = await database.query('select table_key from tables where document_id = $1 and id::text like $2 limit 2', [documentId, ref.toLowerCase() + '%']);
    if (byId.rows.length === 1) return byId.rows[0]!.table_key as string;
    if (byId.rows.length > 1) throw new Error(`table id prefix ${ref} is ambiguous`);
  }
  throw new Error(`document ${documentId} has no table ${ref}`);
}

// ---------------------------------------------------------------------------------------------
// Materialized views: one typed SQL view per table.

export type ColumnType = 'numeric' | 'date' | 'text';

export interface MaterializedColumn {
  /** 0-based column of the table. */
  col: number;
  /** The SQL column name (sanitized, unique). */
  name: string;
  /** The column's name in table_rows (header text, col_N, _2…). */
  header: string;
  type: ColumnType;
}

export interface MaterializedTable {
  tableId: string;
  view: string;
  columns: MaterializedColumn[];
}

/** Columns every materialized view starts with (sanitized header names never start with '_'). */
export const ROW_COLUMN = '_row';
export const PAGE_COLUMN = '_page';

const MAX_IDENT = 63;

/** A "quoted identifier" for SQL, embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Text as a plain SQL identifier: ASCII letters (accents dropped), digits and '_', lower case,
 * runs of anything else as one '_', no '_' at either end, at most `max` characters; '' when nothing
 * is left. '%' reads as "pct", '&' as "and", '#' as "no".
 */
export function sanitizeIdentifier(text: string, max = MAX_IDENT): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/%/g, ' pct ')
    .replace(/&/g, ' and ')
    .replace(/#/g, ' no ')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, max)
    .replace(/_+$/, '');
}

/** SQL column names for the headers: sanitized, col_N when empty, c_ before a digit, unique (_2, _3…). */
export function sqlColumnNames(headers: readonly string[]): string[] {
  const taken = new Set<string>([ROW_COLUMN, PAGE_COLUMN]);
  return headers.map((h, i) => {
    let base = sanitizeIdentifier(h) || `col_${i + 1}`;
    if (/^\d/.test(base)) base = `c_${base}`.slice(0, MAX_IDENT);
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base.slice(0, MAX_IDENT - String(k).length - 1)}_${k}`;
    taken.add(name);
    return name;
  });
}

/** The view name of a table: the document's file name (without extension) and the table's number. */
export function viewName(filename: string, tableIndex: number, tableId?: string): string {
  const suffix = `_t${tableIndex + 1}${tableId ? '_' + tableId.replace(/-/g, '').slice(0, 8) : ''}`;
  let stem = sanitizeIdentifier(filename.replace(/\.[A-Za-z0-9]{1,5}$/, '')) || 'doc';
  if (/^\d/.test(stem)) stem = `d_${stem}`;
  return `${stem.slice(0, MAX_IDENT - suffix.length).replace(/_+$/, '')}${suffix}`;
}

/** Cell texts that mean "no value" in a typed column: dashes, n/a. */
const PLACEHOLDER = /^(?:[-\u2010-\u2015\u2212.\u00b7\u2026*]+|n\/?a|n\.a\.?|nil)$/i;

/** The type of a column from its body cells' value types: numeric, date or text. */
export function inferColumnType(cells: readonly { text: string; valueType: string | null }[]): ColumnType {
  const filled = cells.filter((c) => {
    const t = fold(c.text);
    return t !== '' && !(c.valueType === null && PLACEHOLDER.test(t));
  });
  if (filled.length === 0) return 'text';
  if (filled.every((c) => c.valueType === 'number' || c.valueType === 'percent' || c.valueType === 'currency')) return 'numeric';
  if (filled.every((c) => c.valueType === 'date')) return 'date';
  return 'text';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ownerComment = (tableId: string) => `folio table ${tableId}`;

/** The comment on a relation of the current schema, null when it has none, undefined when there is no such relation. */
async function relationComment(database: Database, name: string): Promise<string | null | undefined> {
  const r = await database.query(
    `select obj_description(c.oid, 'pg_class') as comment from pg_class c
     where c.relname = $1 and c.relnamespace = (select oid from pg_namespace where nspname = current_schema())`,
    [name],
  );
  return r.rows.length === 0 ? undefined : ((r.rows[0]!.comment as string | null) ?? null);
}

/**
 * Create (or re-create) the typed view of one table and return its name and columns. The view has
 * _row (the table's row number), _page, then one column per table column named from its header:
 * numeric (number, percent as a fraction, currency amount) when every non-empty body cell has such
 * a value, date when every one is a date, else text; empty cells are NULL.
 *
 * Only identifiers made by sanitizeIdentifier, column numbers and the table's uuid (checked) are
 * written into the SQL; no cell or header text is.
 */
export async function materializeTable(database: Database, tableIdOrPrefix: string): Promise<MaterializedTable> {
  const t = await findTable(database, tableIdOrPrefix);
  if (!UUID.test(t.id)) throw new Error(`unexpected table id ${t.id}`);
  const heads = await database.query('select col_no, name from table_columns where table_id = $1 order by col_no', [t.id]);
  const body = await database.query(
    `select g.col_no, g.text, g.value_type from table_grid g join tables t on t.id = g.table_id
     where g.table_id = $1 and g.row_no >= t.header_rows and g.row_no < t.row_count`,
    [t.id],
  );
  const byCol = new Map<number, { text: string; valueType: string | null }[]>();
  for (const r of body.rows) {
    const col = r.col_no as number;
    if (!byCol.has(col)) byCol.set(col, []);
    byCol.get(col)!.push({ text: r.text as string, valueType: r.value_type as string | null });
  }
  const headers = heads.rows.map((r) => r.name as string);
  const names = sqlColumnNames(headers);
  const columns: MaterializedColumn[] = heads.rows.map((r, i) => ({
    col: r.col_no as number,
    name: names[i]!,
    header: headers[i]!,
    type: inferColumnType(byCol.get(r.col_no as number) ?? []),
  }));

  // The readable name, unless another object has it; then the name with the table's id.
  let view = viewName(t.filename, t.index);
  const mine = ownerComment(t.id);
  const comment = await relationComment(database, view);
  if (comment !== undefined && comment !== mine) {
    view = viewName(t.filename, t.index, t.id);
    const other = await relationComment(database, view);
    if (other !== undefined && other !== mine) throw new Error(`cannot materialize table ${t.id}: ${view} exists and is not its view`);
  }

  // The grid is grouped by row once (one column per table column), then joined to the table's
  // body rows so that a row without cells is there too.
  const perRow = columns.map((c) => {
    if (!Number.isInteger(c.col)) throw new Error(`bad column number ${c.col}`);
    const only = (cond: string) => `FILTER (WHERE g.col_no = ${c.col}${cond})`;
    const expr =
      c.type === 'numeric'
        ? `(max(g.value_num) ${only(" AND g.value_type IN ('number', 'percent', 'currency')")})::numeric`
        : c.type === 'date'
          ? `(max(g.value_text) ${only(" AND g.value_type = 'date'")})::date`
          : `nullif(btrim(max(g.text) ${only('')}), '')`;
    return `    ${expr} AS ${quoteIdent(c.name)}`;
  });
  const id = `'${t.id}'::uuid`;
  const ddl = [
    `DROP VIEW IF EXISTS ${quoteIdent(view)}`,
    [
      `CREATE VIEW ${quoteIdent(view)} AS`,
      `SELECT r.row_no AS ${quoteIdent(ROW_COLUMN)}, (t.row_pages ->> r.row_no)::integer AS ${quoteIdent(PAGE_COLUMN)},`,
      columns.map((c) => `  x.${quoteIdent(c.name)}`).join(',\n'),
      'FROM tables t',
      'CROSS JOIN LATERAL table_series(t.header_rows, t.row_count - 1) AS r(row_no)',
      'LEFT JOIN (',
      `  SELECT g.row_no AS ${quoteIdent(ROW_COLUMN)},`,
      perRow.join(',\n'),
      '  FROM table_grid g',
      `  WHERE g.table_id = ${id}`,
      '  GROUP BY g.row_no',
      `) x ON x.${quoteIdent(ROW_COLUMN)} = r.row_no`,
      `WHERE t.id = ${id}`,
      'ORDER BY r.row_no',
    ].join('\n'),
    `COMMENT ON VIEW ${quoteIdent(view)} IS '${mine}'`,
  ];
  await database.db.transaction(async (tx) => {
    for (const stmt of ddl) await tx.execute(sql.raw(stmt));
  });
  return { tableId: t.id, view, columns };
}

/** Materialize every stored table (in file name and table order). */
export async function materializeAll(database: Database): Promise<MaterializedTable[]> {
  const out: MaterializedTable[] = [];
  for (const t of await listTables(database)) out.push(await materializeTable(database, t.id));
  return out;
}
