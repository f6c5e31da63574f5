// Small hand-built Documents for tests that need one without running an extractor.
import crypto from 'node:crypto';
import { SCHEMA_VERSION, type Block, type BlockType, type Document, type Line } from '../../schemas/document.ts';

export interface SampleDocumentOptions {
  /** Seed for the sha256 (same seed, same sha256); default 'sample'. */
  seed?: string;
  pipelineVersion?: string;
  /** Number of pages (default 2); page 1 has 3 blocks, every other page 2. */
  pages?: number;
}

export function sha256Hex(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function line(text: string, x0: number, y0: number, size: number): Line {
  const words: Line['words'] = [];
  let x = x0;
  for (const w of text.split(' ').filter(Boolean)) {
    const width = w.length * size * 0.5;
    words.push({ text: w, bbox: { x0: x, y0, x1: x + width, y1: y0 + size } });
    x += width + size * 0.25;
  }
  return { text, bbox: { x0, y0, x1: Math.max(x0, x - size * 0.25), y1: y0 + size }, angle: 0, words };
}

function block(page: number, order: number, type: BlockType, text: string, y0: number, extra: Partial<Block> = {}): Block {
  const size = extra.fontSize ?? 10;
  const ln = line(text, 50, y0, size);
  return {
    id: `p${page}-b${order}`,
    type,
    text,
    bbox: ln.bbox,
    order,
    ...extra,
    lines: [ln],
    provenance: { page, bbox: ln.bbox, engine: 'pdf-text', engineVersion: '5.6.205' },
  };
}

/** A valid Document: 2 pages (by default) with a title, heading, paragraphs and a footer. */
export function sampleDocument(opts: SampleDocumentOptions = {}): Document {
  const seed = opts.seed ?? 'sample';
  const pageCount = opts.pages ?? 2;
  let order = 0;
  const pages: Document['pages'] = [];
  for (let n = 1; n <= pageCount; n++) {
    const blocks: Block[] =
      n === 1
        ? [
            block(n, order++, 'title', 'Annual Report 2024', 60, { level: 1, fontSize: 24, bold: true }),
            block(n, order++, 'paragraph', 'alpha1 alpha2 alpha3 with a fraction 0.1 + 0.2', 100, { fontSize: 10, bold: false }),
            block(n, order++, 'page_footer', 'Page 1', 760, { fontSize: 9 }),
          ]
        : [
            block(n, order++, 'heading', `${n}. Section`, 60, { level: 2, fontSize: 16, bold: true }),
            { ...block(n, order++, 'paragraph', `beta${n} text — “quoted” ünïcode`, 100), provenance: { page: n, bbox: { x0: 50, y0: 100, x1: 200, y1: 110 }, engine: 'ocr', engineVersion: '1.0', model: 'tiny' } },
          ];
    // provenance.bbox must equal bbox for the block built with an explicit provenance above
    for (const b of blocks) b.bbox = b.provenance.bbox;
    // Page 2 stands for a scanned page read by OCR: its words carry confidences.
    const scanned = n === 2;
    if (scanned) {
      for (const b of blocks) for (const l of b.lines) l.words.forEach((w, i) => (w.conf = Math.round((0.9 - 0.1 * i) * 100) / 100));
    }
    pages.push({
      number: n,
      width: 612,
      height: 792,
      rotation: scanned ? 90 : 0,
      needsOcr: scanned,
      engine: scanned ? 'ocr' : 'pdf-text',
      ...(scanned
        ? {
            reader: {
              engine: 'tesseract',
              engineVersion: 'tesseract.js-core@7.0.0',
              model: 'eng (4.0.0_best_int)',
              modelSha256: sha256Hex('model'),
              rotation: 180 as const,
              skew: -1.25,
              dpi: 300,
              confidence: 0.87,
              words: 4,
            },
          }
        : {}),
      blocks,
    });
  }
  return {
    schemaVersion: SCHEMA_VERSION,
    pipelineVersion: opts.pipelineVersion ?? 'test-1',
    source: { uri: `file:///tmp/${seed}.pdf`, name: `${seed}.pdf`, mime: 'application/pdf', bytes: 1234, sha256: sha256Hex(seed) },
    title: 'Annual Report 2024',
    metadata: { Author: 'Folio Tests', Producer: 'hand-built' },
    pageCount,
    pages,
    tables: [],
    warnings: [{ code: 'low_confidence', message: 'page 2 was read by OCR', page: 2 }],
  };
}
