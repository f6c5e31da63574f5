// A worker's health and Prometheus metrics (prom-client), served on FOLIO_METRICS_PORT:
//   GET /healthz  200 {"status":"ok",…} while the worker consumes and its database answers, else 503
//   GET /metrics  the Prometheus text format
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface WorkerMetrics {
  registry: Registry;
  /** Messages handled, by topic and outcome (done, failed, dlq, retried, invalid). */
  messages: Counter<'topic' | 'outcome'>;
  /** Documents finished, by status (done, existing, failed). */
  documents: Counter<'status'>;
  pages: Counter;
  /** Failures by error code (each attempt counts). */
  errors: Counter<'code'>;
  /** Messages behind the end of each partition this worker consumes, as of its latest batch. */
  lag: Gauge<'topic' | 'partition'>;
  /** Seconds per stage: fetch, extract, persist (the handler) and commit (the Kafka transaction). */
  stage: Histogram<'stage'>;
  inFlight: Gauge;
}

export function workerMetrics(): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'folio_' });
  const registers = [registry];
  return {
    registry,
    messages: new Counter({ name: 'folio_messages_total', help: 'Kafka messages handled, by topic and outcome', labelNames: ['topic', 'outcome'], registers }),
    documents: new Counter({ name: 'folio_documents_total', help: 'documents finished, by status', labelNames: ['status'], registers }),
    pages: new Counter({ name: 'folio_pages_total', help: 'pages of documents stored', registers }),
    errors: new Counter({ name: 'folio_errors_total', help: 'failed attempts, by error code', labelNames: ['code'], registers }),
    lag: new Gauge({ name: 'folio_consumer_lag', help: 'messages behind the partition end, as of the latest batch', labelNames: ['topic', 'partition'], registers }),
    stage: new Histogram({
      name: 'folio_stage_seconds',
      help: 'seconds per stage of a message',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    inFlight: new Gauge({ name: 'folio_messages_in_flight', help: 'messages being handled now', registers }),
  };
}

export interface Health {
  ok: boolean;
  [k: string]: unknown;
}

/** Serve /healthz and /metrics on `port` (127.0.0.1 and every other interface); 0 = not at all. */
export async function serveMetrics(port: number, metrics: WorkerMetrics, health: () => Promise<Health>): Promise<{ port: number; close(): Promise<void> } | undefined> {
  if (port === 0) return undefined;
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const reply = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (url === '/healthz') {
      health().then(
        (h) => reply(h.ok ? 200 : 503, 'application/json', JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', ...h }) + '\n'),
        (err: Error) => reply(503, 'application/json', JSON.stringify({ status: 'unhealthy', error: err.message }) + '\n'),
      );
    } else if (url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => reply(200, metrics.registry.contentType, text),
        (err: Error) => reply(500, 'text/plain', err.message),
      );
    } else reply(404, 'text/plain', 'folio worker: GET /healthz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  server.unref();
  const bound = (server.address() as { port: number }).port;
  return { port: bound, close: () => new Promise((r) => server.close(() => r())) };
}
