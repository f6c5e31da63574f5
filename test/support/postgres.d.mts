// Types of test/support/postgres.mjs (plain JS: test/run.mjs uses it before any loader).
export class SetupError extends Error {}
export interface TestPostgres {
  url: string;
  dir: string;
  port: number;
  start(): Promise<string>;
  stop(): Promise<void>;
  destroy(): void;
}
export function startPostgres(opts?: { log?: (msg: string) => void }): Promise<TestPostgres>;
