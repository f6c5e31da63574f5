// Persistence: a whole Document in one transaction, idempotent on (sha256, pipeline version).
import crypto from 'node:crypto';
import { and, asc, eq, getTableColumns, ne, sql } from 'drizzle-orm';
import {
  Document as DocumentSchema,
  SCHEMA_VERSION,
  type BBox,
  type Cell,
  type Chart,
  type Document,
  type Line,
  type Page,
  type Source,
  type Table,
  type TypedValue,
} from '../schemas/document.ts';
import type { Database, Db } from './client.ts';
import { blocks, charts, documents, frames, pages, tableCells, tables, type DocumentRow, type TableCellRow, type TableRow } from './schema.ts';

const CHUNK = 5000;

// Row ids are made here (crypto.randomUUID, native) rather than by the columns' default: in PGlite
// each gen_random_uuid() opens and reads /dev/urandom through the WebAssembly file system, about
// 5 µs a row, which a document's thousands of blocks and cells add up.

export interface PersistResult {
  documentId: string;
  /** false when the same bytes were already stored by this pipeline version (nothing written). */
  inserted: boolean;
}

/** The stored document for these bytes and pipeline version, if it was processed successfully. */
export async function findDone(database: Database, sha256: string, pipelineVersion: string): Promise<DocumentRow | undefined> {
  const rows = await database.db
    .select()
    .from(documents)
    .where(and(eq(documents.sha256, sha256), eq(documents.pipelineVersion, pipelineVersion), eq(documents.status, 'done')))
    .limit(1);
  return rows[0];
}

function documentValues(source: Source, pipelineVersion: string) {
  return {
    sha256: source.sha256,
    pipelineVersion,
    schemaVersion: SCHEMA_VERSION,
    sourceUri: source.uri,
    filename: source.name,
    mime: source.mime,
    bytes: source.bytes,
  };
}

export interface PersistOptions {
  /** Blob key of the source file's bytes. */
  blob?: string;
  /** The caller has just validated the Document (validateDocument): it is not validated again. */
  validated?: boolean;
}

/**
 * Store a validated Document with its pages, blocks, tables and table cells in one transaction. A document already
 * stored as done for the same (sha256, pipeline version) is left alone; a failed one is replaced.
 */
export async function persistDocument(database: Database, doc: Document, { blob, validated = false }: PersistOptions = {}): Promise<PersistResult> {
  if (!validated) DocumentSchema.parse(doc); // never persist an invalid Document
  return database.db.transaction(async (tx) => {
    const db = tx as unknown as Db;
    const values = {
      ...documentValues(doc.source, doc.pipelineVersion),
      status: 'done',
      errorCode: null,
      errorMessage: null,
      title: doc.title ?? null,
      pageCount: doc.pageCount,
      metadata: doc.metadata,
      warnings: doc.warnings,
      blob: blob ?? null,
      updatedAt: new Date(),
    };
    const up = await tx
      .insert(documents)
      .values(values)
      .onConflictDoUpdate({
        target: [documents.sha256, documents.pipelineVersion],
        set: values,
        setWhere: ne(documents.status, 'done'),
      })
      .returning({ id: documents.id });
    if (up.length === 0) {
      const existing = await tx
        .select({ id: documents.id })
        .from(documents)
        .where(and(eq(documents.sha256, doc.source.sha256), eq(documents.pipelineVersion, doc.pipelineVersion)));
      return { documentId: existing[0]!.id, inserted: false };
    }
    const documentId = up[0]!.id;
    // A failed earlier attempt may have left nothing, but be exact: the document owns these rows.
    await tx.delete(tables).where(eq(tables.documentId, documentId)); // cascades to table_cells
    await tx.delete(blocks).where(eq(blocks.documentId, documentId));
    await tx.delete(pages).where(eq(pages.documentId, documentId));
    await insertChunked(db, pages, doc.pages.map((p) => pageRow(documentId, p)));
    await insertChunked(
      db,
      blocks,
      doc.pages.flatMap((p) => p.blocks.map((b) => ({
        id: crypto.randomUUID(),
        documentId,
        pageNo: p.number,
        blockKey: b.id,
        readingOrder: b.order,
        type: b.type,
        text: b.text,
        level: b.level ?? null,
        fontSize: b.fontSize ?? null,
        bold: b.bold ?? null,
        x0: b.bbox.x0,
        y0: b.bbox.y0,
        x1: b.bbox.x1,
        y1: b.bbox.y1,
        engine: b.provenance.engine,
        engineVersion: b.provenance.engineVersion,
        model: b.provenance.model ?? null,
        provBbox: sameBox(b.bbox, b.provenance.bbox) ? null : b.provenance.bbox,
        lines: b.lines,
        tableKey: b.tableId ?? null,
      }))),
    );
    const tableRows = doc.tables.map((t, i) => tableRow(documentId, t, i));
    await insertChunked(db, tables, tableRows);
    await insertChunked(
      db,
      tableCells,
      doc.tables.flatMap((t, i) => t.cells.map((c, n) => cellRow(documentId, tableRows[i]!.id, c, n))),
    );
    await insertChunked(
      db,
      charts,
      (doc.charts ?? []).map((c, i) => ({
        id: crypto.randomUUID(),
        documentId,
        chartKey: c.id,
        chartNo: i,
        chartType: c.chartType,
        title: c.title ?? null,
        xAxis: c.xAxis,
        yAxis: c.yAxis,
        series: c.series,
        page: c.provenance.page,
        ...c.provenance.bbox,
        engine: c.provenance.engine,
        engineVersion: c.provenance.engineVersion,
        model: c.provenance.model ?? null,
      })),
    );
    const imageOf = new Map(doc.pages.map((p) => [p.number, p.image]));
    await insertChunked(
      db,
      frames,
      (doc.frames ?? []).map((f, i) => ({ id: crypto.randomUUID(), documentId, frameNo: i, pageNo: f.page, t: f.time, hash: f.hash, image: imageOf.get(f.page) ?? null })),
    );
    return { documentId, inserted: true };
  });
}

const sameBox = (a: BBox, b: BBox) => a.x0 === b.x0 && a.y0 === b.y0 && a.x1 === b.x1 && a.y1 === b.y1;

function pageRow(documentId: string, p: Page) {
  return {
    id: crypto.randomUUID(),
    documentId,
    pageNo: p.number,
    width: p.width,
    height: p.height,
    rotation: p.rotation,
    needsOcr: p.needsOcr,
    engine: p.engine,
    reader: p.reader ?? null,
    image: p.image ?? null,
    thumbnail: p.thumbnail ?? null,
    text: p.blocks.map((b) => b.text).filter(Boolean).join('\n\n'),
  };
}

function tableRow(documentId: string, t: Table, tableNo: number) {
  const first = t.regions[0]!;
  return {
    id: crypto.randomUUID(),
    documentId,
    tableKey: t.id,
    caption: t.caption ?? null,
    tableNo,
    method: t.method,
    rowCount: t.rowCount,
    colCount: t.colCount,
    headerRows: t.headerRows,
    page: first.page,
    ...first.bbox,
    regions: t.regions,
    rowPages: t.rowPages,
    rows: t.rows,
    engine: t.provenance.engine,
    engineVersion: t.provenance.engineVersion,
    model: t.provenance.model ?? null,
    provPage: t.provenance.page === first.page ? null : t.provenance.page,
    provBbox: sameBox(t.provenance.bbox, first.bbox) ? null : t.provenance.bbox,
  };
}

function cellRow(documentId: string, tableId: string, c: Cell, cellNo: number) {
  const v = c.value;
  return {
    id: crypto.randomUUID(),
    tableId,
    documentId,
    cellNo,
    rowNo: c.row,
    colNo: c.col,
    rowSpan: c.rowSpan,
    colSpan: c.colSpan,
    text: c.text,
    valueType: v?.type ?? null,
    valueNum: v && v.type !== 'date' ? v.value : null,
    valueText: v?.type === 'date' ? v.value : v?.type === 'currency' ? v.currency : null,
    header: c.header,
    page: c.page,
    x0: c.bbox.x0,
    y0: c.bbox.y0,
    x1: c.bbox.x1,
    y1: c.bbox.y1,
  };
}

/** Cell.value from its stored columns (value_type, value_num, value_text). */
export function cellValue(r: Pick<TableCellRow, 'valueType' | 'valueNum' | 'valueText'>): TypedValue | undefined {
  switch (r.valueType) {
    case null:
      return undefined;
    case 'number':
    case 'percent':
      return { type: r.valueType, value: r.valueNum! };
    case 'currency':
      return { type: 'currency', value: r.valueNum!, currency: r.valueText! };
    case 'date':
      return { type: 'date', value: r.valueText! };
    default:
      throw new Error(`unknown value_type ${r.valueType}`);
  }
}

/** The Tables of a stored document (by its id), without the rest of it. */
export async function loadTables(database: Database, documentId: string): Promise<Table[]> {
  const tableRows = await database.db.select().from(tables).where(eq(tables.documentId, documentId)).orderBy(asc(tables.tableNo));
  const cellRows = tableRows.length
    ? await database.db
        .select()
        .from(tableCells)
        .where(eq(tableCells.documentId, documentId))
        .orderBy(asc(tableCells.tableId), asc(tableCells.cellNo))
    : [];
  const cellsOf = new Map<string, TableCellRow[]>(tableRows.map((t) => [t.id, []]));
  for (const c of cellRows) cellsOf.get(c.tableId)!.push(c);
  return tableRows.map((t) => tableFromRows(t, cellsOf.get(t.id)!));
}

function tableFromRows(t: TableRow, cells: TableCellRow[]): Table {
  const bbox = { x0: t.x0, y0: t.y0, x1: t.x1, y1: t.y1 };
  return {
    id: t.tableKey,
    ...(t.caption != null ? { caption: t.caption } : {}),
    method: t.method as Table['method'],
    rowCount: t.rowCount,
    colCount: t.colCount,
    headerRows: t.headerRows,
    regions: t.regions,
    rowPages: t.rowPages,
    cells: cells.map((c) => {
      const value = cellValue(c);
      return {
        row: c.rowNo,
        col: c.colNo,
        rowSpan: c.rowSpan,
        colSpan: c.colSpan,
        text: c.text,
        ...(value ? { value } : {}),
        header: c.header,
        page: c.page,
        bbox: { x0: c.x0, y0: c.y0, x1: c.x1, y1: c.y1 },
      };
    }),
    rows: t.rows,
    provenance: {
      page: t.provPage ?? t.page,
      bbox: t.provBbox ?? bbox,
      engine: t.engine as Table['provenance']['engine'],
      engineVersion: t.engineVersion,
      ...(t.model != null ? { model: t.model } : {}),
    },
  };
}

/**
 * Bulk insert: the rows travel as ONE JSON parameter that the server expands with
 * jsonb_to_recordset, instead of a statement with a parameter per value. Same SQL on PostgreSQL
 * and PGlite, still fully parameterized (identifiers come from the Drizzle schema), and several
 * times faster on PGlite, where binding thousands of parameters dominates. The server's cost is
 * then parsing that JSON, so nulls are left out of it: a missing key reads as NULL.
 */
async function insertChunked(db: Db, table: typeof pages | typeof blocks | typeof tables | typeof tableCells | typeof charts | typeof frames, rows: Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.entries(getTableColumns(table)).filter(([key]) => rows.some((r) => r[key] !== undefined));
  const names = columns.map(([, c]) => `"${c.name}"`).join(', ');
  const defs = columns.map(([, c]) => `"${c.name}" ${c.getSQLType()}`).join(', ');
  for (let i = 0; i < rows.length; i += CHUNK) {
    const json = JSON.stringify(
      rows.slice(i, i + CHUNK).map((r) => {
        const o: Record<string, unknown> = {};
        for (const [key, c] of columns) {
          const v = r[key];
          if (v != null) o[c.name] = v instanceof Date ? v.toISOString() : v;
        }
        return o;
      }),
    );
    await db.execute(sql`insert into ${table} (${sql.raw(names)}) select ${sql.raw(names)} from jsonb_to_recordset(${json}::jsonb) as x(${sql.raw(defs)})`);
  }
}

export interface FailureRecord {
  source: Source;
  pipelineVersion: string;
  code: string;
  message: string;
}

/** Record a failed document (its error code and message); never overwrites a successful one. */
export async function recordFailure(database: Database, f: FailureRecord): Promise<string> {
  const values = {
    ...documentValues(f.source, f.pipelineVersion),
    status: 'failed',
    errorCode: f.code,
    errorMessage: f.message.slice(0, 4000),
    updatedAt: new Date(),
  };
  const up = await database.db
    .insert(documents)
    .values(values)
    .onConflictDoUpdate({ target: [documents.sha256, documents.pipelineVersion], set: values, setWhere: ne(documents.status, 'done') })
    .returning({ id: documents.id });
  if (up[0]) return up[0].id;
  const existing = await database.db
    .select({ id: documents.id })
    .from(documents)
    .where(and(eq(documents.sha256, f.source.sha256), eq(documents.pipelineVersion, f.pipelineVersion)));
  return existing[0]!.id;
}

/** The documents row of a document id or unique id prefix; a clear error when there is none or several. */
export async function findDocument(database: Database, idOrPrefix: string): Promise<DocumentRow> {
  if (!/^[0-9a-f-]{4,36}$/i.test(idOrPrefix)) throw new Error(`"${idOrPrefix}" is not a document id (at least 4 characters of a uuid)`);
  const found = await database.db
    .select()
    .from(documents)
    .where(sql`${documents.id}::text like ${idOrPrefix.toLowerCase() + '%'}`)
    .limit(2);
  if (found.length === 0) throw new Error(`no document ${idOrPrefix}`);
  if (found.length > 1) throw new Error(`document id prefix ${idOrPrefix} is ambiguous`);
  return found[0]!;
}

/** Rebuild the stored Document (for export). Accepts a document id or a unique id prefix. */
export async function loadDocument(database: Database, idOrPrefix: string): Promise<Document> {
  const d = await findDocument(database, idOrPrefix);
  if (d.status !== 'done') throw new Error(`document ${d.id} failed (${d.errorCode}): ${d.errorMessage}`);
  const pageRows = await database.db.select().from(pages).where(eq(pages.documentId, d.id)).orderBy(asc(pages.pageNo));
  const blockRows = await database.db
    .select()
    .from(blocks)
    .where(eq(blocks.documentId, d.id))
    .orderBy(asc(blocks.readingOrder));
  const docTables = await loadTables(database, d.id);
  const chartRows = await database.db.select().from(charts).where(eq(charts.documentId, d.id)).orderBy(asc(charts.chartNo));
  const frameRows = await database.db.select().from(frames).where(eq(frames.documentId, d.id)).orderBy(asc(frames.frameNo));
  const doc: Document = {
    schemaVersion: SCHEMA_VERSION,
    pipelineVersion: d.pipelineVersion,
    source: { uri: d.sourceUri, name: d.filename, mime: d.mime, bytes: d.bytes, sha256: d.sha256 },
    ...(d.title != null ? { title: d.title } : {}),
    metadata: d.metadata,
    pageCount: d.pageCount,
    warnings: d.warnings,
    tables: docTables,
    ...(chartRows.length
      ? {
          charts: chartRows.map((c) => ({
            id: c.chartKey,
            chartType: c.chartType as Chart['chartType'],
            ...(c.title != null ? { title: c.title } : {}),
            xAxis: c.xAxis,
            yAxis: c.yAxis,
            series: c.series,
            provenance: { page: c.page, bbox: { x0: c.x0, y0: c.y0, x1: c.x1, y1: c.y1 }, engine: c.engine as Chart['provenance']['engine'], engineVersion: c.engineVersion, ...(c.model != null ? { model: c.model } : {}) },
          })),
        }
      : {}),
    ...(frameRows.length ? { frames: frameRows.map((f) => ({ page: f.pageNo, time: f.t, hash: f.hash })) } : {}),
    pages: pageRows.map((p) => ({
      number: p.pageNo,
      width: p.width,
      height: p.height,
      rotation: p.rotation as Page['rotation'],
      needsOcr: p.needsOcr,
      engine: p.engine as Page['engine'],
      ...(p.reader != null ? { reader: p.reader } : {}),
      ...(p.image != null ? { image: p.image } : {}),
      ...(p.thumbnail != null ? { thumbnail: p.thumbnail } : {}),
      blocks: blockRows
        .filter((b) => b.pageNo === p.pageNo)
        .map((b) => {
          const bbox = { x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 };
          return {
            id: b.blockKey,
            type: b.type as Page['blocks'][number]['type'],
            text: b.text,
            bbox,
            order: b.readingOrder,
            ...(b.level != null ? { level: b.level } : {}),
            ...(b.fontSize != null ? { fontSize: b.fontSize } : {}),
            ...(b.bold != null ? { bold: b.bold } : {}),
            lines: b.lines as Line[],
            ...(b.tableKey != null ? { tableId: b.tableKey } : {}),
            provenance: {
              page: b.pageNo,
              bbox: b.provBbox ?? bbox,
              engine: b.engine as Page['blocks'][number]['provenance']['engine'],
              engineVersion: b.engineVersion,
              ...(b.model != null ? { model: b.model } : {}),
            },
          };
        }),
    })),
  };
  return DocumentSchema.parse(doc);
}
