// Page preparation before OCR (extractors/engines/prepare.ts) on images drawn here: skew found and
// straightened, ruling lines found where they were drawn, barcodes told from large type, and
// model files checked. No OCR runs in this file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { test } from 'node:test';
import sharp from 'sharp';
import { estimateSkew, findLines, inkThumb, lightenFills, otsu, preparePage } from '../extractors/engines/prepare.ts';
import { DEFAULT_OCR_MODEL, loadOcrModel, traineddataProblem } from '../extractors/engines/tesseract.ts';
import { FolioError } from '../schemas/errors.ts';
import { textPng } from './fixtures/images.ts';

/** A gray page image from SVG shapes (a Letter page at 150 dpi unless said otherwise). */
async function gray(svgBody: string, width = 1275, height = 1650) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>${svgBody}</svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 1 as const, scale: 150 / 72 };
}

const LINES = Array.from({ length: 14 }, (_, i) => `Line ${i + 1} of a page of ordinary text, long enough to show a slant`);

test('a page turned a little is measured and straightened (clockwise positive)', async () => {
  const page = await textPng({ lines: LINES, width: 1275, height: 1650, fontSize: 26, x: 90, y: 140, lineHeight: 44 });
  for (const angle of [2, -1.5, 0]) {
    const turned = await sharp(page.bytes).rotate(angle, { background: '#ffffff' }).greyscale().raw().toBuffer({ resolveWithObject: true });
    const img = { data: turned.data, width: turned.info.width, height: turned.info.height, channels: 1 as const, scale: 150 / 72 };
    const skew = estimateSkew(inkThumb(img, otsu(img.data), 2));
    assert.ok(Math.abs(skew - angle) <= 0.2, `turned ${angle}, measured ${skew}`);
    const prepared = await preparePage(img);
    if (angle === 0) assert.equal(prepared.skew, 0);
    else assert.ok(Math.abs(prepared.skew - angle) <= 0.2, `straightened by ${prepared.skew}`);
    assert.deepEqual([prepared.image.width, prepared.image.height], [img.width, img.height], 'the frame keeps its size');
    if (angle) {
      // Straightened: measured again, the slant is gone.
      const again = estimateSkew(inkThumb(prepared.image, otsu(prepared.image.data), 2));
      assert.ok(Math.abs(again) <= 0.2, `left ${again} after straightening ${angle}`);
    }
  }
});

test('ruling lines are found where they were drawn and masked; text is not a rule', async () => {
  // A 3 x 3 grid of 2-pixel rules, 150..750 px across and 300..600 down, with words in its cells,
  // and a paragraph of bold text under it.
  const rules = [300, 400, 500, 600].map((y) => `<rect x="150" y="${y}" width="600" height="2" fill="black"/>`).join('') + [150, 350, 550, 750].map((x) => `<rect x="${x}" y="300" width="2" height="302" fill="black"/>`).join('');
  const words = ['Alpha', 'Beta', 'Gamma'].map((w, i) => `<text x="${170 + 200 * i}" y="360" font-family="DejaVu Sans" font-size="28">${w}</text>`).join('');
  const bold = `<text x="150" y="800" font-family="DejaVu Sans" font-weight="bold" font-size="40">MINIMUM ILLUMINATION HILL MILL INN</text>`;
  const img = await gray(rules + words + bold);
  const thr = otsu(img.data);
  const found = findLines(img, thr, img.scale);
  assert.equal(found.barcodes.length, 0, 'bold capitals are no barcode');
  const h = found.rules.filter((r) => r.dir === 'h').map((r) => r.y0).sort((a, b) => a - b);
  const v = found.rules.filter((r) => r.dir === 'v').map((r) => r.x0).sort((a, b) => a - b);
  assert.deepEqual(h, [300, 400, 500, 600]);
  assert.deepEqual(v, [150, 350, 550, 750]);
  // As page points, rules feed the lattice table code.
  const prepared = await preparePage(img, { deskew: false });
  assert.equal(prepared.segments.length, 8);
  const top = prepared.segments.find((s) => s.dir === 'h' && Math.abs(s.pos - 301 / img.scale) < 0.5);
  assert.ok(top && Math.abs(top.from - 150 / img.scale) < 0.5 && Math.abs(top.to - 750 / img.scale) < 1, JSON.stringify(prepared.segments));
  // Masked: no ink left on the rules, the words untouched.
  const at = (x: number, y: number) => prepared.image.data[y * img.width + x]!;
  assert.equal(at(450, 300), 255);
  assert.equal(at(350, 450), 255);
  assert.ok(prepared.view.data[300 * img.width + 450]! < 100, 'the stored view keeps its rules');
  let wordInk = 0;
  for (let y = 330; y < 365; y++) for (let x = 170; x < 260; x++) if (at(x, y) < thr) wordInk++;
  assert.ok(wordInk > 200, `the word Alpha keeps its ink (${wordInk} px)`);
});

test('light text on a dark fill is turned dark on light; text on the page and a bold title are left as they are', async () => {
  // A header band in a report's blue with white words, body text under it, a large bold title above.
  const band = `<rect x="150" y="300" width="900" height="50" fill="#4f81bd"/><text x="170" y="335" font-family="DejaVu Sans" font-weight="bold" font-size="26" fill="white">Program budget 2011</text>`;
  const body = `<text x="150" y="420" font-family="DejaVu Sans" font-size="26">Performance.gov and Data.gov</text>`;
  const title = `<text x="150" y="200" font-family="DejaVu Sans" font-weight="bold" font-size="72">MINIMUM HILL</text>`;
  const img = await gray(band + body + title);
  const thr = otsu(img.data);
  const out = lightenFills(img, thr, img.scale);
  const at = (d: Uint8Array, x: number, y: number) => d[y * img.width + x]!;
  // The fill is white now; its words' pixels are dark where they were white.
  assert.equal(at(out, 700, 305), 255);
  assert.equal(at(out, 1000, 325), 255);
  let white = 0;
  let nowDark = 0;
  for (let y = 310; y < 340; y++) {
    for (let x = 170; x < 450; x++) {
      if (at(img.data, x, y) > 240) {
        white++;
        if (at(out, x, y) < 60) nowDark++;
      }
    }
  }
  assert.ok(white > 300 && nowDark / white > 0.95, `${nowDark} of ${white} text pixels turned dark`);
  // No edge of the fill is left to read as a rule.
  for (let y = 295; y < 356; y++) assert.ok(at(out, 148, y) > 200 && at(out, 151, y) > 200, `edge at y=${y}`);
  // Outside the fill nothing changed: the body text and the title keep every pixel.
  for (let y = 380; y < 440; y++) for (let x = 150; x < 700; x++) assert.equal(at(out, x, y), at(img.data, x, y));
  for (let y = 130; y < 215; y++) for (let x = 150; x < 700; x++) assert.equal(at(out, x, y), at(img.data, x, y));
  // A page without a fill is returned as it is.
  const plain = await gray(body + title);
  assert.equal(lightenFills(plain, otsu(plain.data), plain.scale), plain.data);
  // preparePage gives the engine the lightened pixels and keeps the page as it was for the view.
  const prepared = await preparePage(img, { deskew: false });
  assert.equal(prepared.image.data[305 * img.width + 700], 255);
  assert.ok(prepared.view.data[305 * img.width + 700]! < 150, 'the stored view keeps its fill');
});

test('dark text on tinted cells keeps its ink; the white gaps between the cells become the grid', async () => {
  // A 3 x 2 table of mid-blue cells, 6 px of white between them, black words in each.
  let cells = '';
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 2; c++) {
      const [x, y] = [150 + c * 356, 300 + r * 76];
      cells += `<rect x="${x}" y="${y}" width="350" height="70" fill="#8fa8d0"/><text x="${x + 20}" y="${y + 45}" font-family="DejaVu Sans" font-size="28" fill="black">Cell ${r}${c} text</text>`;
    }
  }
  const img = await gray(cells);
  const thr = otsu(img.data);
  const found: { x0: number; y0: number; x1: number; y1: number }[] = [];
  const out = lightenFills(img, thr, img.scale, [], found);
  const at = (d: Uint8Array, x: number, y: number) => d[y * img.width + x]!;
  // The fill is white, the words keep (nearly) all their dark pixels.
  assert.equal(at(out, 400, 310), 255);
  let dark = 0;
  let kept = 0;
  for (let y = 320; y < 350; y++) {
    for (let x = 170; x < 400; x++) {
      if (at(img.data, x, y) < 60) {
        dark++;
        if (at(out, x, y) < 100) kept++;
      }
    }
  }
  assert.ok(dark > 300 && kept / dark > 0.95, `${kept} of ${dark} text pixels kept dark`);
  // The gaps inside the table are drawn: a line across between rows 0 and 1, one down between the columns.
  assert.ok(at(out, 300, 373) < 60 && at(out, 650, 373) < 60, 'gap across');
  assert.ok(at(out, 503, 330) < 60 && at(out, 503, 480) < 60, 'gap down');
  assert.equal(found.length, 1);
  // As segments: the inner lines and the table's frame, for the lattice table code.
  const prepared = await preparePage(img, { deskew: false });
  const hs = prepared.segments.filter((s) => s.dir === 'h').length;
  const vs = prepared.segments.filter((s) => s.dir === 'v').length;
  assert.ok(hs >= 4 && vs >= 3, JSON.stringify(prepared.segments));

  // A white field in a tinted form is no gap: it stays white (only thin white runs are drawn).
  const form = await gray(
    `<rect x="150" y="300" width="700" height="200" fill="#8fa8d0"/><text x="170" y="360" font-family="DejaVu Sans" font-size="28">Name of the applicant</text>` +
      `<rect x="500" y="400" width="60" height="22" fill="white"/><text x="504" y="417" font-family="DejaVu Sans" font-size="14">Ann</text>`,
  );
  const formOut = lightenFills(form, otsu(form.data), form.scale);
  let paper = 0;
  let blackened = 0;
  for (let y = 402; y < 420; y++) {
    for (let x = 502; x < 558; x++) {
      if (form.data[y * form.width + x]! > 240) {
        paper++;
        if (formOut[y * form.width + x]! < 128) blackened++;
      }
    }
  }
  assert.ok(paper > 400 && blackened < 0.05 * paper, `${blackened} of ${paper} white pixels of the field turned dark`);
});

test('a barcode is found and blanked; a row of separate bars far apart is not one', async () => {
  // 40 bars of 2-5 px with 2-5 px spaces, 60 px tall, and under it 16 bars 40 px apart.
  let x = 200;
  let bars = '';
  for (let i = 0; i < 40; i++) {
    const w = 2 + ((i * 7) % 4);
    bars += `<rect x="${x}" y="400" width="${w}" height="60" fill="black"/>`;
    x += w + 2 + ((i * 3) % 4);
  }
  const fence = Array.from({ length: 16 }, (_, i) => `<rect x="${200 + 40 * i}" y="700" width="3" height="60" fill="black"/>`).join('');
  const img = await gray(bars + fence);
  const found = findLines(img, otsu(img.data), img.scale);
  assert.equal(found.barcodes.length, 1, JSON.stringify(found.barcodes));
  const b = found.barcodes[0]!;
  assert.ok(b.x0 === 200 && Math.abs(b.x1 - x) <= 6 && b.y0 === 400 && b.y1 === 459, JSON.stringify(b));
  const prepared = await preparePage(img, { deskew: false });
  assert.equal(prepared.figures.length, 1);
  for (let px = 200; px < x; px++) assert.equal(prepared.image.data[430 * img.width + px], 255);
});

test('a model file is checked before it is loaded: missing, not a model, truncated, or the installed one', async () => {
  assert.throws(() => loadOcrModel('/nonexistent/eng.traineddata'), (e: unknown) => e instanceof FolioError && e.code === 'model_missing' && /\/nonexistent\/eng\.traineddata/.test(e.message));
  assert.match(traineddataProblem(Buffer.from('hello')) ?? '', /too short/);
  assert.match(traineddataProblem(Buffer.alloc(64, 0xff)) ?? '', /bad header/);
  const real = zlib.gunzipSync(fs.readFileSync(DEFAULT_OCR_MODEL));
  assert.equal(traineddataProblem(real), undefined);
  assert.match(traineddataProblem(real.subarray(0, real.length / 2)) ?? '', /outside the file/);
  const m = loadOcrModel();
  assert.match(m.label, /^eng/);
  assert.match(m.sha256, /^[0-9a-f]{64}$/);
});
