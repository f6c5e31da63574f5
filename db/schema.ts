// Drizzle table definitions. One schema serves PostgreSQL (node-postgres) and PGlite.
// Migrations under migrations/ are generated from this file by drizzle-kit (npm run db:generate).
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  doublePrecision,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { PageRead } from '../schemas/document.ts';

export const documents = pgTable(
  'documents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sha256: text('sha256').notNull(),
    pipelineVersion: text('pipeline_version').notNull(),
    schemaVersion: text('schema_version').notNull(),
    sourceUri: text('source_uri').notNull(),
    filename: text('filename').notNull(),
    mime: text('mime').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    /** 'done' or 'failed' */
    status: text('status').notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    title: text('title'),
    pageCount: integer('page_count').notNull().default(0),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    warnings: jsonb('warnings').$type<{ code: string; message: string; page?: number }[]>().notNull().default([]),
    blob: text('blob'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('documents_sha256_pipeline_uq').on(t.sha256, t.pipelineVersion),
    index('documents_status_idx').on(t.status),
  ],
);

export const pages = pgTable(
  'pages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    documentId: uuid('document_id')
      .notNull()
      .references(() => documents.id, { onDelete: 'cascade' }),
    pageNo: integer('page_no').notNull(),
    width: doublePrecision('width').notNull(),
    height: doublePrecision('height').notNull(),
    rotation: integer('rotation').notNull().default(0),
    needsOcr: boolean('needs_ocr').notNull().default(false),
    /** Which engine read the page's text: pdf-text, ocr, vlm or none. */
    engine: text('engine').notNull().default('pdf-text'),
    /** For a page read from its image: engine, model, rotation and skew applied, dpi, confidence (Page.reader). */
    reader: jsonb('reader').$type<PageRead>(),
    image: text('image'),
    thumbnail: text('thumbnail'),
    text: text('text').notNull().default(''),
  },
  (t) => [uniqueIndex('pages_document_page_uq').on(t.documentId, t.pageNo)],
);

export const blocks = pgTable(
  'blocks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    documentId: uuid('document_id')
      .notNull()
      .references(() => documents.id, { onDelete: 'cascade' }),
    pageNo: integer('page_no').notNull(),
    blockKey: text('block_key').notNull(),
    readingOrder: integer('reading_order').notNull(),
    type: text('type').notNull(),
    text: text('text').notNull(),
    level: integer('level'),
    fontSize: doublePrecision('font_size'),
    bold: boolean('bold'),
    x0: doublePrecision('x0').notNull(),
    y0: doublePrecision('y0').notNull(),
    x1: doublePrecision('x1').notNull(),
    y1: doublePrecision('y1').notNull(),
    engine: text('engine').notNull(),
    engineVersion: text('engine_version').notNull(),
    model: text('model'),
    /** The provenance box, only where it differs from the block's own box. */
    provBbox: jsonb('prov_bbox').$type<{ x0: number; y0: number; x1: number; y1: number }>(),
    /** Lines with their words and boxes, as in the Document schema. */
    lines: jsonb('lines').notNull().default(sql`'[]'::jsonb`),
    /** For blocks of type table: the Table (tables.table_key of the same document) it shows. */
    tableKey: text('table_key'),
  },
  (t) => [
    index('blocks_document_order_idx').on(t.documentId, t.readingOrder),
    index('blocks_type_idx').on(t.type),
  ],
);

type Box = { x0: number; y0: number; x1: number; y1: number };

/** One row per Table of a Document; its cells are in table_cells. */
export const tables = pgTable(
  'tables',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    documentId: uuid('document_id')
      .notNull()
      .references(() => documents.id, { onDelete: 'cascade' }),
    /** Table.id: unique within its document (Block.tableId names it). */
    tableKey: text('table_key').notNull(),
    /** Table.caption: the table's title ("Table 3: Sales by region"). */
    caption: text('caption'),
    /** Position in Document.tables (0-based). */
    tableNo: integer('table_no').notNull(),
    /** 'lattice' (ruling lines) or 'stream' (text alignment). */
    method: text('method').notNull(),
    rowCount: integer('row_count').notNull(),
    colCount: integer('col_count').notNull(),
    headerRows: integer('header_rows').notNull(),
    /** The first page the table lies on, and its box there (regions[0]). */
    page: integer('page').notNull(),
    x0: doublePrecision('x0').notNull(),
    y0: doublePrecision('y0').notNull(),
    x1: doublePrecision('x1').notNull(),
    y1: doublePrecision('y1').notNull(),
    /** Table.regions: [{page, bbox}], one per page the table spans. */
    regions: jsonb('regions').$type<{ page: number; bbox: Box }[]>().notNull(),
    /** Table.rowPages: the page of each row. */
    rowPages: jsonb('row_pages').$type<number[]>().notNull(),
    /** Table.rows: the grid as text, as the Document carries it. */
    rows: jsonb('rows').$type<string[][]>().notNull(),
    engine: text('engine').notNull(),
    engineVersion: text('engine_version').notNull(),
    model: text('model'),
    /** The provenance page and box, only where they differ from page and x0..y1. */
    provPage: integer('prov_page'),
    provBbox: jsonb('prov_bbox').$type<Box>(),
  },
  (t) => [
    uniqueIndex('tables_document_key_uq').on(t.documentId, t.tableKey),
    uniqueIndex('tables_document_no_uq').on(t.documentId, t.tableNo),
  ],
);

/** One row per Cell (a covered position of a spanning cell has no row of its own). */
export const tableCells = pgTable(
  'table_cells',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tableId: uuid('table_id')
      .notNull()
      .references(() => tables.id, { onDelete: 'cascade' }),
    documentId: uuid('document_id')
      .notNull()
      .references(() => documents.id, { onDelete: 'cascade' }),
    /** Position in Table.cells (0-based). */
    cellNo: integer('cell_no').notNull(),
    rowNo: integer('row_no').notNull(),
    colNo: integer('col_no').notNull(),
    rowSpan: integer('row_span').notNull().default(1),
    colSpan: integer('col_span').notNull().default(1),
    text: text('text').notNull(),
    /** Cell.value: 'number' | 'percent' | 'currency' | 'date', or null when the text shows none. */
    valueType: text('value_type'),
    /** number, percent (a fraction: 12.5% -> 0.125) or currency amount. */
    valueNum: doublePrecision('value_num'),
    /** date (ISO yyyy-mm-dd) or the currency (ISO code or symbol). */
    valueText: text('value_text'),
    header: boolean('header').notNull().default(false),
    page: integer('page').notNull(),
    x0: doublePrecision('x0').notNull(),
    y0: doublePrecision('y0').notNull(),
    x1: doublePrecision('x1').notNull(),
    y1: doublePrecision('y1').notNull(),
  },
  (t) => [
    index('table_cells_table_pos_idx').on(t.tableId, t.rowNo, t.colNo),
    index('table_cells_document_idx').on(t.documentId),
  ],
);

/** One row per Chart of a Document (read by a vision model from a figure). */
export const charts = pgTable(
  'charts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    documentId: uuid('document_id')
      .notNull()
      .references(() => documents.id, { onDelete: 'cascade' }),
    /** Chart.id: unique within its document (c1, c2, ...). */
    chartKey: text('chart_key').notNull(),
    /** Position in Document.charts (0-based). */
    chartNo: integer('chart_no').notNull(),
    /** bar, line, pie, scatter, area or other. */
    chartType: text('chart_type').notNull(),
    title: text('title'),
    /** Chart.xAxis / yAxis: {title?, unit?}. */
    xAxis: jsonb('x_axis').$type<{ title?: string; unit?: string }>().notNull(),
    yAxis: jsonb('y_axis').$type<{ title?: string; unit?: string }>().notNull(),
    /** Chart.series: [{name, points: [{x, y}]}]. */
    series: jsonb('series').$type<{ name: string; points: { x: string; y: number }[] }[]>().notNull(),
    page: integer('page').notNull(),
    x0: doublePrecision('x0').notNull(),
    y0: doublePrecision('y0').notNull(),
    x1: doublePrecision('x1').notNull(),
    y1: doublePrecision('y1').notNull(),
    engine: text('engine').notNull(),
    engineVersion: text('engine_version').notNull(),
    model: text('model'),
  },
  (t) => [uniqueIndex('charts_document_key_uq').on(t.documentId, t.chartKey)],
);

/** One row per kept frame of a video: its time, hash and image; its blocks and tables are on page page_no. */
export const frames = pgTable(
  'frames',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    documentId: uuid('document_id')
      .notNull()
      .references(() => documents.id, { onDelete: 'cascade' }),
    /** Position in Document.frames (0-based). */
    frameNo: integer('frame_no').notNull(),
    /** The page the frame was read into (blocks.page_no, tables.page). */
    pageNo: integer('page_no').notNull(),
    /** Seconds from the start of the video. */
    t: doublePrecision('t').notNull(),
    /** 64-bit perceptual hash (difference hash), hex. */
    hash: text('hash').notNull(),
    /** Blob key (sha256) of the frame's image, when stored (the page's image). */
    image: text('image'),
  },
  (t) => [uniqueIndex('frames_document_no_uq').on(t.documentId, t.frameNo), index('frames_document_page_idx').on(t.documentId, t.pageNo)],
);

/** One row per `folio extract --schema --store`: a user's JSON Schema filled from a document by a model. */
export const extractions = pgTable(
  'extractions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The stored document with the same bytes, when there is one. */
    documentId: uuid('document_id').references(() => documents.id, { onDelete: 'set null' }),
    sha256: text('sha256').notNull(),
    filename: text('filename').notNull(),
    /** The schema's file name, and the sha256 of its text. */
    schemaName: text('schema_name').notNull(),
    schemaSha256: text('schema_sha256').notNull(),
    data: jsonb('data').notNull(),
    engine: text('engine').notNull(),
    engineVersion: text('engine_version').notNull(),
    model: text('model').notNull(),
    modelSha256: text('model_sha256'),
    pages: jsonb('pages').$type<number[]>().notNull(),
    ms: integer('ms').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('extractions_sha256_idx').on(t.sha256), index('extractions_document_idx').on(t.documentId)],
);

export type DocumentRow = typeof documents.$inferSelect;
export type PageRow = typeof pages.$inferSelect;
export type BlockRow = typeof blocks.$inferSelect;
export type TableRow = typeof tables.$inferSelect;
export type TableCellRow = typeof tableCells.$inferSelect;

/**
 * A large document read in page ranges by several workers (folio.pages): one row per range of one
 * fan-out (the ingest message that split it). `part` holds the range's pages as read until the
 * document is assembled; `completer` marks the range whose arrival completed the set (it
 * assembles the document and announces it).
 */
export const pageRanges = pgTable(
  'page_ranges',
  {
    fanout: text('fanout').notNull(),
    fromPage: integer('from_page').notNull(),
    toPage: integer('to_page').notNull(),
    sha256: text('sha256').notNull(),
    pipelineVersion: text('pipeline_version').notNull(),
    ranges: integer('ranges').notNull(),
    part: jsonb('part'),
    completer: boolean('completer').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('page_ranges_fanout_from_uq').on(t.fanout, t.fromPage), index('page_ranges_sha256_idx').on(t.sha256, t.pipelineVersion)],
);
export type PageRangeRow = typeof pageRanges.$inferSelect;
