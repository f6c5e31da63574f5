// `folio ingest`: files into folio.ingest. Each file's bytes are stored once in the blob store
// (content-addressed, shared with the workers) and a small claim-check message names them:
// {docId, uri: blob:<key>, name, sha256, mime, size, options}. Messages are keyed by sha256, so
// the same bytes sent twice go to one partition, one after the other.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Partitioners } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../schemas/config.ts';
import { asFolioError, FolioError, type ErrorCode } from '../schemas/errors.ts';
import { IngestMessage, type IngestOptions } from '../schemas/messages.ts';
import { BlobStore, sha256 } from '../db/blobs.ts';
import { blobDirOf, expandInputs } from '../pipelines/process.ts';
import { mimeFromName, sniff } from '../pipelines/sniff.ts';
import { ensureTopics, kafkaClient } from './kafka.ts';

export interface IngestOutcome {
  file: string;
  status: 'queued' | 'failed';
  docId?: string;
  uri?: string;
  sha256?: string;
  size?: number;
  code?: ErrorCode;
  message?: string;
}

export interface IngestSummary {
  topic: string;
  files: number;
  queued: number;
  failed: number;
  bytes: number;
  seconds: number;
  outcomes: IngestOutcome[];
}

/** Messages sent to the broker at once. */
const BATCH = 100;

export async function ingestInputs(
  inputs: string[],
  cfg: Config,
  { log, options = {}, onFile }: { log: Logger; options?: IngestOptions; onFile?(o: IngestOutcome, done: number, total: number): void },
): Promise<IngestSummary> {
  const t0 = performance.now();
  const { files, errors } = await expandInputs(inputs, cfg.roots);
  const outcomes: IngestOutcome[] = errors.map((e) => ({ file: e.file, status: 'failed', code: e.code, message: e.message }));
  const total = files.length + errors.length;
  let done = 0;
  for (const o of outcomes) onFile?.(o, ++done, total);
  const kafka = kafkaClient(cfg, 'folio-ingest', log);
  const admin = kafka.admin();
  await admin.connect();
  const topics = await ensureTopics(admin, cfg).finally(() => admin.disconnect());
  // Idempotent: a send retried after a lost answer is written once.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const blobs = new BlobStore(blobDirOf(cfg));
  let bytes = 0;
  try {
    let batch: { outcome: IngestOutcome; key: string; value: string }[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const sending = batch;
      batch = [];
      await producer.send({ topic: topics.ingest, acks: -1, messages: sending.map((m) => ({ key: m.key, value: m.value })) });
      for (const m of sending) {
        outcomes.push(m.outcome);
        onFile?.(m.outcome, ++done, total);
      }
    };
    // Big files first (as `folio process` takes them): the workers do not end the run with one of
    // them busy on a big file and the others idle.
    const bySize = files.map((f) => [f, fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0] as const).sort((a, b) => b[1] - a[1]);
    for (const [file] of bySize) {
      const name = path.basename(file);
      try {
        const size = fs.statSync(file).size;
        if (size > cfg.maxBytes) throw new FolioError('too_large', `${name} has ${size} bytes; the limit is ${cfg.maxBytes} (FOLIO_MAX_BYTES)`);
        if (size === 0) throw new FolioError('empty_file', `${name} is empty (0 bytes)`);
        const data = new Uint8Array(await fs.promises.readFile(file));
        const digest = sha256(data);
        const mime = sniff(data)?.mime ?? mimeFromName(name) ?? 'application/octet-stream';
        const key = await blobs.put(data, mime);
        const msg = IngestMessage.parse({ docId: randomUUID(), uri: `blob:${key}`, name, sha256: digest, mime, size: data.length, options });
        bytes += data.length;
        batch.push({ outcome: { file, status: 'queued', docId: msg.docId, uri: msg.uri, sha256: digest, size: data.length }, key: digest, value: JSON.stringify(msg) });
        if (batch.length >= BATCH) await flush();
      } catch (err) {
        const e = asFolioError(err);
        const o: IngestOutcome = { file, status: 'failed', code: e.code, message: e.message };
        outcomes.push(o);
        onFile?.(o, ++done, total);
      }
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  const queued = outcomes.filter((o) => o.status === 'queued').length;
  return {
    topic: topics.ingest,
    files: total,
    queued,
    failed: outcomes.length - queued,
    bytes,
    seconds: Math.round(performance.now() - t0) / 1000,
    outcomes,
  };
}
