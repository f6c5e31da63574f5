// Images as documents: formats, EXIF orientation, multi-page TIFF, density, limits and bad bytes.
// Inputs are generated here with sharp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp, { type Sharp } from 'sharp';
import { Page } from '../schemas/document.ts';
import { FolioError, type ErrorCode } from '../schemas/errors.ts';
import { extractImage } from '../extractors/image.ts';
import type { ExtractOptions } from '../extractors/types.ts';
import { memorySink } from './support/sink.ts';


function options(over: Partial<ExtractOptions> = {}): ExtractOptions {
  return { maxPages: 100, maxPixels: 50_000_000, render: 'all', dpi: 150, thumbnailWidth: 32, ...over };
}

const hasCode = (code: ErrorCode) => (err: unknown) => err instanceof FolioError && err.code === code;

/** A w x h RGB image: left half red, right half blue (to tell orientations apart). */
function halves(w: number, h: number): Sharp {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      if (x < w / 2) data[i] = 255;
      else data[i + 2] = 255;
    }
  }
  return sharp(data, { raw: { width: w, height: h, channels: 3 } });
}

async function decode(bytes: Buffer) {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { info, at: (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x + 1) * info.channels)] };
}

test('a PNG is one page sized in points from its density, stored as PNG + thumbnail', async () => {
  const png = await halves(300, 200).png().withMetadata({ density: 144 }).toBuffer();
  const { sink, blobs } = memorySink();
  const ex = await extractImage(png, options({ storeImage: sink }));
  assert.equal(ex.pages.length, 1);
  const page = Page.parse(ex.pages[0]);
  assert.equal(page.number, 1);
  assert.equal(page.width, 150); // 300 px at 144 dpi = 150 pt
  assert.equal(page.height, 100);
  assert.equal(page.rotation, 0);
  assert.equal(page.needsOcr, true);
  assert.deepEqual(page.blocks, []);
  // sharp writes density through EXIF, so an orientation (1) is present too.
  assert.deepEqual(ex.metadata, { format: 'png', width: '300', height: '200', density: '144', orientation: '1' });
  assert.deepEqual(ex.warnings, []);

  const stored = blobs.get(page.image!)!;
  assert.equal(stored.contentType, 'image/png');
  const meta = await sharp(stored.bytes).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 300, 200]);
  const thumb = await sharp(blobs.get(page.thumbnail!)!.bytes).metadata();
  assert.equal(thumb.width, 32);
});

test('a JPEG with EXIF orientation 6 comes out in its displayed orientation', async () => {
  // Stored 60x40 (left red, right blue); orientation 6 = rotate 90 degrees clockwise to display.
  const jpg = await halves(60, 40).jpeg({ quality: 95 }).withMetadata({ orientation: 6, density: 300 }).toBuffer();
  assert.equal((await sharp(jpg).metadata()).orientation, 6);
  const { sink, blobs } = memorySink();
  const ex = await extractImage(jpg, options({ storeImage: sink }));
  const page = Page.parse(ex.pages[0]);
  assert.equal(page.width, (40 * 72) / 300);
  assert.equal(page.height, (60 * 72) / 300);
  assert.equal(ex.metadata.width, '40');
  assert.equal(ex.metadata.height, '60');
  assert.equal(ex.metadata.orientation, '6');
  assert.equal(ex.metadata.format, 'jpeg');

  const img = await decode(blobs.get(page.image!)!.bytes);
  assert.deepEqual([img.info.width, img.info.height], [40, 60]);
  // Rotated clockwise: the left (red) half is now on top, the blue half at the bottom.
  const [r1, , b1] = img.at(20, 5);
  const [r2, , b2] = img.at(20, 55);
  assert.ok(r1 > 200 && b1 < 60, `top is red: ${img.at(20, 5)}`);
  assert.ok(b2 > 200 && r2 < 60, `bottom is blue: ${img.at(20, 55)}`);
});

test('a 2-page TIFF gives 2 pages, each stored from its own page', async () => {
  const w = 40;
  const h = 30;
  const raw = Buffer.alloc(w * h * 2 * 3, 255);
  raw.fill(0, 0, w * h * 3); // page 1 black, page 2 white
  const tif = await sharp(raw, { raw: { width: w, height: h * 2, channels: 3, pageHeight: h } }).tiff().toBuffer();
  const { sink, blobs } = memorySink();
  const ex = await extractImage(tif, options({ storeImage: sink }));
  assert.equal(ex.pages.length, 2);
  assert.deepEqual(ex.pages.map((p) => p.number), [1, 2]);
  assert.equal(ex.metadata.format, 'tiff');
  assert.equal(ex.metadata.pages, '2');
  for (const p of ex.pages) Page.parse(p);
  const p1 = await decode(blobs.get(ex.pages[0].image!)!.bytes);
  const p2 = await decode(blobs.get(ex.pages[1].image!)!.bytes);
  assert.deepEqual([p1.info.width, p1.info.height], [w, h]);
  assert.deepEqual([p2.info.width, p2.info.height], [w, h]);
  assert.equal(p1.at(5, 5)[0], 0);
  assert.equal(p2.at(5, 5)[0], 255);

  await assert.rejects(extractImage(tif, options({ maxPages: 1 })), hasCode('too_many_pages'));
});

test('over the pixel limit: too_many_pixels with a clear message', async () => {
  const png = await halves(100, 80).png().toBuffer();
  await assert.rejects(extractImage(png, options({ maxPixels: 5000 })), (err: unknown) => {
    assert.ok(err instanceof FolioError);
    assert.equal(err.code, 'too_many_pixels');
    assert.match(err.message, /100x80 = 8000 pixels, over the limit of 5000/);
    return true;
  });
  // At the limit it is read.
  const ex = await extractImage(png, options({ maxPixels: 8000 }));
  assert.equal(ex.pages.length, 1);
});

test('undecodable bytes: corrupt_image; empty: empty_file; SVG: unsupported_type', async () => {
  await assert.rejects(extractImage(Buffer.from('this is not an image at all, just text'), options()), hasCode('corrupt_image'));
  await assert.rejects(extractImage(new Uint8Array(0), options()), hasCode('empty_file'));
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
  await assert.rejects(extractImage(svg, options()), hasCode('unsupported_type'));
  // A JPEG cut in the middle of its pixel data: the header reads, decoding fails.
  const noise = Buffer.alloc(200 * 200 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const jpg = await sharp(noise, { raw: { width: 200, height: 200, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  const { sink } = memorySink();
  await assert.rejects(extractImage(jpg.subarray(0, Math.floor(jpg.length * 0.6)), options({ storeImage: sink })), hasCode('corrupt_image'));
});

test('nothing is stored when render is none or there is no sink', async () => {
  const png = await halves(20, 10).png().toBuffer();
  const { sink, blobs } = memorySink();
  const none = await extractImage(png, options({ render: 'none', storeImage: sink }));
  assert.equal(none.pages[0].image, undefined);
  assert.equal(none.pages[0].thumbnail, undefined);
  assert.equal(blobs.size, 0);
  const noSink = await extractImage(png, options());
  assert.equal(noSink.pages[0].image, undefined);
  // 'needs-ocr' stores: an image page always needs OCR.
  const needs = await extractImage(png, options({ render: 'needs-ocr', storeImage: sink }));
  assert.ok(needs.pages[0].image);
});

test('density: absent or implausible means 72 dpi', async () => {
  const webp = await halves(144, 72).webp().toBuffer();
  const ex = await extractImage(webp, options());
  assert.equal(ex.metadata.format, 'webp');
  assert.deepEqual([ex.pages[0].width, ex.pages[0].height], [144, 72]);
  assert.equal(ex.metadata.density, '72');

  // (sharp reports no density under ~25 dpi at all; 9000 dpi it reports, and it is implausible.)
  const odd = await halves(144, 72).png().withDensity(9000).toBuffer();
  assert.equal((await sharp(odd).metadata()).density, 9000);
  const ex2 = await extractImage(odd, options());
  assert.deepEqual([ex2.pages[0].width, ex2.pages[0].height], [144, 72]);
  assert.equal(ex2.metadata.density, '72');
  assert.equal(ex2.warnings[0]?.code, 'implausible_density');
});

test('transparency is flattened on white; gray stays gray; GIF reads its first frame', async () => {
  const rgba = await sharp({ create: { width: 10, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
  const { sink, blobs } = memorySink();
  const ex = await extractImage(rgba, options({ storeImage: sink }));
  const img = await decode(blobs.get(ex.pages[0].image!)!.bytes);
  assert.equal(img.info.channels, 3);
  assert.deepEqual(img.at(5, 5), [255, 255, 255]);

  const grayPng = await halves(16, 16).toColourspace('b-w').png().toBuffer();
  assert.equal((await sharp(grayPng).metadata()).channels, 1);
  const exGray = await extractImage(grayPng, options({ storeImage: sink }));
  assert.equal((await sharp(blobs.get(exGray.pages[0].image!)!.bytes).metadata()).channels, 1);

  const gif = await halves(20, 10).gif().toBuffer();
  const exGif = await extractImage(gif, options({ storeImage: sink }));
  assert.equal(exGif.metadata.format, 'gif');
  assert.equal(exGif.pages.length, 1);
  assert.deepEqual([exGif.pages[0].width, exGif.pages[0].height], [20, 10]);
});
