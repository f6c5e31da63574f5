// OCR end to end: scans made here from PDFs with known text (test/fixtures/scans.ts) are read by
// the default engine (Tesseract, wasm, the model installed with folio) through the same layout and
// table code as a text layer. Asserted: the text (CER), reading order, word boxes against where the
// words were drawn, turned and skewed pages, a ruled table, routing, and bad input.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { PDFDocument, StandardFonts, rgb } from 'pdf-lib';
import sharp from 'sharp';
import { score } from '../bench/text-score.ts';
import { extractDocument, type ExtractConfig } from '../pipelines/extract.ts';
import { loadConfig } from '../schemas/config.ts';
import type { Document } from '../schemas/document.ts';
import { FolioError, type ErrorCode } from '../schemas/errors.ts';
import { processInputs } from '../pipelines/process.ts';
import { drawTable } from './fixtures/tables.ts';
import { imageOnlyPdf, letterPage, phonePhoto, png, render, SCANNED_TABLE, tablePage, tiff, UNMAPPED_LINES, unmappedTextPdf, type Pixels, type ScanSource, type TrueWord } from './fixtures/scans.ts';
import { backends } from './support/backends.ts';
import { tmpDirFor } from './support/tmp.ts';

const cfg: ExtractConfig = { ...loadConfig({ logLevel: 'silent' }, {}), render: 'none' };
const read = (bytes: Uint8Array, name: string, over: Partial<ExtractConfig> = {}) => extractDocument({ bytes, uri: `mem://${name}`, name }, { ...cfg, ...over });
const hasCode = (code: ErrorCode, also?: RegExp) => (err: unknown) => err instanceof FolioError && err.code === code && (!also || also.test(err.message));

const docText = (d: Document) => d.pages.flatMap((p) => p.blocks.map((b) => b.text)).join('\n');
const docWords = (d: Document) => d.pages.flatMap((p) => p.blocks.flatMap((b) => b.lines.flatMap((l) => l.words)));

/**
 * The share of the words drawn that OCR found with the same text and its box's centre within
 * `tol` points of where the word was drawn (OCR boxes hug the ink; the drawn boxes span the font's
 * ascent and descent, so centres differ by a point or so vertically).
 */
function boxesFound(doc: Document, truth: TrueWord[], tol = 3): number {
  const got = docWords(doc).map((w) => ({ text: w.text.replace(/[^\p{L}\p{N}]/gu, ''), cx: (w.bbox.x0 + w.bbox.x1) / 2, cy: (w.bbox.y0 + w.bbox.y1) / 2 }));
  let hit = 0;
  for (const t of truth) {
    const text = t.text.replace(/[^\p{L}\p{N}]/gu, '');
    const cx = (t.bbox.x0 + t.bbox.x1) / 2;
    const cy = (t.bbox.y0 + t.bbox.y1) / 2;
    if (got.some((g) => g.text === text && Math.abs(g.cx - cx) <= tol && Math.abs(g.cy - cy) <= tol)) hit++;
  }
  return hit / truth.length;
}

let letter: ScanSource;
let letterPx: Pixels;
let table: ScanSource;
let tablePx: Pixels;
let letterScan: Uint8Array;

before(async () => {
  letter = await letterPage();
  letterPx = await render(letter.pdf, 200);
  table = await tablePage();
  tablePx = await render(table.pdf, 200);
  letterScan = await imageOnlyPdf(letterPx);
});

describe('reading scans', () => {
  test('a scanned PDF is read into blocks in reading order, with boxes where the words are', async () => {
    const doc = await read(letterScan, 'scan.pdf');
    const page = doc.pages[0]!;
    assert.equal(page.engine, 'ocr');
    assert.equal(page.needsOcr, true);
    assert.equal(page.reader?.engine, 'tesseract');
    assert.match(page.reader!.model, /^eng/);
    assert.match(page.reader!.modelSha256 ?? "", /^[0-9a-f]{64}$/);
    assert.equal(page.reader!.rotation, 0);
    // Read at the scan's own resolution (200 dpi), not drawn larger.
    assert.equal(page.reader!.dpi, 200);
    assert.ok((page.reader!.confidence ?? 0) > 0.8, `confidence ${page.reader!.confidence}`);
    assert.deepEqual([page.width, page.height], [612, 792]);
    for (const b of page.blocks.filter((x) => x.type !== 'figure')) {
      assert.equal(b.provenance.engine, 'ocr');
      assert.match(b.provenance.model ?? '', /^eng/);
    }
    const { cer } = score(docText(doc), letter.text);
    assert.ok(cer <= 0.03, `CER ${cer.toFixed(3)}:\n${docText(doc)}`);
    // The title first, then the left column, then the right one.
    assert.equal(page.blocks[0]!.text, 'Quarterly Field Report');
    assert.equal(page.blocks[0]!.type, 'title');
    const words = docWords(doc).map((w) => w.text);
    assert.ok(words.lastIndexOf('autumn.') < words.indexOf('Water'), words.join(' '));
    // Boxes: where the words were drawn, and every word with a confidence.
    const found = boxesFound(doc, letter.words);
    assert.ok(found >= 0.9, `${(found * 100).toFixed(0)}% of words in place`);
    assert.ok(docWords(doc).every((w) => w.conf !== undefined && w.conf >= 0 && w.conf <= 1));
  });

  test('a small-print table ruled only across stays one table: rows of figures read from pixels are a cap height tall', async () => {
    // 7-point type, rows 15 points apart: the words' boxes (ink only) are 5 points tall, so the
    // gaps between rows are twice the boxes, as wide as between paragraphs if boxes measured lines.
    const rows = [
      ['Item', 'Q1', 'Q2', 'Q3'],
      ['Rent', '12.35', '8.07', '14.52'],
      ['Power', '3.81', '6.29', '0.75'],
      ['Water', '1.46', '2.93', '5.18'],
      ['Staff', '41.60', '39.24', '44.07'],
    ];
    const pdf = await PDFDocument.create();
    const page = pdf.addPage([612, 792]);
    const [font, bold] = [await pdf.embedFont(StandardFonts.Helvetica), await pdf.embedFont(StandardFonts.HelveticaBold)];
    drawTable({ page, rotation: 0, font, bold }, { x: 72, y: 120, colWidths: [60, 40, 40, 40], rowHeight: 11, rows, rules: 'booktabs', fontSize: 7, headerRows: 1 });
    const doc = await read(await imageOnlyPdf(await render(await pdf.save(), 300)), 'small-print.pdf');
    assert.equal(doc.tables.length, 1, docText(doc));
    const t = doc.tables[0]!;
    assert.deepEqual([t.rowCount, t.colCount], [5, 4], JSON.stringify(t.rows));
    const same = rows.flat().filter((w, i) => w === t.rows.flat()[i]).length;
    assert.ok(same >= rows.flat().length - 1, JSON.stringify(t.rows));
  });

  test('white words on tinted table cells are read, and no cell edge is read as a bar', async () => {
    const pdf = await PDFDocument.create();
    const page = pdf.addPage([612, 792]);
    const font = await pdf.embedFont(StandardFonts.Helvetica);
    const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
    const rows = [
      ['Program', 'Budget'],
      ['Performance', '$1.1M'],
      ['Dashboard', '$1.06M'],
      ['Challenges', '$0.44M'],
      ['Engagement', '$2.88M'],
      ['Subawards', '$0.9M'],
    ];
    // As reports draw them: the first column's cells in a dark blue with white bold words, the
    // second's in a light one with black words, a thin white gap between the rows.
    rows.forEach(([name, amount], i) => {
      const top = 792 - 140 - i * 26;
      page.drawRectangle({ x: 72, y: top - 26, width: 318, height: 25, color: rgb(0.31, 0.51, 0.74) });
      page.drawRectangle({ x: 392, y: top - 26, width: 100, height: 25, color: rgb(0.82, 0.87, 0.93) });
      page.drawText(name!, { x: 80, y: top - 18, size: 12, font: bold, color: rgb(1, 1, 1) });
      page.drawText(amount!, { x: 400, y: top - 18, size: 12, font: i === 0 ? bold : font, color: rgb(0, 0, 0) });
    });
    page.drawText('Budgets of the programs in the fiscal year.', { x: 72, y: 792 - 320, size: 12, font });
    const doc = await read(await imageOnlyPdf(await render(await pdf.save(), 200)), 'bands.pdf');
    const words = new Set(docText(doc).split(/\s+/));
    const missing = rows.flat().filter((w) => !words.has(w));
    assert.deepEqual(missing, [], docText(doc));
    // The band's edges are not read as bars.
    assert.ok(![...words].some((w) => /^[|[\]]+$/.test(w)), docText(doc));
  });

  test('a table whose cells are told apart only by tinted bands (no rules) is a table on a scan', async () => {
    const rows = [
      ['Tuition', 'Set by each college'],
      ['Housing', 'Room and board on campus'],
      ['Books', 'About 1,100 dollars a year'],
      ['Travel', 'Trips home in the breaks'],
    ];
    const pdf = await PDFDocument.create();
    const page = pdf.addPage([612, 792]);
    const font = await pdf.embedFont(StandardFonts.Helvetica);
    // Each cell a tinted box, white gaps of two points between them: the only borders there are.
    rows.forEach((row, i) => {
      const top = 792 - 140 - i * 30;
      row.forEach((cell, c) => {
        const [x, width] = c === 0 ? [72, 120] : [194, 260];
        page.drawRectangle({ x, y: top - 28, width, height: 28, color: rgb(0.6, 0.7, 0.85) });
        page.drawText(cell, { x: x + 6, y: top - 18, size: 11, font, color: rgb(0, 0, 0) });
      });
    });
    page.drawText('Each item is what one year at college costs.', { x: 72, y: 792 - 290, size: 12, font });
    const doc = await read(await imageOnlyPdf(await render(await pdf.save(), 200)), 'banded.pdf');
    assert.equal(doc.tables.length, 1, docText(doc));
    const t = doc.tables[0]!;
    assert.deepEqual([t.method, t.rowCount, t.colCount], ['lattice', 4, 2], JSON.stringify(t.rows));
    const same = rows.flat().filter((w, i) => w === t.rows.flat()[i]).length;
    assert.ok(same >= rows.flat().length - 1, JSON.stringify(t.rows));
  });

  test('scans at 150 and 300 dpi read as well; a coarse scan is read at 200 dpi, a fine one at its own', async () => {
    for (const [dpi, readAt] of [
      [150, 200],
      [300, 300],
    ] as const) {
      const doc = await read(await imageOnlyPdf(await render(letter.pdf, dpi)), `scan-${dpi}.pdf`);
      assert.equal(doc.pages[0]!.reader?.dpi, readAt);
      const { cer } = score(docText(doc), letter.text);
      assert.ok(cer <= 0.03, `${dpi} dpi: CER ${cer.toFixed(3)}`);
      assert.ok(boxesFound(doc, letter.words) >= 0.9, `${dpi} dpi: boxes`);
    }
  });

  test('a page fed in sideways is turned upright: boxes in the upright frame, the turn recorded', async () => {
    const doc = await read(await png(letterPx, 90), 'sideways.png');
    const page = doc.pages[0]!;
    // The scan was turned a quarter clockwise; reading it upright takes three more quarters.
    assert.equal(page.reader?.rotation, 270);
    assert.deepEqual([page.width, page.height], [612, 792]);
    const { cer } = score(docText(doc), letter.text);
    assert.ok(cer <= 0.03, `CER ${cer.toFixed(3)}:\n${docText(doc)}`);
    const found = boxesFound(doc, letter.words);
    assert.ok(found >= 0.9, `${(found * 100).toFixed(0)}% of words in place`);
  });

  test('a scan upside down is read the right way up', async () => {
    const doc = await read(await png(letterPx, 180), 'upside-down.png');
    assert.equal(doc.pages[0]!.reader?.rotation, 180);
    const { cer } = score(docText(doc), letter.text);
    assert.ok(cer <= 0.03, `CER ${cer.toFixed(3)}:\n${docText(doc)}`);
  });

  test('a phone photo (JPEG turned by EXIF, askew, tinted, soft) is read upright and straight', async () => {
    const doc = await read(await phonePhoto(letterPx, 1.5), 'photo.jpg');
    const page = doc.pages[0]!;
    assert.ok(page.height > page.width, 'EXIF orientation applied: the page stands upright');
    assert.equal(page.reader?.rotation, 0);
    assert.ok(Math.abs(Math.abs(page.reader!.skew) - 1.5) <= 0.3, `skew ${page.reader!.skew}`);
    const { cer } = score(docText(doc), letter.text);
    assert.ok(cer <= 0.05, `CER ${cer.toFixed(3)}:\n${docText(doc)}`);
  });

  test('a ruled table on a scan is a table with its grid, its rules found in the pixels', async () => {
    const doc = await read(await imageOnlyPdf(tablePx), 'table-scan.pdf');
    assert.equal(doc.tables.length, 1, docText(doc));
    const t = doc.tables[0]!;
    assert.equal(t.method, 'lattice');
    assert.equal(t.provenance.engine, 'ocr');
    assert.deepEqual([t.rowCount, t.colCount, t.headerRows], [4, 4, 1]);
    const want = SCANNED_TABLE.rows.flat();
    const got = t.rows.flat();
    const same = want.filter((w, i) => w === got[i]).length;
    assert.ok(same >= want.length - 1, `cells read: ${JSON.stringify(t.rows)}`);
    // The rules are masked before recognition: no cell holds a stray bar.
    assert.ok(got.every((c) => !/[|[\]_]/.test(c)), JSON.stringify(t.rows));
    assert.equal(t.cells.find((c) => c.row === 2 && c.col === 2)?.value?.type, 'number');
    assert.ok(doc.pages[0]!.blocks.some((b) => b.type === 'table' && b.tableId === t.id));
  });
});

describe('routing', () => {
  test('engine text leaves a scan unread; engine ocr reads a born-digital page from its pixels', async () => {
    const unread = await read(letterScan, 'scan.pdf', { engine: 'text' });
    assert.equal(unread.pages[0]!.engine, 'none');
    assert.equal(unread.pages[0]!.reader, undefined);
    assert.ok(unread.pages[0]!.blocks.every((b) => b.type === 'figure'));

    const layer = await read(letter.pdf, 'born.pdf');
    assert.equal(layer.pages[0]!.engine, 'pdf-text');
    assert.equal(layer.pages[0]!.blocks[0]!.provenance.engine, 'pdf-text');
    const forced = await read(letter.pdf, 'born.pdf', { engine: 'ocr' });
    assert.equal(forced.pages[0]!.engine, 'ocr');
    assert.ok(score(docText(forced), letter.text).cer <= 0.03, docText(forced));
    assert.ok(score(docText(forced), docText(layer)).cer <= 0.03);
  });

  test('a text layer of unmapped glyphs (private-use characters) is read from the pixels instead', async () => {
    const bytes = await unmappedTextPdf();
    const layer = await read(bytes, 'unmapped.pdf', { engine: 'text' });
    assert.equal(layer.pages[0]!.needsOcr, true, 'no usable text layer');
    assert.equal(layer.pages[0]!.engine, 'pdf-text');
    const out = await read(bytes, 'unmapped.pdf');
    assert.equal(out.pages[0]!.engine, 'ocr');
    assert.equal(out.pages[0]!.reader?.merged, undefined, 'the unusable layer is not kept');
    assert.ok(score(docText(out), UNMAPPED_LINES.join('\n')).cer <= 0.03, docText(out));
  });

  test('a scan with typed text on it: the text layer kept, OCR added beside it, no word twice', async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const image = await doc.embedPng(await sharp(letterPx.data, { raw: { width: letterPx.width, height: letterPx.height, channels: 1 } }).png().toBuffer());
    // Page 1: a long stamp (a usable text layer of its own, the scan left bare by it).
    // Page 2: a short one (too few characters to count as a text layer).
    for (const stamp of ['RECEIVED 3 MAY 2024 BY THE CLERK', 'Ref 4471']) {
      const page = doc.addPage([612, 792]);
      page.drawImage(image, { x: 0, y: 0, width: 612, height: 792 });
      page.drawText(stamp, { x: 72, y: 792 - 50, size: 12, font, color: rgb(0, 0, 0) });
    }
    const out = await read(await doc.save(), 'stamped.pdf');
    for (const [i, stamp] of ['RECEIVED 3 MAY 2024 BY THE CLERK', 'Ref 4471'].entries()) {
      const page = out.pages[i]!;
      assert.equal(page.engine, 'ocr', `page ${i + 1}`);
      assert.equal(page.reader?.merged, true);
      const text = page.blocks.map((b) => b.text).join('\n');
      assert.equal(text.split(stamp).length - 1, 1, `the stamp once on page ${i + 1}:\n${text}`);
      assert.ok(score(text.replace(stamp, ''), letter.text).cer <= 0.03, text);
      // The stamp's words come from the text layer (no confidence), the scan's from OCR.
      const words = page.blocks.flatMap((b) => b.lines.flatMap((l) => l.words));
      assert.equal(words.find((w) => w.text === stamp.split(' ')[0])?.conf, undefined);
      assert.ok(words.find((w) => w.text === 'Quarterly')?.conf !== undefined);
    }
  });
});

describe('bad input', () => {
  test('a missing or damaged model fails before any page is read, naming the file', async (t) => {
    const dir = await tmpDirFor(t);
    const missing = dir.join('no-such-dir', 'eng.traineddata');
    await assert.rejects(read(letterScan, 'scan.pdf', { ocrModel: missing }), hasCode('model_missing', new RegExp(missing.replace(/[/.]/g, '\\$&'))));
    const garbage = await dir.write('broken.traineddata', Buffer.from('this is not a tesseract model, only some bytes that pretend to be one'.repeat(20)));
    await assert.rejects(read(letterScan, 'scan.pdf', { ocrModel: garbage }), hasCode('model_invalid', /broken\.traineddata/));
    // A gzip of the wrong thing, named like a model.
    const gz = await dir.write('eng.traineddata.gz', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]));
    await assert.rejects(read(letterScan, 'scan.pdf', { ocrModel: gz }), hasCode('model_invalid', /eng\.traineddata\.gz/));
    // A document that needs no OCR does not need the model.
    const born = await read(letter.pdf, 'born.pdf', { ocrModel: missing });
    assert.equal(born.pages[0]!.engine, 'pdf-text');
  });

  test('an image that decodes to nothing fails as corrupt_image; a blank one is a page without words', async () => {
    const full = await png(letterPx);
    await assert.rejects(read(full.subarray(0, Math.floor(full.length / 3)), 'cut.png'), hasCode('corrupt_image'));
    const blank = await sharp({ create: { width: 850, height: 1100, channels: 3, background: '#ffffff' } }).png().withMetadata({ density: 100 }).toBuffer();
    const doc = await read(blank, 'blank.png');
    assert.equal(doc.pages[0]!.engine, 'ocr');
    assert.equal(doc.pages[0]!.reader?.words, 0);
    assert.equal(doc.pages[0]!.blocks.length, 0);
  });

  test('a zero-size page and a one-point page are empty pages; the others are read', async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    doc.addPage([612, 792]).drawText('A page that has a size and a text layer.', { x: 72, y: 700, size: 12, font });
    doc.addPage([0, 0]);
    doc.addPage([1, 1]).drawRectangle({ x: 0, y: 0, width: 1, height: 1, color: rgb(0, 0, 0) });
    doc.addPage([612, 792]).drawImage(await doc.embedPng(await png(letterPx)), { x: 0, y: 0, width: 612, height: 792 });
    const out = await read(await doc.save(), 'zero.pdf');
    assert.equal(out.pageCount, 4);
    assert.equal(out.pages[0]!.blocks[0]!.text, 'A page that has a size and a text layer.');
    // pdf.js reads a MediaBox without area as the default Letter page: blank, nothing to read.
    assert.deepEqual([out.pages[1]!.width, out.pages[1]!.height, out.pages[1]!.engine, out.pages[1]!.blocks.length], [612, 792, 'none', 0]);
    // One point square, all ink: OCR finds no words on it (4 x 4 pixels at 300 dpi).
    assert.deepEqual([out.pages[2]!.width, out.pages[2]!.height], [1, 1]);
    assert.equal(out.pages[2]!.blocks.filter((b) => b.type !== 'figure').length, 0);
    assert.ok(score(out.pages[3]!.blocks.map((b) => b.text).join('\n'), letter.text).cer <= 0.03);
  });

  test('a page over the pixel limit at the OCR resolution is read at a lower one, or fails when none fits', async () => {
    // The scan is 200 dpi, Letter at 200 dpi is 3.7 MP; 1.5 MP fits about 125 dpi.
    const low = await read(letterScan, 'scan.pdf', { maxPixels: 1_500_000 });
    const page = low.pages[0]!;
    assert.ok(page.reader!.dpi < 200 && page.reader!.dpi >= 100, `dpi ${page.reader!.dpi}`);
    assert.deepEqual(low.warnings.map((w) => w.code), ['ocr_dpi_reduced']);
    assert.ok(score(docText(low), letter.text).cer <= 0.1, docText(low));
    // Not even 72 dpi fits 100,000 pixels.
    await assert.rejects(read(letterScan, 'scan.pdf', { maxPixels: 100_000 }), hasCode('too_many_pixels'));
  });
});

for (const backend of backends) {
  describe(`scans through folio process on ${backend.name}`, () => {
    test('a scanned PDF, a multi-page TIFF and a phone photo land as blocks with boxes; a scanned table in table_rows', async (t) => {
      const dir = await tmpDirFor(t);
      const db = await backend.open();
      t.after(() => db.close());
      await dir.write('in/scan.pdf', letterScan);
      await dir.write('in/pages.tiff', await tiff([letterPx, tablePx]));
      await dir.write('in/photo.jpg', await phonePhoto(letterPx, 1));
      await dir.write('in/table.pdf', await imageOnlyPdf(tablePx));
      await dir.write('in/born.pdf', letter.pdf);
      const run = await processInputs([dir.join('in')], loadConfig({ dataDir: dir.join('data'), workers: 2, logLevel: 'silent' }, {}), db);
      assert.equal(run.done, 5, JSON.stringify(run.outcomes));
      const pages = await db.query(
        `select d.filename, p.page_no, p.engine, p.needs_ocr, p.reader->>'rotation' as rotation, (p.reader->>'confidence')::float as confidence
         from pages p join documents d on d.id = p.document_id order by d.filename, p.page_no`,
      );
      assert.deepEqual(
        pages.rows.map((r) => [r.filename, r.page_no, r.engine, r.needs_ocr]),
        [
          ['born.pdf', 1, 'pdf-text', false],
          ['pages.tiff', 1, 'ocr', true],
          ['pages.tiff', 2, 'ocr', true],
          ['photo.jpg', 1, 'ocr', true],
          ['scan.pdf', 1, 'ocr', true],
          ['table.pdf', 1, 'ocr', true],
        ],
      );
      assert.ok(pages.rows.filter((r) => r.engine === 'ocr').every((r) => r.rotation === '0' && (r.confidence as number) > 0.8), JSON.stringify(pages.rows));
      // Words with their boxes and confidences, from SQL.
      const words = await db.query(
        `select w->>'text' as text, (w->'bbox'->>'x0')::float as x0, (w->'bbox'->>'y0')::float as y0, (w->>'conf')::float as conf
         from blocks b join documents d on d.id = b.document_id, jsonb_array_elements(b.lines) l, jsonb_array_elements(l->'words') w
         where d.filename = 'scan.pdf' and b.engine = 'ocr' order by b.reading_order`,
      );
      const truth = letter.words.find((w) => w.text === 'Quarterly')!;
      const got = words.rows.find((r) => r.text === 'Quarterly') as { x0: number; y0: number; conf: number } | undefined;
      assert.ok(got && Math.abs(got.x0 - truth.bbox.x0) <= 3 && Math.abs(got.y0 - truth.bbox.y0) <= 4 && got.conf > 0.5, JSON.stringify(got));
      const tiffText = await db.query(`select string_agg(b.text, ' ' order by b.reading_order) as text from blocks b join documents d on d.id = b.document_id where d.filename = 'pages.tiff' and b.page_no = 1`);
      const tiffPage1 = String(tiffText.rows[0]!.text);
      assert.ok(score(tiffPage1, letter.text).cer <= 0.03, tiffPage1);
      // The scanned table is queried by its column names, like a born-digital one.
      const rows = await db.query(
        `select r.data->>'Region' as region, r.values->>'Revenue' as revenue from table_rows r join documents d on d.id = r.document_id where d.filename = 'table.pdf' order by r.row_no`,
      );
      assert.deepEqual(rows.rows.map((r) => [r.region, Number(r.revenue)]), [['North', 58900], ['South', 41250], ['West', 97430]]);
      // The same table from the TIFF's second page.
      const tiffRows = await db.query(`select count(*)::int as n from table_rows r join documents d on d.id = r.document_id where d.filename = 'pages.tiff' and r.page = 2`);
      assert.equal(tiffRows.rows[0]!.n, 3);
    });

    test('a run with a missing OCR model says so first; scans fail with model_missing, the rest is stored', async (t) => {
      const dir = await tmpDirFor(t);
      const db = await backend.open();
      t.after(() => db.close());
      await dir.write('in/scan.pdf', letterScan);
      await dir.write('in/born.pdf', letter.pdf);
      const model = dir.join('models', 'eng.traineddata');
      const problems: string[] = [];
      const run = await processInputs([dir.join('in')], loadConfig({ dataDir: dir.join('data'), workers: 1, logLevel: 'silent', ocrModel: model }, {}), db, {
        onProblem: (p) => problems.push(`${p.code}: ${p.message}`),
        onStart: () => problems.push('start'),
      });
      assert.equal(problems[0]!.split(':')[0], 'model_missing');
      assert.ok(problems[0]!.includes(model));
      assert.equal(problems[1], 'start');
      assert.deepEqual(run.problems?.map((p) => p.code), ['model_missing']);
      const byName = Object.fromEntries(run.outcomes.map((o) => [o.file.split('/').at(-1), o]));
      assert.equal(byName['born.pdf']!.status, 'done');
      assert.equal(byName['scan.pdf']!.status, 'failed');
      assert.equal(byName['scan.pdf']!.code, 'model_missing');
      const failed = await db.query(`select error_code, error_message from documents where filename = 'scan.pdf'`);
      assert.equal(failed.rows[0]!.error_code, 'model_missing');
      assert.ok(String(failed.rows[0]!.error_message).includes(model));
    });
  });
}
