// The messages folio's transports carry (Kafka topics, or the in-process queue of `folio process`).
// Producers in other languages write folio.ingest by these schemas: `folio schema --message ingest`
// prints the JSON Schema.
import { z } from 'zod';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** Per-document options a producer may set; the worker's configuration fills in the rest. */
export const IngestOptions = z
  .object({
    engine: z.enum(['auto', 'text', 'ocr', 'vlm']).optional(),
    password: z.string().optional(),
    ocrDpi: z.number().int().positive().optional(),
  })
  .strict();
export type IngestOptions = z.infer<typeof IngestOptions>;

/**
 * folio.ingest: one document to process (a claim check: the bytes stay where `uri` says).
 * `uri` is file:// (confined to FOLIO_ROOTS and the blob store), http(s):// (hosts on
 * FOLIO_HTTP_ALLOW) or blob:<sha256> (the worker's blob store).
 */
export const IngestMessage = z
  .object({
    docId: z.string().min(1).max(200).describe('the producer\'s id for this document; results and DLQ entries carry it'),
    uri: z.string().min(1).max(4000),
    name: z.string().max(1000).optional(),
    sha256: Sha256.optional().describe('when given, the bytes fetched must have it'),
    mime: z.string().max(200).optional(),
    size: z.number().int().min(0).optional(),
    options: IngestOptions.default({}),
  })
  .strict();
export type IngestMessage = z.infer<typeof IngestMessage>;

/**
 * folio.pages: one range of pages of a large document, read by whichever worker takes it. The
 * ingest worker that split the document writes one per range; the range whose arrival completes
 * the set assembles the Document.
 */
export const PagesMessage = z
  .object({
    docId: z.string().min(1).max(200),
    /** Names this split of the document (the ingest message's partition and offset). */
    fanout: z.string().min(1).max(200),
    /** Where the bytes are now (blob:<key> in the workers' blob store). */
    uri: z.string().min(1).max(4000),
    /** Where they came from (the ingest message's uri), recorded on the Document. */
    source: z.string().min(1).max(4000),
    name: z.string().max(1000),
    sha256: Sha256,
    size: z.number().int().min(0),
    mime: z.string().max(200),
    /** 1-based, inclusive. */
    from: z.number().int().min(1),
    to: z.number().int().min(1),
    pageCount: z.number().int().min(1),
    /** How many ranges the document was split into. */
    ranges: z.number().int().min(1),
    options: IngestOptions.default({}),
  })
  .strict()
  .refine((m) => m.from <= m.to && m.to <= m.pageCount, { message: 'from <= to <= pageCount' });
export type PagesMessage = z.infer<typeof PagesMessage>;

/**
 * folio.results: one event per ingest message handled, written in the same Kafka transaction as
 * the message's offset (a read_committed consumer sees exactly one per message).
 */
export const ResultMessage = z.object({
  docId: z.string(),
  uri: z.string(),
  name: z.string(),
  status: z.enum(['done', 'failed']),
  existing: z.boolean().optional().describe('done: these bytes were stored earlier for this pipeline version (nothing new written)'),
  documentId: z.string().optional().describe('the documents row'),
  sha256: Sha256.optional(),
  pages: z.number().int().min(0).optional(),
  code: z.string().optional(),
  message: z.string().optional(),
  ms: z.number().min(0),
  worker: z.string(),
  at: z.string(),
});
export type ResultMessage = z.infer<typeof ResultMessage>;

/** folio.dlq: a message given up on, as it arrived, with why and how often it was tried. */
export const DlqMessage = z.object({
  topic: z.string(),
  partition: z.number().int(),
  offset: z.string(),
  key: z.string().nullable(),
  /** The payload exactly as received (it may not be JSON at all). */
  payload: z.string(),
  docId: z.string().optional(),
  code: z.string(),
  message: z.string(),
  attempts: z.number().int().min(1),
  at: z.string(),
  worker: z.string(),
});
export type DlqMessage = z.infer<typeof DlqMessage>;

export const MESSAGE_SCHEMAS = { ingest: IngestMessage, pages: PagesMessage, results: ResultMessage, dlq: DlqMessage } as const;
export type MessageKind = keyof typeof MESSAGE_SCHEMAS;

/** JSON Schema (draft 2020-12) of a message, as `folio schema --message <kind>` prints it. */
export function messageJsonSchema(kind: MessageKind): Record<string, unknown> {
  const schema = z.toJSONSchema(MESSAGE_SCHEMAS[kind], { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { $id: `https://folio.dev/schemas/messages/${kind}.json`, title: `folio ${kind} message`, ...schema };
}
