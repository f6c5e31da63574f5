// Inside an extraction worker thread: bytes in, a Document (or an error code) out.
// Rendered images go straight to the content-addressed blob store, which is safe to share.
import { parentPort, workerData } from 'node:worker_threads';
import { BlobStore } from '../db/blobs.ts';
import { asFolioError } from '../schemas/errors.ts';
import { assembleDocument, extractJob, type ExtractConfig } from './extract.ts';
import type { Job, JobResult } from './pool.ts';

// Load pdf.js's worker half now, while the main thread opens the database, not on the first job.
const warm = import('../extractors/pdfjs.ts').then((m) => m.preloadPdfWorker());

const { cfg } = workerData as { cfg: ExtractConfig & { blobDir: string } };
const blobs = new BlobStore(cfg.blobDir);

async function run(job: Job): Promise<JobResult> {
  try {
    await warm;
    if ('assemble' in job) {
      const { source, parts, options } = job.assemble;
      return { doc: assembleDocument(source, parts, options ? { ...cfg, ...options } : cfg) };
    }
    // Validated by the main thread, which waits on this one anyway.
    const settings = job.options ? { ...cfg, ...job.options } : cfg;
    return await extractJob(job, settings, { storeImage: (bytes, type) => blobs.put(bytes, type), validate: false });
  } catch (err) {
    const e = asFolioError(err);
    return { error: { code: e.code, message: e.message } };
  }
}

// The pool may hand over the next job before this one is done: jobs run one at a time, in order,
// and each result goes back as soon as it is ready.
let last: Promise<void> = Promise.resolve();
parentPort!.on('message', (job: Job) => {
  last = last.then(async () => parentPort!.postMessage(await run(job)));
});
