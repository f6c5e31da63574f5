// The vision model for a run: checked and started once by the process that owns the run (folio
// process, extract, worker), then used by every extraction thread through its URL. Either folio
// runs llama-server itself (FOLIO_VLM_MODEL + FOLIO_VLM_MMPROJ) or the user names an endpoint
// (FOLIO_VLM_URL) that may be anywhere.
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../schemas/config.ts';
import { FolioError } from '../schemas/errors.ts';
import { ensureServer, llamaSource, ManagedServer, serverPath, type BuildProgress } from '../extractors/engines/llama-server.ts';
import { checkModels, modelSha256, resolveModel, type CheckedModels } from '../extractors/engines/models.ts';
import { checkProjector, checkTextModel } from '../extractors/engines/gguf.ts';
import fs from 'node:fs';
import { profileFor, VlmClient, type VlmSettings } from '../extractors/engines/vlm.ts';

export interface VlmRuntime {
  /** Plain data: handed to extraction threads, which make their own clients from it. */
  settings: VlmSettings;
  models?: CheckedModels;
  server?: ManagedServer;
  close(): Promise<void>;
}

export interface VlmHooks {
  onBuild?: (p: BuildProgress) => void;
  onLog?: (line: string) => void;
  onDownload?: (file: string, done: number, total: number) => void;
}

/** True when the configuration names a vision model (local or remote). */
export function vlmConfigured(cfg: Pick<Config, 'vlmModel' | 'vlmUrl'>): boolean {
  return !!(cfg.vlmModel || cfg.vlmUrl);
}

/**
 * Check the model files and start llama-server (built first if no build is cached), or set up
 * the client of a remote endpoint. Throws a clear FolioError before any page is read when a file
 * is missing, damaged, or does not fit its partner.
 */
export async function startVlm(cfg: Config, hooks: VlmHooks = {}): Promise<VlmRuntime | undefined> {
  if (!vlmConfigured(cfg)) {
    if (cfg.engine === 'vlm') throw new FolioError('model_missing', 'engine vlm needs a vision model: set FOLIO_VLM_MODEL and FOLIO_VLM_MMPROJ, or FOLIO_VLM_URL');
    return undefined;
  }
  const common = {
    apiKey: cfg.vlmApiKey,
    concurrency: cfg.vlmParallel,
    timeoutMs: cfg.vlmTimeoutMs,
    retries: cfg.vlmRetries,
    retryBackoffMs: 500,
    temperature: cfg.vlmTemperature,
    maxTokens: cfg.vlmMaxTokens,
    seed: 1,
  };
  const models = cfg.vlmModel ? await checkModels({ model: cfg.vlmModel, mmproj: cfg.vlmMmproj }, { onProgress: hooks.onDownload }) : undefined;
  const sha = models ? await modelSha256(models.model) : undefined;
  const modelName = models ? path.basename(models.model) : (cfg.vlmModelName ?? 'default');
  const profile = profileFor({ architecture: models?.text.architecture, name: `${models?.text.name ?? ''} ${modelName} ${cfg.vlmModelName ?? ''}`, profile: cfg.vlmProfile });
  if (cfg.vlmUrl) {
    const settings: VlmSettings = {
      ...common,
      url: cfg.vlmUrl,
      ...(cfg.vlmModelName ? { model: cfg.vlmModelName } : {}),
      profile,
      info: { kind: 'remote', name: 'openai-compatible', version: new URL(cfg.vlmUrl).host, model: cfg.vlmModelName ?? modelName, modelSha256: sha ?? '' },
    };
    return { settings, ...(models ? { models } : {}), close: async () => {} };
  }
  if (!models!.mmproj) throw new FolioError('model_missing', `FOLIO_VLM_MODEL is set but FOLIO_VLM_MMPROJ is not: ${modelName} needs its vision projector (mmproj) to read images`);
  const binary = await ensureServer({ onProgress: hooks.onBuild });
  const server = new ManagedServer({
    binary,
    model: models!.model,
    mmproj: models!.mmproj,
    parallel: cfg.vlmParallel,
    context: cfg.vlmContext,
    threads: cfg.vlmThreads || Math.max(1, os.availableParallelism()),
    onLog: hooks.onLog,
  });
  await server.start();
  let version = 'llama.cpp';
  try {
    version = `llama.cpp@${llamaSource().commit.slice(0, 10)}`;
  } catch {
    /* a user's own llama-server (FOLIO_LLAMA_SERVER) */
  }
  const settings: VlmSettings = { ...common, url: server.url, profile, info: { kind: 'vlm', name: 'llama-server', version, model: modelName, modelSha256: sha! } };
  return { settings, models: models!, server, close: () => server.stop() };
}

export interface ModelRow {
  role: 'ocr' | 'vlm' | 'mmproj' | 'llm' | 'endpoint' | 'llama-server';
  model: string;
  status: 'ok' | 'missing' | 'invalid' | 'not set' | 'not built' | 'unreachable';
  detail: string;
}

/** What `folio models` prints: every configured model file checked (headers only), the endpoint asked. */
export async function listModels(cfg: Config): Promise<ModelRow[]> {
  const rows: ModelRow[] = [];
  const fail = (role: ModelRow['role'], model: string, err: unknown): ModelRow => {
    const e = err as FolioError;
    return { role, model, status: e.code === 'model_missing' ? 'missing' : 'invalid', detail: e.message };
  };
  try {
    const { loadOcrModel } = await import('../extractors/engines/index.ts');
    const m = loadOcrModel(cfg.ocrModel);
    rows.push({ role: 'ocr', model: cfg.ocrModel ?? 'eng (installed with folio)', status: 'ok', detail: `${m.label}, ${m.data.length} bytes` });
  } catch (err) {
    rows.push(fail('ocr', cfg.ocrModel ?? 'eng', err));
  }
  let text: CheckedModels['text'] | undefined;
  if (cfg.vlmModel) {
    try {
      const file = await resolveModel(cfg.vlmModel);
      text = checkTextModel(file);
      rows.push({ role: 'vlm', model: cfg.vlmModel, status: 'ok', detail: `${text.architecture}, ${text.blocks} blocks, width ${text.embedding}${text.name ? `, "${text.name}"` : ''}; profile ${profileFor({ architecture: text.architecture, name: `${text.name ?? ''} ${path.basename(file)}`, profile: cfg.vlmProfile }).name}` });
    } catch (err) {
      rows.push(fail('vlm', cfg.vlmModel, err));
    }
  } else rows.push({ role: 'vlm', model: '', status: 'not set', detail: 'FOLIO_VLM_MODEL' });
  if (cfg.vlmMmproj) {
    try {
      const file = await resolveModel(cfg.vlmMmproj);
      if (!text) throw new FolioError('model_invalid', 'cannot be checked without a usable FOLIO_VLM_MODEL');
      const p = checkProjector(file, text);
      rows.push({ role: 'mmproj', model: cfg.vlmMmproj, status: 'ok', detail: `${p.projector}, ${p.imageSize} px images in ${p.patchSize} px patches` });
    } catch (err) {
      rows.push(fail('mmproj', cfg.vlmMmproj, err));
    }
  } else rows.push({ role: 'mmproj', model: '', status: 'not set', detail: 'FOLIO_VLM_MMPROJ' });
  if (cfg.llmModel) {
    try {
      const t = checkTextModel(await resolveModel(cfg.llmModel));
      rows.push({ role: 'llm', model: cfg.llmModel, status: 'ok', detail: `${t.architecture}, ${t.blocks} blocks` });
    } catch (err) {
      rows.push(fail('llm', cfg.llmModel, err));
    }
  }
  if (cfg.vlmUrl) {
    try {
      const res = await fetch(`${cfg.vlmUrl.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1/models`, { headers: cfg.vlmApiKey ? { authorization: `Bearer ${cfg.vlmApiKey}` } : {}, signal: AbortSignal.timeout(5000) });
      const body = (await res.json().catch(() => ({}))) as { data?: { id: string }[] };
      rows.push({ role: 'endpoint', model: cfg.vlmUrl, status: res.ok ? 'ok' : 'unreachable', detail: res.ok ? `serves ${(body.data ?? []).map((d) => d.id).join(', ') || 'a model'}` : `HTTP ${res.status}` });
    } catch (err) {
      rows.push({ role: 'endpoint', model: cfg.vlmUrl, status: 'unreachable', detail: (err as Error).message });
    }
  } else {
    try {
      const bin = process.env.FOLIO_LLAMA_SERVER ?? serverPath();
      rows.push({ role: 'llama-server', model: bin, status: fs.existsSync(bin) ? 'ok' : 'not built', detail: fs.existsSync(bin) ? 'built' : 'run `folio vlm build` (or it is built on first use)' });
    } catch (err) {
      rows.push({ role: 'llama-server', model: '', status: 'not built', detail: (err as Error).message });
    }
  }
  return rows;
}

/** A run's configuration with its vision model's client settings, once started. */
export type RunConfig = Config & { vlm?: VlmSettings };

const clients = new Map<string, VlmClient>();

/** This thread's client for the settings (one per endpoint, so its concurrency limit holds). */
export function vlmClient(settings: VlmSettings): VlmClient {
  const key = `${settings.url}|${settings.info.model}`;
  let c = clients.get(key);
  if (!c) clients.set(key, (c = new VlmClient(settings)));
  return c;
}
