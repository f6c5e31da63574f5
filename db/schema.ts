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
  },
  (t) => [
    index('blocks_document_order_idx').on(t.documentId, t.readingOrder),
    index('blocks_type_idx').on(t.type),
  ],
);

export type DocumentRow = typeof documents.$inferSelect;
export type PageRow = typeof pages.$inferSelect;
export type BlockRow = typeof blocks.$inferSelect;
