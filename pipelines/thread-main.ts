// Inside an extraction worker thread: bytes in, a validated Document (or an error code) out.
// Rendered images go straight to the content-addressed blob store, which is safe to share.
import { parentPort, workerData } from 'node:worker_threads';
import { BlobStore } from '../db/blobs.ts';
import { asFolioError } from '../schemas/errors.ts';
import { extractDocument, type ExtractConfig, type Input } from './extract.ts';
import type { JobResult } from './pool.ts';

// Load pdf.js's worker half now, while the main thread opens the database, not on the first job.
const warm = import('../extractors/pdfjs.ts').then((m) => m.preloadPdfWorker());

const { cfg } = workerData as { cfg: ExtractConfig & { blobDir: string } };
const blobs = new BlobStore(cfg.blobDir);

parentPort!.on('message', async (input: Input) => {
  let result: JobResult;
  try {
    await warm;
    const doc = await extractDocument(input, cfg, { storeImage: (bytes, type) => blobs.put(bytes, type) });
    result = { doc };
  } catch (err) {
    const e = asFolioError(err);
    result = { error: { code: e.code, message: e.message } };
  }
  parentPort!.postMessage(result);
});
