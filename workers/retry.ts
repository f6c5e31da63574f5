// When a failed message is tried again, and when it is given up on (folio.dlq).
import type { ErrorCode } from '../schemas/errors.ts';
import { TRANSIENT_CODES } from '../pipelines/handle.ts';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  maxAttempts: number;
  /** Wait before the second try; each next wait doubles. */
  backoffMs: number;
  /** Longest wait between two tries. */
  maxBackoffMs?: number;
}

/**
 * After failing `attempts` times with `code`: the milliseconds to wait before trying again, or
 * undefined to give up. Only passing failures (network, database, a dead or overrun thread) are
 * tried again; a document's own failure (corrupt, encrypted, over a limit, forbidden) gives the
 * same answer every time and is given up on at once.
 */
export function retryDelay(code: ErrorCode, attempts: number, policy: RetryPolicy): number | undefined {
  if (!TRANSIENT_CODES.has(code) || attempts >= policy.maxAttempts) return undefined;
  const wait = policy.backoffMs * 2 ** (attempts - 1);
  // +-20% jitter, so that workers that failed together do not retry together.
  const jitter = 0.8 + Math.random() * 0.4;
  return Math.round(Math.min(policy.maxBackoffMs ?? 60_000, wait) * jitter);
}
