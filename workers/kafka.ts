// Kafka plumbing shared by `folio ingest` and `folio worker`: the client (kafkajs, its log lines
// sent to folio's logger), folio's topic names, and creating the topics when they are missing.
import { Kafka, logLevel as KafkaLogLevel, type Admin, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../schemas/config.ts';

export interface Topics {
  ingest: string;
  pages: string;
  results: string;
  dlq: string;
}

export function topicNames(prefix: string): Topics {
  return { ingest: `${prefix}ingest`, pages: `${prefix}pages`, results: `${prefix}results`, dlq: `${prefix}dlq` };
}

/** The brokers, or a clear error when none are configured. */
export function brokersOf(cfg: Pick<Config, 'kafkaBrokers'>): string[] {
  if (cfg.kafkaBrokers.length === 0) {
    throw new Error('no Kafka brokers configured: set KAFKA_BROKERS=host:port (start one for development with `npm run kafka`)');
  }
  return cfg.kafkaBrokers;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

export function kafkaClient(cfg: Pick<Config, 'kafkaBrokers'>, clientId: string, log: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers: brokersOf(cfg),
    // A broker that restarts is back within seconds: keep trying for about a minute.
    retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 15 },
    connectionTimeout: 5_000,
    logLevel: log.isLevelEnabled('debug') ? KafkaLogLevel.INFO : KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const text = String(message);
        // Said on every producer made: folio picks its partitioner, and bounds its retries on purpose.
        if (text.startsWith('KafkaJS v2.0.0 switched default partitioner') || text.startsWith('Limiting retries for the idempotent producer')) return;
        // An error answer kafkajs retries by itself (a coordinator loading, a broker restarting):
        // what matters is whether the retries fail, and that surfaces as an error of folio's own.
        const retried = level === KafkaLogLevel.ERROR && (text.startsWith('Response ') || (rest as { retryCount?: unknown }).retryCount !== undefined);
        log[retried ? 'debug' : (LEVELS[level] ?? 'info')]({ kafka: rest }, `kafka: ${text}`);
      },
  });
}

/** Create folio's topics that do not exist yet (with `cfg.kafkaPartitions` partitions each). */
export async function ensureTopics(admin: Admin, cfg: Pick<Config, 'kafkaPrefix' | 'kafkaPartitions'>): Promise<Topics> {
  const topics = topicNames(cfg.kafkaPrefix);
  const existing = new Set(await admin.listTopics());
  const missing = Object.values(topics).filter((t) => !existing.has(t));
  if (missing.length) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({ topic, numPartitions: cfg.kafkaPartitions, replicationFactor: -1 })),
    });
  }
  return topics;
}
