// Inside an extraction worker thread: bytes in, a Document (or an error code) out.
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

async function run(input: Input): Promise<JobResult> {
  try {
    await warm;
    // Validated by the main thread, which waits on this one anyway.
    const settings = input.options ? { ...cfg, ...input.options } : cfg;
    return { doc: await extractDocument(input, settings, { storeImage: (bytes, type) => blobs.put(bytes, type), validate: false }) };
  } catch (err) {
    const e = asFolioError(err);
    return { error: { code: e.code, message: e.message } };
  }
}

// The pool may hand over the next job before this one is done: jobs run one at a time, in order,
// and each result goes back as soon as it is ready.
let last: Promise<void> = Promise.resolve();
parentPort!.on('message', (input: Input) => {
  last = last.then(async () => parentPort!.postMessage(await run(input)));
});
