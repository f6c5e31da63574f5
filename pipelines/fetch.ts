// Fetching a document's bytes by URI, with folio's rules: local files only under FOLIO_ROOTS (a
// worker also reads its own blob store), http(s) only from hosts on FOLIO_HTTP_ALLOW, and every
// source cut at FOLIO_MAX_BYTES and FOLIO_FETCH_TIMEOUT_MS. A file over the byte limit is hashed
// as a stream, never held whole, so that bytes stored earlier under a higher limit are known.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FolioError } from '../schemas/errors.ts';

export interface FetchRules {
  /** Directories local files must lie under; empty = any path (only for paths a user names). */
  roots: string[];
  /** Local files are only read under `roots` (and `blobDir`), even when `roots` is empty (workers). */
  confine: boolean;
  blobDir: string;
  /** Hosts (host or host:port) http(s) sources may come from. */
  httpAllow: string[];
  maxBytes: number;
  timeoutMs: number;
}

export interface Fetched {
  uri: string;
  name: string;
  /** The bytes, or undefined when over the byte limit (then `sha256` and `size` are known). */
  bytes?: Uint8Array;
  size: number;
  /** Of the whole source, also when it was too large to keep. */
  sha256?: string;
  /** The first bytes (to tell the type of a source too large to keep). */
  head?: Uint8Array;
  /** A type claimed by the source (an HTTP Content-Type). */
  declaredMime?: string;
}

/** Whether a file lies under one of the roots (symbolic links resolved). */
export function insideRoots(file: string, roots: string[]): boolean {
  if (roots.length === 0) return true;
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    real = path.resolve(file);
  }
  return roots.some((r) => {
    const root = fs.existsSync(r) ? fs.realpathSync(r) : path.resolve(r);
    const rel = path.relative(root, real);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

/** The local path a file:// URI, blob: URI or plain path names, or undefined for other schemes. */
export function localPath(uri: string, blobDir: string): string | undefined {
  if (/^file:\/\//i.test(uri)) return fileURLToPath(uri);
  const blob = /^blob:([0-9a-f]{64}(?:\.[a-z0-9]{1,8})?)$/.exec(uri);
  if (blob) return path.join(blobDir, blob[1]!.slice(0, 2), blob[1]!);
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) && !/^[a-z]:[\\/]/i.test(uri)) return undefined;
  return path.resolve(uri);
}

const SNIFF = 1024;

/** The file name a URI ends in (its last path segment), or the URI itself. */
export function uriName(uri: string): string {
  try {
    const u = new URL(uri);
    return decodeURIComponent(u.pathname.split('/').filter(Boolean).at(-1) ?? '') || u.hostname || uri;
  } catch {
    return path.basename(uri) || uri;
  }
}

export async function fetchSource(uri: string, rules: FetchRules, name?: string): Promise<Fetched> {
  const local = localPath(uri, rules.blobDir);
  if (local !== undefined) return fetchFile(uri, local, rules, name);
  if (/^https?:\/\//i.test(uri)) return fetchHttp(uri, rules, name);
  throw new FolioError('source_forbidden', `${uri}: folio reads file://, blob: and http(s):// sources only`);
}

async function fetchFile(uri: string, file: string, rules: FetchRules, name?: string): Promise<Fetched> {
  const roots = rules.confine ? [...rules.roots, rules.blobDir] : rules.roots;
  if (rules.confine || rules.roots.length) {
    if (!insideRoots(file, roots)) throw new FolioError('source_forbidden', `${file} is outside the configured roots (FOLIO_ROOTS)`);
  }
  const base = name ?? path.basename(file);
  const stat = await fs.promises.stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new FolioError('not_found', `${file}: no such file`);
    throw new FolioError('fetch_failed', `${file}: ${err.message}`);
  });
  if (!stat.isFile()) throw new FolioError('not_found', `${file} is not a file`);
  if (stat.size <= rules.maxBytes) return { uri, name: base, bytes: new Uint8Array(await fs.promises.readFile(file)), size: stat.size };
  // Over the limit: hashed as a stream, only its head kept.
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let headBytes = 0;
  let size = 0;
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    if (headBytes < SNIFF) {
      head.push(chunk.subarray(0, SNIFF - headBytes));
      headBytes += head.at(-1)!.length;
    }
  }
  return { uri, name: base, size, sha256: hash.digest('hex'), head: Buffer.concat(head) };
}

async function fetchHttp(uri: string, rules: FetchRules, name?: string): Promise<Fetched> {
  const allowed = (u: URL) => rules.httpAllow.some((h) => h.toLowerCase() === u.host.toLowerCase() || h.toLowerCase() === u.hostname.toLowerCase());
  let url = new URL(uri);
  const base = name ?? uriName(uri);
  const signal = AbortSignal.timeout(rules.timeoutMs);
  // Redirects are followed by hand, each hop checked against the allowlist.
  for (let hop = 0; ; hop++) {
    if (!allowed(url)) throw new FolioError('source_forbidden', `${url.host} is not on the allowlist of HTTP hosts (FOLIO_HTTP_ALLOW)`);
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'manual', signal });
    } catch (err) {
      if (signal.aborted) throw new FolioError('timeout', `${uri}: no answer within ${rules.timeoutMs} ms (FOLIO_FETCH_TIMEOUT_MS)`);
      throw new FolioError('fetch_failed', `${uri}: ${(err as Error).message}`, { cause: err });
    }
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      if (hop >= 5) throw new FolioError('fetch_failed', `${uri}: too many redirects`);
      url = new URL(res.headers.get('location')!, url);
      await res.body?.cancel();
      continue;
    }
    if (res.status === 404 || res.status === 410) throw new FolioError('not_found', `${uri}: HTTP ${res.status}`);
    if (!res.ok) throw new FolioError('fetch_failed', `${uri}: HTTP ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > rules.maxBytes) {
      await res.body?.cancel();
      throw new FolioError('too_large', `${uri} is ${declared} bytes; the limit is ${rules.maxBytes} (FOLIO_MAX_BYTES)`);
    }
    // Read up to the limit; a body that goes past it is cut there.
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > rules.maxBytes) {
          await res.body?.cancel().catch(() => {});
          throw new FolioError('too_large', `${uri} sent more than ${rules.maxBytes} bytes (FOLIO_MAX_BYTES); the download was cut there`);
        }
        chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof FolioError) throw err;
      if (signal.aborted) throw new FolioError('timeout', `${uri}: not downloaded within ${rules.timeoutMs} ms (FOLIO_FETCH_TIMEOUT_MS)`);
      throw new FolioError('fetch_failed', `${uri}: ${(err as Error).message}`, { cause: err });
    }
    const bytes = new Uint8Array(Buffer.concat(chunks));
    const type = res.headers.get('content-type')?.split(';')[0]?.trim();
    return { uri, name: base, bytes, size: bytes.length, ...(type && type !== 'application/octet-stream' ? { declaredMime: type } : {}) };
  }
}
