// Persistence: a whole Document in one transaction, idempotent on (sha256, pipeline version).
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import { Document as DocumentSchema, SCHEMA_VERSION, type BBox, type Document, type Line, type Page, type Source } from '../schemas/document.ts';
import type { Database, Db } from './client.ts';
import { blocks, documents, pages, type DocumentRow } from './schema.ts';

const CHUNK = 1000;

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

/**
 * Store a validated Document with its pages and blocks in one transaction. A document already
 * stored as done for the same (sha256, pipeline version) is left alone; a failed one is replaced.
 */
export async function persistDocument(database: Database, doc: Document, blob?: string): Promise<PersistResult> {
  DocumentSchema.parse(doc); // never persist an invalid Document
  return database.db.transaction(async (tx) => {
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
    await tx.delete(blocks).where(eq(blocks.documentId, documentId));
    await tx.delete(pages).where(eq(pages.documentId, documentId));
    await insertChunked(tx as unknown as Db, pages, doc.pages.map((p) => pageRow(documentId, p)));
    await insertChunked(
      tx as unknown as Db,
      blocks,
      doc.pages.flatMap((p) => p.blocks.map((b) => ({
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
      }))),
    );
    return { documentId, inserted: true };
  });
}

const sameBox = (a: BBox, b: BBox) => a.x0 === b.x0 && a.y0 === b.y0 && a.x1 === b.x1 && a.y1 === b.y1;

function pageRow(documentId: string, p: Page) {
  return {
    documentId,
    pageNo: p.number,
    width: p.width,
    height: p.height,
    rotation: p.rotation,
    needsOcr: p.needsOcr,
    image: p.image ?? null,
    thumbnail: p.thumbnail ?? null,
    text: p.blocks.map((b) => b.text).filter(Boolean).join('\n\n'),
  };
}

async function insertChunked(db: Db, table: typeof pages | typeof blocks, rows: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db.insert(table).values(rows.slice(i, i + CHUNK) as never);
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

/** Rebuild the stored Document (for export). Accepts a document id or a unique id prefix. */
export async function loadDocument(database: Database, idOrPrefix: string): Promise<Document> {
  if (!/^[0-9a-f-]{4,36}$/i.test(idOrPrefix)) throw new Error(`"${idOrPrefix}" is not a document id (at least 4 characters of a uuid)`);
  const found = await database.db
    .select()
    .from(documents)
    .where(sql`${documents.id}::text like ${idOrPrefix.toLowerCase() + '%'}`)
    .limit(2);
  if (found.length === 0) throw new Error(`no document ${idOrPrefix}`);
  if (found.length > 1) throw new Error(`document id prefix ${idOrPrefix} is ambiguous`);
  const d = found[0]!;
  if (d.status !== 'done') throw new Error(`document ${d.id} failed (${d.errorCode}): ${d.errorMessage}`);
  const pageRows = await database.db.select().from(pages).where(eq(pages.documentId, d.id)).orderBy(asc(pages.pageNo));
  const blockRows = await database.db
    .select()
    .from(blocks)
    .where(eq(blocks.documentId, d.id))
    .orderBy(asc(blocks.readingOrder));
  const doc: Document = {
    schemaVersion: SCHEMA_VERSION,
    pipelineVersion: d.pipelineVersion,
    source: { uri: d.sourceUri, name: d.filename, mime: d.mime, bytes: d.bytes, sha256: d.sha256 },
    ...(d.title != null ? { title: d.title } : {}),
    metadata: d.metadata,
    pageCount: d.pageCount,
    warnings: d.warnings,
    tables: [],
    pages: pageRows.map((p) => ({
      number: p.pageNo,
      width: p.width,
      height: p.height,
      rotation: p.rotation as Page['rotation'],
      needsOcr: p.needsOcr,
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
