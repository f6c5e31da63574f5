// `folio worker`: a member of a Kafka consumer group that turns folio.ingest (and folio.pages)
// messages into stored Documents.
//
// Exactly once, from at-least-once delivery: a message's Document is persisted in one database
// transaction, idempotent on (sha256, pipeline version); only then are the message's offset and
// its outputs (the folio.results event, a folio.dlq entry, page-range messages) written in one
// Kafka transaction. A worker that dies in between leaves the offset where it was: the message
// comes again, finds its Document stored, and its outputs are written then. A read_committed
// consumer of folio.results sees one event per message.
//
// Several messages are handled at once (the extraction threads stay busy); offsets are
// committed per partition up to the first message not finished, so none is skipped.
import os from 'node:os';
import path from 'node:path';
import { Partitioners, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { workerCount, type Config } from '../schemas/config.ts';
import { IngestMessage, PagesMessage, type DlqMessage, type ResultMessage } from '../schemas/messages.ts';
import { BlobStore } from '../db/blobs.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { loadOcrModel } from '../extractors/engines/index.ts';
import { handleIngest, type HandleContext, type Handled } from '../pipelines/handle.ts';
import { failSplit, handlePages } from '../pipelines/fanout.ts';
import { ExtractPool } from '../pipelines/pool.ts';
import { SerialQueue } from '../pipelines/serial.ts';
import { startVlm, type RunConfig } from '../pipelines/vlm.ts';
import { asFolioError, type ErrorCode } from '../schemas/errors.ts';
import { ensureTopics, kafkaClient, topicNames, type Topics } from './kafka.ts';
import { serveMetrics, workerMetrics, type WorkerMetrics } from './metrics.ts';
import { retryDelay } from './retry.ts';

export interface Output {
  topic: string;
  key: string | null;
  value: string;
}

export interface WorkerHandle {
  id: string;
  topics: Topics;
  /** The port /healthz and /metrics are served on, if any. */
  metricsPort?: number;
  /** Settles when the worker has stopped: after stop(), or with the error that stopped it. */
  done: Promise<void>;
  /** Stop fetching, finish the messages in hand, commit, leave the group, close. */
  stop(): Promise<void>;
}

/** Thrown to leave a message unfinished (the worker is stopping): its offset is not committed, it comes again. */
class Abandoned extends Error {}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new Abandoned('stopping'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Abandoned('stopping'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** At most `n` at once. */
class Limiter {
  private waiting: (() => void)[] = [];
  private busy = 0;
  constructor(private readonly n: number) {}
  async acquire(): Promise<void> {
    if (this.busy < this.n) {
      this.busy++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy--;
  }
}

/** Kafka's answers to a producer whose transactional id a newer one has taken. */
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

interface PendingCommit {
  topic: string;
  partition: number;
  /** The next offset to read (the last handled message's offset + 1). */
  offset: string;
  outputs: Output[];
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Writes outputs and offsets in Kafka transactions, one at a time (a transactional producer has
 * one open transaction); whatever piled up while one was open goes in the next together.
 *
 * It owns its transactional producer. A transaction that failed and whose abort failed too (the
 * broker away meanwhile) leaves kafkajs's producer stuck in ABORTING, refusing every later
 * transaction; such a producer is replaced by a new one with the same transactional id, whose
 * start tells the broker to abort what the old one left open.
 */
class Committer {
  private queue: PendingCommit[] = [];
  private running?: Promise<void>;
  private producer?: Producer;
  private unusable = false;
  constructor(
    private readonly newProducer: () => Producer,
    private readonly groupId: string,
    private readonly log: Logger,
    private readonly metrics: WorkerMetrics,
    private readonly signal: AbortSignal,
    /** Called when this worker cannot commit any more (another process has its transactional id). */
    private readonly onFatal: (err: Error) => void,
  ) {}

  commit(topic: string, partition: number, offset: string, outputs: Output[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, partition, offset, outputs, resolve, reject });
      this.running ??= this.drain().finally(() => (this.running = undefined));
    });
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Connect the first producer (before any message is taken, so that a broker away fails the start). */
  async start(): Promise<void> {
    this.producer = this.newProducer();
    await this.producer.connect();
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }

  private async usableProducer(): Promise<Producer> {
    if (this.producer && !this.unusable) return this.producer;
    const old = this.producer;
    this.producer = undefined;
    await old?.disconnect().catch(() => {});
    const fresh = this.newProducer();
    await fresh.connect();
    this.producer = fresh;
    this.unusable = false;
    this.log.info('kafka producer replaced (its last transaction could not be aborted)');
    return fresh;
  }

  private async drain(): Promise<void> {
    let failures = 0;
    let stoppingSince: number | undefined;
    while (this.queue.length) {
      const items = this.queue.splice(0);
      const t = performance.now();
      try {
        await this.write(items);
        this.metrics.stage.observe({ stage: 'commit' }, (performance.now() - t) / 1000);
        failures = 0;
        for (const it of items) it.resolve();
      } catch (err) {
        const e = err as Error & { type?: string; cause?: { type?: string } };
        // Another process took this worker's transactional id: this one is a zombie and must stop.
        if (FENCED.has(e.type ?? '') || FENCED.has(e.cause?.type ?? '')) {
          for (const it of [...items, ...this.queue.splice(0)]) it.reject(e);
          this.onFatal(e);
          return;
        }
        failures++;
        // The producer refuses to begin: its state machine is stuck (see above).
        if (/Transaction state exception/.test(e.message)) this.unusable = true;
        if (this.signal.aborted) stoppingSince ??= Date.now();
        // Stopping and the broker still away: give up; the messages come again to whoever is next.
        if (stoppingSince !== undefined && Date.now() - stoppingSince > 30_000) {
          for (const it of [...items, ...this.queue.splice(0)]) it.reject(new Abandoned(`commit failed: ${e.message}`));
          return;
        }
        this.log.warn({ err: e.message, failures }, 'kafka transaction failed; trying again');
        this.queue.unshift(...items);
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** failures)));
      }
    }
  }

  private async write(items: PendingCommit[]): Promise<void> {
    const txn = await (await this.usableProducer()).transaction();
    try {
      const byTopic = new Map<string, Output[]>();
      for (const o of items.flatMap((it) => it.outputs)) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
      for (const [topic, outs] of byTopic) await txn.send({ topic, messages: outs.map((o) => ({ key: o.key, value: o.value })) });
      const offsets = new Map<string, { topic: string; partition: number; offset: string }>();
      for (const it of items) {
        const k = `${it.topic}/${it.partition}`;
        const prev = offsets.get(k);
        if (!prev || BigInt(it.offset) > BigInt(prev.offset)) offsets.set(k, { topic: it.topic, partition: it.partition, offset: it.offset });
      }
      const topics = new Map<string, { partition: number; offset: string }[]>();
      for (const o of offsets.values()) topics.set(o.topic, [...(topics.get(o.topic) ?? []), { partition: o.partition, offset: o.offset }]);
      await txn.sendOffsets({ consumerGroupId: this.groupId, topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) });
      await txn.commit();
    } catch (err) {
      await txn.abort().catch(() => (this.unusable = true));
      throw err;
    }
  }
}

export interface WorkerOptions {
  log: Logger;
  /** Called once the worker has joined its group and consumes. */
  onReady?(info: { id: string; metricsPort?: number }): void;
}

export async function startWorker(cfg: Config, { log, onReady }: WorkerOptions): Promise<WorkerHandle> {
  if (!cfg.databaseUrl) {
    throw new Error(
      'folio worker needs a PostgreSQL server: set DATABASE_URL=postgres://user@host:5432/db (the embedded PGlite database belongs to one process, so workers cannot share it)',
    );
  }
  const id = cfg.workerId ?? `${os.hostname()}-${process.pid}`;
  const topics = topicNames(cfg.kafkaPrefix);
  const metrics = workerMetrics();
  const stopper = new AbortController();
  const signal = stopper.signal;

  const database = await openDatabase({ url: cfg.databaseUrl });
  const closers: (() => Promise<unknown>)[] = [() => database.close()];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch((err: Error) => log.warn({ err: err.message }, 'closing'));
  };
  try {
    if (cfg.engine !== 'text' && cfg.engine !== 'vlm') {
      try {
        loadOcrModel(cfg.ocrModel);
      } catch (err) {
        const e = asFolioError(err);
        log.error({ code: e.code }, `${e.message}: documents that need OCR will fail with ${e.code}`);
      }
    }
    // The vision model, when configured: checked and started (llama-server) before any message.
    const vlm = await startVlm(cfg, { onLog: (line) => log.debug({ llama: line }), onBuild: (p) => log.info({ stage: p.stage, percent: p.percent }, 'building llama-server') });
    if (vlm) closers.push(() => vlm.close());
    const run: RunConfig = vlm ? { ...cfg, vlm: vlm.settings } : cfg;
    const blobs = new BlobStore(cfg.blobDir ?? path.join(cfg.dataDir, 'blobs'));
    const threads = workerCount(cfg);
    const pool = new ExtractPool(threads, { ...run, blobDir: blobs.dir });
    closers.push(() => pool.close());
    // Database work one statement at a time, lookups first, as in `folio process`: a message's
    // "stored already?" never waits behind other documents' writes, and the writes do not take
    // the cores from the extraction threads all at once.
    const dbQueue = new SerialQueue();
    const ctx: HandleContext = {
      cfg: run,
      db: database,
      pool,
      blobs,
      serial: (fn, urgent = false) => dbQueue.run(fn, { urgent }),
      // Messages come from anyone who can write the topic: local files only under FOLIO_ROOTS
      // (and the blob store `folio ingest` writes to).
      rules: { roots: cfg.roots, confine: true, blobDir: blobs.dir, httpAllow: cfg.httpAllow, maxBytes: cfg.maxBytes, timeoutMs: cfg.fetchTimeoutMs },
    };

    const kafka = kafkaClient(cfg, `folio-worker-${id}`, log);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, cfg);
    } finally {
      await admin.disconnect();
    }
    const newProducer = () =>
      kafka.producer({
        transactionalId: `folio-worker-${id}`,
        idempotent: true,
        maxInFlightRequests: 1,
        // Transactions span only the writes after a document is stored: seconds at most.
        transactionTimeout: 30_000,
        createPartitioner: Partitioners.DefaultPartitioner,
        // A transaction begun right after the previous one commits is refused (CONCURRENT_TRANSACTIONS)
        // until the broker has written the previous one's markers, a few ms: retry soon, not in 300 ms.
        retry: { initialRetryTime: 30, maxRetryTime: 5_000, retries: 20 },
      });
    const consumer: Consumer = kafka.consumer({
      groupId: cfg.kafkaGroup,
      sessionTimeout: cfg.kafkaSessionTimeoutMs,
      heartbeatInterval: Math.max(1000, Math.floor(cfg.kafkaSessionTimeoutMs / 10)),
      // Before a rebalance completes, members finish the messages in hand (a document's time limit).
      rebalanceTimeout: Math.max(60_000, cfg.timeoutMs + 30_000),
      readUncommitted: false,
      retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 15 },
    });
    let fail: (err: Error) => void = () => {};
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(() => {});
    const committer = new Committer(newProducer, cfg.kafkaGroup, log, metrics, signal, (err) => {
      log.error({ err: err.message }, `another process took this worker's transactional id (FOLIO_WORKER_ID=${id}): stopping`);
      fail(err);
    });
    await committer.start();
    closers.push(() => committer.close());

    let state: 'joining' | 'consuming' | 'stopped' | 'crashed' = 'joining';
    let dbOk = true;
    const dbAlive = async () => {
      dbOk = await database.query('select 1').then(
        () => true,
        () => false,
      );
      return dbOk;
    };
    const server = await serveMetrics(cfg.metricsPort, metrics, async () => ({
      ok: state === 'consuming' && (await dbAlive()),
      worker: id,
      kafka: state,
      database: dbOk ? 'ok' : 'unreachable',
    })).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        throw new Error(`port ${cfg.metricsPort} is in use (another worker on this machine?): set FOLIO_METRICS_PORT to a free port, or 0 for none`);
      }
      throw err;
    });
    if (server) closers.push(() => server.close());

    /** The database is down: wait (without using up the message's tries) until it answers. */
    const waitForDatabase = async () => {
      let wait = 500;
      log.warn('database unreachable: waiting for it before going on');
      while (!(await dbAlive())) {
        await sleep(wait, signal);
        wait = Math.min(10_000, wait * 2);
      }
      log.info('database reachable again');
    };

    const dlq = (topic: string, partition: number, raw: KafkaMessage, code: ErrorCode, message: string, attempts: number, docId?: string): Output => {
      const entry: DlqMessage = {
        topic,
        partition,
        offset: raw.offset,
        key: raw.key?.toString('utf8') ?? null,
        payload: raw.value?.toString('utf8') ?? '',
        ...(docId ? { docId } : {}),
        code,
        message,
        attempts,
        at: new Date().toISOString(),
        worker: id,
      };
      metrics.messages.inc({ topic, outcome: 'dlq' });
      return { topic: topics.dlq, key: entry.key, value: JSON.stringify(entry) };
    };

    const result = (docId: string, h: Handled): Output => {
      const r: ResultMessage = {
        docId,
        uri: h.uri,
        name: h.name,
        status: h.status === 'failed' ? 'failed' : 'done',
        ...(h.status === 'skipped' ? { existing: true } : {}),
        ...(h.documentId ? { documentId: h.documentId } : {}),
        ...(h.sha256 ? { sha256: h.sha256 } : {}),
        ...(h.pages !== undefined ? { pages: h.pages } : {}),
        ...(h.code ? { code: h.code, message: h.message } : {}),
        ms: h.ms,
        worker: id,
        at: new Date().toISOString(),
      };
      metrics.documents.inc({ status: h.status === 'skipped' ? 'existing' : h.status });
      if (h.status === 'done') metrics.pages.inc(h.pages ?? 0);
      return { topic: topics.results, key: docId, value: JSON.stringify(r) };
    };

    /**
     * Run `attempt` until it succeeds, fails for good, or its tries are used up. A database that
     * is down uses up no tries: the worker waits for it.
     */
    const withRetries = async (
      what: string,
      attempt: () => Promise<Handled>,
      give: (h: Handled, attempts: number) => Output[] | Promise<Output[]>,
      ok: (h: Handled) => Output[],
    ): Promise<Output[]> => {
      for (let tries = 1; ; tries++) {
        const h = await attempt();
        for (const [stage, ms] of Object.entries(h.stages)) metrics.stage.observe({ stage }, ms / 1000);
        if (h.status !== 'failed') return ok(h);
        metrics.errors.inc({ code: h.code! });
        if (h.code === 'db_error' && !(await dbAlive())) {
          tries--;
          await waitForDatabase();
          continue;
        }
        const wait = retryDelay(h.code!, tries, { maxAttempts: cfg.maxAttempts, backoffMs: cfg.retryBackoffMs });
        if (wait === undefined) return give(h, tries);
        log.warn({ what, code: h.code, tries, wait }, `${h.message}: trying again in ${wait} ms`);
        await sleep(wait, signal);
      }
    };

    const handleMessage = async (topic: string, partition: number, raw: KafkaMessage): Promise<Output[]> => {
      const payload = raw.value?.toString('utf8') ?? '';
      let json: unknown;
      try {
        json = JSON.parse(payload);
      } catch (err) {
        metrics.messages.inc({ topic, outcome: 'invalid' });
        return [dlq(topic, partition, raw, 'invalid_message', `the message is not JSON: ${(err as Error).message}`, 1)];
      }
      const schema = topic === topics.pages ? PagesMessage : IngestMessage;
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        metrics.messages.inc({ topic, outcome: 'invalid' });
        const why = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ');
        const docId = typeof (json as { docId?: unknown })?.docId === 'string' ? (json as { docId: string }).docId : undefined;
        return [dlq(topic, partition, raw, 'invalid_message', `the message does not match the ${topic} schema: ${why}`, 1, docId)];
      }
      if (topic === topics.pages) {
        const msg = parsed.data as PagesMessage;
        const outs = await withRetries(
          `${msg.name} pages ${msg.from}-${msg.to}`,
          () => handlePages(ctx, msg),
          async (h, tries) => {
            const documentId = await failSplit(ctx, msg, h.code!, h.message!);
            return [result(msg.docId, { ...h, ...(documentId ? { documentId } : {}) }), dlq(topic, partition, raw, h.code!, h.message!, tries, msg.docId)];
          },
          // A range read while others are still out: nothing to announce yet.
          (h) => (h.status === 'pending' ? [] : [result(msg.docId, h)]),
        );
        metrics.messages.inc({ topic, outcome: 'handled' });
        return outs;
      }
      const msg = parsed.data as IngestMessage;
      // Names this message's split, if it is split: the same when the message comes again.
      const fanout = { id: `${topic}/${partition}/${raw.offset}@${raw.timestamp}`, over: cfg.fanoutPages, range: cfg.pageRange };
      const outs = await withRetries(
        msg.name ?? msg.uri,
        () => handleIngest(ctx, msg, fanout),
        (h, tries) => [result(msg.docId, h), dlq(topic, partition, raw, h.code!, h.message!, tries, msg.docId)],
        (h) => {
          if (h.status !== 'split') return [result(msg.docId, h)];
          metrics.messages.inc({ topic, outcome: 'split' });
          return h.ranges!.map((r) => ({ topic: topics.pages, key: msg.docId, value: JSON.stringify(r) }));
        },
      );
      metrics.messages.inc({ topic, outcome: 'handled' });
      return outs;
    };

    // As many messages in hand as `folio process` keeps files: two jobs in each thread's hands, two
    // more being fetched, looked up or stored.
    const limiter = new Limiter(cfg.kafkaConcurrency || threads * 4);
    let inFlight = 0;
    await consumer.subscribe({ topics: [topics.ingest, topics.pages], fromBeginning: true });
    const { GROUP_JOIN, CRASH } = consumer.events;
    consumer.on(GROUP_JOIN, (e) => {
      state = 'consuming';
      log.info({ worker: id, partitions: e.payload.memberAssignment }, 'joined the consumer group');
    });
    consumer.on(CRASH, (e) => {
      if (!e.payload.restart) {
        state = 'crashed';
        fail(e.payload.error);
      } else log.warn({ err: e.payload.error.message }, 'kafka consumer restarting');
    });

    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: cfg.kafkaPartitions * 2,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const { topic, partition, messages } = batch;
        log.debug({ topic, partition, messages: messages.length, first: batch.firstOffset() }, 'batch');
        metrics.lag.set({ topic, partition: String(partition) }, Number(batch.offsetLag()));
        let rebalancing = false;
        const beat = setInterval(() => {
          heartbeat().catch(() => (rebalancing = true));
        }, Math.max(500, Math.floor(cfg.kafkaSessionTimeoutMs / 6)));
        const outs: (Output[] | undefined)[] = new Array(messages.length);
        let next = 0;
        const commits: Promise<void>[] = [];
        const advance = () => {
          const from = next;
          while (next < messages.length && outs[next]) next++;
          if (next === from) return;
          // A partition taken away meanwhile is another worker's now: it reads these again.
          if (isStale()) return;
          const last = messages[next - 1]!.offset;
          const outputs = outs.slice(from, next).flat() as Output[];
          commits.push(committer.commit(topic, partition, (BigInt(last) + 1n).toString(), outputs).then(() => resolveOffset(last)));
        };
        const tasks: Promise<void>[] = [];
        try {
          for (let i = 0; i < messages.length; i++) {
            await limiter.acquire();
            if (signal.aborted || rebalancing || !isRunning() || isStale()) {
              limiter.release();
              break;
            }
            const raw = messages[i]!;
            inFlight++;
            metrics.inFlight.set(inFlight);
            tasks.push(
              handleMessage(topic, partition, raw)
                .then(
                  (o) => {
                    outs[i] = o;
                    advance();
                  },
                  (err: Error) => {
                    if (!(err instanceof Abandoned)) log.error({ err: err.stack ?? err.message, topic, partition, offset: raw.offset }, 'message handler failed');
                  },
                )
                .finally(() => {
                  inFlight--;
                  metrics.inFlight.set(inFlight);
                  limiter.release();
                }),
            );
          }
          await Promise.all(tasks);
          await Promise.all(commits);
        } catch (err) {
          await Promise.allSettled(tasks);
          await Promise.allSettled(commits);
          if (err instanceof Abandoned) return;
          throw err;
        } finally {
          clearInterval(beat);
        }
      },
    });
    closers.push(() => consumer.disconnect());
    onReady?.({ id, ...(server ? { metricsPort: server.port } : {}) });

    let stopped: Promise<void> | undefined;
    let markStopped: () => void = () => {};
    const whenStopped = new Promise<void>((r) => (markStopped = r));
    const stop = () =>
      (stopped ??= (async () => {
        log.info({ worker: id }, 'stopping: finishing the messages in hand');
        stopper.abort();
        // Disconnecting waits for the batches in hand, then leaves the group.
        await consumer.disconnect().catch((err: Error) => log.warn({ err: err.message }, 'leaving the group'));
        await committer.idle();
        state = 'stopped';
        closers.pop();
        await closeAll();
        log.info({ worker: id }, 'stopped');
        markStopped();
      })());
    const done = Promise.race([
      failed.catch(async (err: Error) => {
        log.error({ err: err.message }, 'kafka consumer stopped for good');
        await stop();
        throw err;
      }),
      whenStopped,
    ]);
    return { id, topics, ...(server ? { metricsPort: server.port } : {}), done, stop };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
