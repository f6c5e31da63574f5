// The `extract` task: a JSON Schema the user writes (invoice fields, a report's key figures)
// filled from one document. Born-digital text goes to a language model in-process through
// node-llama-cpp, whose grammar from the schema constrains every token; images and scans go to
// the vision model with the schema as `response_format`. Either way the answer is checked
// against the user's schema by an independent validator before it is returned.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Config } from '../schemas/config.ts';
import { FolioError } from '../schemas/errors.ts';
import { checkTextModel } from '../extractors/engines/gguf.ts';
import { modelSha256, resolveModel } from '../extractors/engines/models.ts';
import { llamaSource } from '../extractors/engines/llama-server.ts';
import type { TaskImage } from '../extractors/engines/vlm.ts';
import { toModelImage } from '../extractors/vlm.ts';
import { renderPage } from '../extractors/raster.ts';
import { openPdf } from '../extractors/pdfjs.ts';
import { describeSource, extractDocument, type Input } from './extract.ts';
import { toMarkdown } from './markdown.ts';
import { startVlm, vlmClient, type VlmHooks } from './vlm.ts';
import sharp from 'sharp';
import { and, desc, eq } from 'drizzle-orm';
import { sha256 } from '../db/blobs.ts';
import type { Database } from '../db/client.ts';
import { documents, extractions } from '../db/schema.ts';

export interface SchemaResult {
  schema: string;
  /** sha256 of the schema file's text. */
  schemaSha256: string;
  source: { name: string; sha256: string };
  data: unknown;
  provenance: { engine: 'llm' | 'vlm' | 'remote'; engineVersion: string; model: string; modelSha256?: string; pages: number[] };
  ms: number;
}

/** Pages of a scan sent to the vision model at most (each costs its image tokens). */
const MAX_IMAGE_PAGES = 4;
/** Characters of a document's text given to the language model at most (the rest is cut, and said so). */
const MAX_TEXT_CHARS = 24_000;

/** A user's JSON Schema file, compiled by an independent validator (draft-07, or 2020-12 when it says so). */
export function loadUserSchema(file: string): { schema: Record<string, unknown>; validate: ValidateFunction } {
  let schema: Record<string, unknown>;
  try {
    schema = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new FolioError('invalid_message', `cannot read the schema ${file}: ${(err as Error).message}`);
  }
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) throw new FolioError('invalid_message', `${file} is not a JSON Schema object`);
  const ajv = String(schema.$schema ?? '').includes('2020-12') ? new Ajv2020({ strict: false, allErrors: true }) : new Ajv({ strict: false, allErrors: true });
  try {
    return { schema, validate: ajv.compile(schema) };
  } catch (err) {
    throw new FolioError('invalid_message', `${file} is not a valid JSON Schema: ${(err as Error).message}`);
  }
}

const checker = (validate: ValidateFunction) => (v: unknown) =>
  validate(v) ? { ok: v } : { error: (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ') };

const PROMPT = (what: string) =>
  `Fill the JSON Schema you are constrained to from ${what}. Use only what the document says; leave a field empty (or null where allowed) when the document does not give it. Answer in JSON.`;

/** The extract task on one input (see the file's comment). */
export async function extractWithSchema(input: Input, schemaFile: string, cfg: Config, hooks: VlmHooks = {}): Promise<SchemaResult> {
  const t0 = performance.now();
  const { schema, validate } = loadUserSchema(schemaFile);
  const source = describeSource(input);
  // The text layer first: cheap, and it says whether the document is born-digital.
  const doc = await extractDocument(input, { ...cfg, engine: 'text', render: 'none' });
  const textPages = doc.pages.filter((p) => p.engine === 'pdf-text').map((p) => p.number);
  const bornDigital = doc.pages.length > 0 && textPages.length === doc.pages.length;
  const base = { schema: path.basename(schemaFile), schemaSha256: sha256(fs.readFileSync(schemaFile)), source: { name: source.name, sha256: source.sha256 } };
  if (bornDigital) {
    const spec = cfg.llmModel ?? cfg.vlmModel;
    if (!spec) throw new FolioError('model_missing', 'extract --schema on a born-digital document needs a language model: set FOLIO_LLM_MODEL (or FOLIO_VLM_MODEL)');
    let text = toMarkdown(doc);
    if (text.length > MAX_TEXT_CHARS) text = text.slice(0, MAX_TEXT_CHARS) + '\n[… the rest of the document is cut …]';
    const got = await fillInProcess(spec, schema, `${PROMPT('this document')}\n\n${text}`, cfg);
    const checked = checker(validate)(got.data);
    if ('error' in checked) throw new FolioError('model_failed', `the model's answer does not match ${base.schema}: ${checked.error}`);
    return { ...base, data: checked.ok, provenance: { engine: 'llm', engineVersion: got.version, model: got.model, modelSha256: got.sha256, pages: textPages }, ms: Math.round(performance.now() - t0) };
  }
  const rt = await startVlm(cfg, hooks);
  if (!rt) throw new FolioError('model_missing', 'extract --schema on a scan or image needs a vision model: set FOLIO_VLM_MODEL and FOLIO_VLM_MMPROJ, or FOLIO_VLM_URL');
  try {
    const client = vlmClient(rt.settings);
    const { images, pages } = await pageImages(input, doc.source.mime, cfg, client.profile);
    const got = await client.ask({ prompt: PROMPT('the document in the image(s)'), images, jsonSchema: schema, check: checker(validate), what: `${input.name} (extract ${base.schema})` });
    const { kind, version, model, modelSha256: sha } = rt.settings.info;
    return { ...base, data: got.value, provenance: { engine: kind === 'remote' ? 'remote' : 'vlm', engineVersion: version, model, ...(sha ? { modelSha256: sha } : {}), pages }, ms: Math.round(performance.now() - t0) };
  } finally {
    await rt.close();
  }
}

/** The first pages of a scan (or the image itself) as the model takes them. */
async function pageImages(input: Input, mime: string, cfg: Config, profile: Parameters<typeof toModelImage>[1]): Promise<{ images: TaskImage[]; pages: number[] }> {
  const images: TaskImage[] = [];
  const pages: number[] = [];
  if (mime === 'application/pdf') {
    const pdf = await openPdf(input.bytes, { password: cfg.password });
    try {
      for (let n = 1; n <= Math.min(pdf.numPages, MAX_IMAGE_PAGES); n++) {
        const page = await pdf.getPage(n);
        const raw = await renderPage(page, { dpi: cfg.vlmDpi, maxPixels: cfg.maxPixels });
        images.push((await toModelImage({ ...raw, scale: cfg.vlmDpi / 72 }, profile)).image);
        pages.push(n);
      }
    } finally {
      await pdf.destroy();
    }
    return { images, pages };
  }
  const raw = await sharp(input.bytes, { limitInputPixels: cfg.maxPixels }).autoOrient().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  images.push((await toModelImage({ data: raw.data, width: raw.info.width, height: raw.info.height, channels: raw.info.channels as 3, scale: 1 }, profile)).image);
  return { images, pages: [1] };
}

/** Keep a result in the database (`extractions`), linked to the stored document of the same bytes if there is one; returns its id. */
export async function storeExtraction(database: Database, r: SchemaResult): Promise<string> {
  const [doc] = await database.db
    .select({ id: documents.id })
    .from(documents)
    .where(and(eq(documents.sha256, r.source.sha256), eq(documents.status, 'done')))
    .orderBy(desc(documents.createdAt))
    .limit(1);
  const [row] = await database.db
    .insert(extractions)
    .values({
      documentId: doc?.id ?? null,
      sha256: r.source.sha256,
      filename: r.source.name,
      schemaName: r.schema,
      schemaSha256: r.schemaSha256,
      data: r.data,
      engine: r.provenance.engine,
      engineVersion: r.provenance.engineVersion,
      model: r.provenance.model,
      modelSha256: r.provenance.modelSha256 ?? null,
      pages: r.provenance.pages,
      ms: r.ms,
    })
    .returning({ id: extractions.id });
  return row!.id;
}

/** A language model run in this process (node-llama-cpp), its output constrained by the schema's grammar. */
async function fillInProcess(spec: string, schema: Record<string, unknown>, prompt: string, cfg: Config): Promise<{ data: unknown; model: string; sha256: string; version: string }> {
  const file = await resolveModel(spec);
  checkTextModel(file);
  const { getLlama, LlamaChatSession } = await import('node-llama-cpp');
  const llama = await getLlama({ build: 'never', logLevel: 'error' as never, progressLogs: false });
  const model = await llama.loadModel({ modelPath: file });
  try {
    // On a small machine one thread: a second one fights the JavaScript thread (measured 20-35x slower on 2 cores).
    const threads = Math.max(1, os.availableParallelism() - 1);
    const context = await model.createContext({ contextSize: { max: cfg.vlmContext }, threads });
    const session = new LlamaChatSession({ contextSequence: context.getSequence() });
    const grammar = await llama.createGrammarForJsonSchema(schema as never);
    const answer = await session.prompt(prompt, { grammar, maxTokens: cfg.vlmMaxTokens, temperature: cfg.vlmTemperature, seed: 1 });
    let data: unknown;
    try {
      data = grammar.parse(answer);
    } catch (err) {
      throw new FolioError('model_failed', `the language model's answer is not valid JSON (cut off at ${cfg.vlmMaxTokens} tokens?): ${(err as Error).message}`);
    }
    await context.dispose();
    return { data, model: path.basename(file), sha256: await modelSha256(file), version: `node-llama-cpp@${llamaSource().version}` };
  } finally {
    await model.dispose();
  }
}
