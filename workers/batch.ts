// `folio batch` through Kafka: the batch's files go to folio.ingest (`folio ingest`'s claim
// checks), and the run waits for the workers' folio.results events for them, up to
// FOLIO_BATCH_WAIT_MS. The workers decide what is unchanged (bytes stored already for their
// pipeline version: a result with `existing`), so a batch run again after a crash, or the next
// night, sends every file and the workers skip what they have.
//
// The results are read by a consumer group of this run alone, read_committed (one event per
// message), from the end the results topic had before the first file was sent: no earlier
// event is read, and none of this run's is missed.
import type { Logger } from 'pino';
import type { Config } from '../schemas/config.ts';
import type { ErrorCode } from '../schemas/errors.ts';
import { ResultMessage, type IngestOptions } from '../schemas/messages.ts';
import { assertKafkaBatch } from '../pipelines/batch.ts';
import { pipelineVersion } from '../pipelines/extract.ts';
import { summarize, type FileOutcome, type ProcessHooks, type Summary } from '../pipelines/process.ts';
import { ingestInputs } from './ingest.ts';
import { ensureTopics, kafkaClient } from './kafka.ts';

export interface KafkaBatchOptions {
  runId: string;
  log: Logger;
  options?: IngestOptions;
}

export async function processThroughKafka(files: string[], cfg: Config, hooks: ProcessHooks, { runId, log, options = {} }: KafkaBatchOptions): Promise<Summary> {
  assertKafkaBatch(cfg);
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const kafka = kafkaClient(cfg, 'folio-batch', log);
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${cfg.kafkaGroup}-batch-${runId}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, sessionTimeout: cfg.kafkaSessionTimeoutMs });
  const outcomes = new Map<string, FileOutcome>();
  // The files in the order ingest took them (folders expanded), for the summary.
  const order: string[] = [];
  let finished = 0;
  let total = 0;
  let started = false;
  let queuedAll = false;
  try {
    const topics = await ensureTopics(admin, cfg);
    const from = await admin.fetchTopicOffsets(topics.results);

    // docId -> file, for the files queued; a result for any other docId is another producer's.
    const waiting = new Map<string, string>();
    const early = new Map<string, ResultMessage>();
    let allIn: () => void = () => {};
    const settled = new Promise<void>((resolve) => (allIn = resolve));
    const finish = (o: FileOutcome) => {
      outcomes.set(o.file, o);
      hooks.onFile?.(o, ++finished, total);
    };
    const take = (r: ResultMessage) => {
      const file = waiting.get(r.docId);
      if (file === undefined) {
        // Another producer's, or (while files are still being sent) one of ours whose send has
        // not been acknowledged yet: kept until its file is registered, then looked up again.
        if (!queuedAll) early.set(r.docId, r);
        return;
      }
      waiting.delete(r.docId);
      const status: FileOutcome['status'] = r.status === 'failed' ? 'failed' : r.existing ? 'skipped' : 'done';
      finish({
        file,
        status,
        ...(r.documentId ? { documentId: r.documentId } : {}),
        ...(r.pages !== undefined ? { pages: r.pages } : {}),
        ...(r.code ? { code: r.code as ErrorCode, message: r.message } : {}),
        ms: r.ms,
      });
      if (waiting.size === 0 && queuedAll) allIn();
    };

    await consumer.connect();
    await consumer.subscribe({ topic: topics.results, fromBeginning: false });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({
      eachMessage: async ({ message }) => {
        try {
          take(ResultMessage.parse(JSON.parse(message.value?.toString('utf8') ?? '')));
        } catch {
          /* not a result folio wrote: not this batch's */
        }
      },
    });
    await joined;
    for (const p of from) consumer.seek({ topic: topics.results, partition: p.partition, offset: p.offset });

    const start = (n: number) => {
      if (started) return;
      started = true;
      total = n;
      hooks.onStart?.(n);
    };
    const ingest = await ingestInputs(files, cfg, {
      log,
      options,
      onFile: (o, _done, n) => {
        start(n);
        order.push(o.file);
        if (o.status === 'failed') return finish({ file: o.file, status: 'failed', code: o.code, message: o.message, ms: 0 });
        waiting.set(o.docId!, o.file);
        const r = early.get(o.docId!);
        if (r) take(r);
      },
    });
    start(ingest.files);
    queuedAll = true;
    early.clear();
    if (waiting.size === 0) allIn();
    log.info({ queued: ingest.queued, topic: ingest.topic, waitSeconds: cfg.batchWaitMs / 1000 }, 'batch queued; waiting for the workers');

    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([settled.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), cfg.batchWaitMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      for (const file of [...waiting.values()]) {
        finish({
          file,
          status: 'failed',
          code: 'timeout',
          message: `no result from the workers within ${cfg.batchWaitMs / 1000} s (FOLIO_BATCH_WAIT_MS); the file stays queued, and the next run reports it once stored`,
          ms: Math.round(performance.now() - t0),
        });
      }
      waiting.clear();
    }
  } finally {
    await consumer.disconnect().catch(() => {});
    // The run's group has done its work: it is not left behind for the broker to keep.
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
  return summarize(order.flatMap((f) => outcomes.get(f) ?? []), { version: pipelineVersion({ ...cfg, ...options }), database: 'postgres (Kafka workers)', startedAt, t0 });
}
