// One pass of raw getTextContent over files, shared by both baselines of bench/throughput.ts
// (pdf.js as shipped in bench/stock-pdfjs.mjs, and folio's pdf.js set-up) so that they time the
// same calls. Plain JavaScript: the stock thread loads no folio code.
import fs from 'node:fs';

/**
 * @param {string[]} files
 * @param {(data: Uint8Array) => Promise<import('pdfjs-dist/legacy/build/pdf.mjs').PDFDocumentProxy>} open
 */
export async function textContentPass(files, open) {
  let pages = 0;
  const t0 = performance.now();
  for (const f of files) {
    const doc = await open(new Uint8Array(fs.readFileSync(f)));
    for (let i = 1; i <= doc.numPages; i++) {
      const page = await doc.getPage(i);
      await page.getTextContent();
      page.cleanup();
      pages++;
    }
    await doc.destroy();
  }
  return { pages, seconds: (performance.now() - t0) / 1000 };
}
