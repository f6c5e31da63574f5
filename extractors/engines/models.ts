// Model files named by path or by URI (hf:user/repo/file.gguf, https://…): resolved through
// node-llama-cpp (which downloads once into folio's cache, with progress), checked, and hashed
// for provenance (the hash cached by path, size and mtime: a multi-GB model is read once).
import crypto from 'node:crypto';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import path from 'node:path';
import { FolioError } from '../../schemas/errors.ts';
import { checkProjector, checkTextModel, type ProjectorFacts, type TextModelFacts } from './gguf.ts';
import { cacheDir } from './llama-server.ts';

/** Time for a model URI to resolve (the hub's answer about the file), before any download. */
const RESOLVE_TIMEOUT_MS = 120_000;

const isUri = (s: string) => /^(hf:|huggingface:|https?:\/\/)/i.test(s);

/** A local model file for `spec` (a path, or a URI downloaded to the cache the first time). */
export async function resolveModel(spec: string, opts: { onProgress?: (done: number, total: number) => void; cache?: string } = {}): Promise<string> {
  if (!isUri(spec)) {
    const file = path.resolve(spec);
    if (!fs.existsSync(file)) throw new FolioError('model_missing', `model file not found: ${file}`);
    return file;
  }
  const directory = path.join(opts.cache ?? cacheDir(), 'models');
  const fail = (why: string) =>
    new FolioError('model_missing', `cannot fetch model ${spec} into ${directory}: ${why} (download the file where the hub is reachable and name it by path)`);
  // node-llama-cpp retries an unreachable hub for minutes: a host that does not even resolve is
  // said at once, and any fetch is bounded in time.
  const host = /^https?:/i.test(spec) ? new URL(spec).hostname : new URL(process.env.HF_ENDPOINT || 'https://huggingface.co').hostname;
  try {
    await dns.lookup(host);
  } catch (err) {
    throw fail(`${host} is unreachable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const { resolveModelFile } = await import('node-llama-cpp');
  const stop = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      resolveModelFile(spec, {
        directory,
        cli: false,
        signal: stop.signal,
        onProgress: ({ downloadedSize, totalSize }: { downloadedSize: number; totalSize: number }) => {
          clearTimeout(timer);
          opts.onProgress?.(downloadedSize, totalSize);
        },
      }),
      new Promise<never>((_, reject) => {
        // Bounded until the download starts (a download in progress reports progress and goes on).
        timer = setTimeout(() => reject(new Error(`no answer from ${host} in ${RESOLVE_TIMEOUT_MS / 1000} s`)), RESOLVE_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    stop.abort();
    throw fail((err as Error).message);
  } finally {
    clearTimeout(timer);
  }
}

interface HashCache {
  [file: string]: { size: number; mtimeMs: number; sha256: string };
}

/** sha256 of a model file, remembered in the cache folder by path, size and mtime. */
export async function modelSha256(file: string, cache = cacheDir()): Promise<string> {
  const st = fs.statSync(file);
  const store = path.join(cache, 'model-hashes.json');
  let known: HashCache = {};
  try {
    known = JSON.parse(fs.readFileSync(store, 'utf8')) as HashCache;
  } catch {
    /* none yet */
  }
  const k = known[file];
  if (k && k.size === st.size && k.mtimeMs === st.mtimeMs) return k.sha256;
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  const sha256 = h.digest('hex');
  try {
    fs.mkdirSync(cache, { recursive: true });
    known[file] = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
    fs.writeFileSync(`${store}.${process.pid}`, JSON.stringify(known));
    fs.renameSync(`${store}.${process.pid}`, store);
  } catch {
    /* an unwritable cache costs only the next hash */
  }
  return sha256;
}

export interface CheckedModels {
  model: string;
  mmproj?: string;
  text: TextModelFacts;
  projector?: ProjectorFacts;
}

/** A language model and its projector resolved and checked against each other. */
export async function checkModels(spec: { model: string; mmproj?: string }, opts: { onProgress?: (file: string, done: number, total: number) => void } = {}): Promise<CheckedModels> {
  const model = await resolveModel(spec.model, { onProgress: (d, t) => opts.onProgress?.(spec.model, d, t) });
  const text = checkTextModel(model);
  if (!spec.mmproj) return { model, text };
  const mmproj = await resolveModel(spec.mmproj, { onProgress: (d, t) => opts.onProgress?.(spec.mmproj!, d, t) });
  return { model, mmproj, text, projector: checkProjector(mmproj, text) };
}
