// Types of kafka/broker.mjs (a plain script, so that `npm run kafka` needs no loader).
export interface Broker {
  /** host:port for KAFKA_BROKERS */
  brokers: string;
  port: number;
  dataDir: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
}
export const KAFKA_LIB: string;
export function ensureJars(log?: (msg: string) => void): string;
export function freePort(): Promise<number>;
export function startBroker(opts?: { port?: number; controllerPort?: number; dataDir?: string; heapMb?: number; log?: (msg: string) => void }): Promise<Broker>;
