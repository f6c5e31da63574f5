// The vision-language model engine: one OpenAI-compatible client for llama-server run by folio,
// or any endpoint the user names (llama-server elsewhere, vLLM, SGLang, Ollama). Every task sends
// its JSON Schema as `response_format`, so a conforming server can only answer in it; the answer
// is still parsed and checked, and a bad one (invalid, truncated, off-schema), a time-out, a
// refused connection or a server error is retried with backoff, then fails with model_failed.
import type { z } from 'zod';
import { FolioError } from '../../schemas/errors.ts';
import { taskJsonSchema, VLM_TASKS, type VlmTask } from '../../schemas/vlm.ts';
import type { EngineInfo } from './types.ts';

/** How a family of models wants to be asked, and what its answers' coordinates mean. */
export interface ModelProfile {
  name: string;
  /** Box coordinates the model is trained to give: 0..1000 of the image, or pixels of the image it saw. */
  coords: 'norm1000' | 'pixels';
  /** Most pixels of an image sent (bigger pages are scaled down once, before encoding). */
  maxPixels: number;
  /** Side lengths are rounded down to a multiple of this (the model's patch grid). */
  multiple: number;
  /** Put the image before the text in the user message (most models are trained that way). */
  imageFirst: boolean;
  /** Extra system prompt. */
  system?: string;
}

/** Recommended families (README: "Vision models"). Chosen by the model's architecture or name; FOLIO_VLM_PROFILE overrides. */
export const PROFILES: Record<string, ModelProfile> = {
  // Qwen2.5-VL grounds in absolute pixels of the image as it saw it (after its own resize).
  'qwen2.5-vl': { name: 'qwen2.5-vl', coords: 'pixels', maxPixels: 1280 * 28 * 28, multiple: 28, imageFirst: true },
  // Qwen3-VL / Qwen3.5 ground in 0..1000 coordinates.
  'qwen3-vl': { name: 'qwen3-vl', coords: 'norm1000', maxPixels: 1280 * 32 * 32, multiple: 32, imageFirst: true },
  'paddleocr-vl': { name: 'paddleocr-vl', coords: 'norm1000', maxPixels: 1280 * 28 * 28, multiple: 28, imageFirst: true },
  'granite-docling': { name: 'granite-docling', coords: 'norm1000', maxPixels: 512 * 512 * 4, multiple: 32, imageFirst: true },
  'minicpm-v': { name: 'minicpm-v', coords: 'norm1000', maxPixels: 1344 * 1344, multiple: 14, imageFirst: true },
  'glm-v': { name: 'glm-v', coords: 'norm1000', maxPixels: 1280 * 28 * 28, multiple: 28, imageFirst: true },
  generic: { name: 'generic', coords: 'norm1000', maxPixels: 1024 * 1024, multiple: 16, imageFirst: true },
};

/** The profile for a model, from its GGUF architecture and name (or a name the user gives). */
export function profileFor(hint: { architecture?: string; name?: string; profile?: string }): ModelProfile {
  if (hint.profile) {
    const p = PROFILES[hint.profile];
    if (!p) throw new FolioError('model_invalid', `unknown model profile ${hint.profile} (FOLIO_VLM_PROFILE): one of ${Object.keys(PROFILES).join(', ')}`);
    return p;
  }
  const s = `${hint.architecture ?? ''} ${hint.name ?? ''}`.toLowerCase();
  if (/qwen3|qwen3\.5/.test(s)) return PROFILES['qwen3-vl']!;
  if (/qwen2(\.5)?[-_ ]?vl|qwen2vl/.test(s)) return PROFILES['qwen2.5-vl']!;
  if (/paddle/.test(s)) return PROFILES['paddleocr-vl']!;
  if (/granite|docling/.test(s)) return PROFILES['granite-docling']!;
  if (/minicpm/.test(s)) return PROFILES['minicpm-v']!;
  if (/glm/.test(s)) return PROFILES['glm-v']!;
  return PROFILES.generic!;
}

const PROMPTS: Record<Exclude<VlmTask, 'extract'>, (p: ModelProfile) => string> = {
  page: (p) =>
    `Read this document page. List its blocks in reading order: titles, headings, paragraphs, list items, tables, figures, captions, page headers and footers, footnotes. ` +
    `For each block give its type, its box ${boxWords(p)} and its text exactly as printed (for a table, its text row by row; for a figure, an empty text). Answer in JSON.`,
  table: () =>
    `This image shows a table. Give every cell with its row and column (from 0), its row and column spans, and its text exactly as printed; empty cells may be left out. ` +
    `headerRows is the number of header rows at the top; caption is the table's title if one is shown, else "". Answer in JSON.`,
  chart: () =>
    `This image is a figure. If it is a chart, give its type, title, the x and y axis titles and units, and every series with its points (x as printed on the axis or legend, y as a number). ` +
    `If it is not a chart, answer chartType "not_a_chart" with empty fields. Answer in JSON.`,
};

function boxWords(p: ModelProfile): string {
  return p.coords === 'pixels' ? 'as x0, y0, x1, y1 in pixels of the image' : 'as x0, y0, x1, y1 in thousandths of the image width and height (0 to 1000)';
}

export interface VlmSettings {
  /** Base URL of an OpenAI-compatible server (…/v1 is added). */
  url: string;
  apiKey?: string;
  /** Model name sent in requests (servers that hold several models route by it). */
  model?: string;
  /** Requests in flight from this client at once. */
  concurrency: number;
  timeoutMs: number;
  /** Tries after the first. */
  retries: number;
  retryBackoffMs: number;
  temperature: number;
  /** Most tokens of one answer. */
  maxTokens: number;
  seed?: number;
  profile: ModelProfile;
  info: EngineInfo;
}

export interface TaskImage {
  /** Encoded image (JPEG or PNG). */
  data: Buffer;
  mime: 'image/jpeg' | 'image/png';
}

export interface TaskResult<T> {
  value: T;
  /** Milliseconds: queue (waiting for a free request slot), request (the server's time, over HTTP), tries. */
  timings: { queue: number; request: number; tries: number; promptTokens?: number; completionTokens?: number };
}

/** A counting semaphore. */
class Gate {
  private active = 0;
  private waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Why one try failed, and whether another may succeed. */
class TryError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

export class VlmClient {
  private readonly gate: Gate;
  constructor(readonly settings: VlmSettings) {
    this.gate = new Gate(Math.max(1, settings.concurrency));
  }

  get info(): EngineInfo {
    return this.settings.info;
  }

  get profile(): ModelProfile {
    return this.settings.profile;
  }

  /** A task on an image (page, table, chart): the answer checked against the task's schema. */
  task<K extends keyof typeof VLM_TASKS>(task: K, image: TaskImage, opts: { signal?: AbortSignal; what?: string } = {}): Promise<TaskResult<z.infer<(typeof VLM_TASKS)[K]>>> {
    const schema = VLM_TASKS[task];
    return this.ask({
      prompt: PROMPTS[task](this.profile),
      images: [image],
      jsonSchema: taskJsonSchema(task),
      check: (v) => {
        const r = schema.safeParse(v);
        return r.success ? { ok: r.data } : { error: r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
      },
      what: opts.what ?? task,
      signal: opts.signal,
    }) as Promise<TaskResult<z.infer<(typeof VLM_TASKS)[K]>>>;
  }

  /**
   * Any JSON Schema filled from a prompt (and an image): the `extract` task. `check` validates the
   * parsed answer (folio's own checker of the user's schema).
   */
  async ask(req: {
    prompt: string;
    images?: TaskImage[];
    jsonSchema: Record<string, unknown>;
    check: (v: unknown) => { ok: unknown } | { error: string };
    what: string;
    signal?: AbortSignal;
  }): Promise<TaskResult<unknown>> {
    const s = this.settings;
    const t0 = performance.now();
    return this.gate.run(async () => {
      const queued = performance.now() - t0;
      const content: unknown[] = [{ type: 'text', text: req.prompt }];
      const parts = (req.images ?? []).map((im) => ({ type: 'image_url', image_url: { url: `data:${im.mime};base64,${im.data.toString('base64')}` } }));
      if (s.profile.imageFirst) content.unshift(...parts);
      else content.push(...parts);
      const body = JSON.stringify({
        ...(s.model ? { model: s.model } : { model: 'folio' }),
        messages: [...(s.profile.system ? [{ role: 'system', content: s.profile.system }] : []), { role: 'user', content }],
        response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: req.jsonSchema } },
        temperature: s.temperature,
        max_tokens: s.maxTokens,
        ...(s.seed !== undefined ? { seed: s.seed } : {}),
        stream: false,
      });
      const errors: string[] = [];
      let requestMs = 0;
      for (let attempt = 0; attempt <= s.retries; attempt++) {
        if (req.signal?.aborted) throw new FolioError('timeout', `${req.what}: stopped (time limit) before the model answered`);
        if (attempt > 0) await sleep(s.retryBackoffMs * 2 ** (attempt - 1), req.signal);
        const t1 = performance.now();
        try {
          const { value, usage } = await this.once(body, req.check, req.signal);
          requestMs += performance.now() - t1;
          return {
            value,
            timings: { queue: queued, request: requestMs, tries: attempt + 1, ...(usage ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens } : {}) },
          };
        } catch (err) {
          requestMs += performance.now() - t1;
          if (req.signal?.aborted) throw new FolioError('timeout', `${req.what}: stopped (time limit) while the model answered`);
          const e = err instanceof TryError ? err : new TryError((err as Error).message, true);
          errors.push(e.message);
          if (!e.retry) break;
        }
      }
      throw new FolioError('model_failed', `${req.what}: no valid answer from the model at ${s.url} after ${errors.length} ${errors.length === 1 ? 'try' : 'tries'}: ${errors.join('; ')}`);
    });
  }

  private async once(body: string, check: (v: unknown) => { ok: unknown } | { error: string }, signal?: AbortSignal): Promise<{ value: unknown; usage?: { prompt_tokens: number; completion_tokens: number } }> {
    const s = this.settings;
    const timeout = AbortSignal.timeout(s.timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${s.url.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(s.apiKey ? { authorization: `Bearer ${s.apiKey}` } : {}) },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (timeout.aborted) throw new TryError(`no answer in ${s.timeoutMs} ms (FOLIO_VLM_TIMEOUT_MS)`, true);
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new TryError(`request failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`, true);
    }
    let text: string;
    try {
      text = await res.text();
    } catch {
      throw new TryError(timeout.aborted ? `no whole answer in ${s.timeoutMs} ms (FOLIO_VLM_TIMEOUT_MS)` : 'the answer was cut off', true);
    }
    if (!res.ok) {
      const retry = res.status === 408 || res.status === 429 || res.status >= 500;
      throw new TryError(`HTTP ${res.status}: ${text.slice(0, 200).replace(/\s+/g, ' ')}`, retry);
    }
    let reply: { choices?: { message?: { content?: string | null }; finish_reason?: string }[]; usage?: { prompt_tokens: number; completion_tokens: number } };
    try {
      reply = JSON.parse(text);
    } catch {
      throw new TryError(`the server's reply is not JSON: ${text.slice(0, 120)}`, true);
    }
    const choice = reply.choices?.[0];
    const content = choice?.message?.content;
    if (typeof content !== 'string') throw new TryError('the reply has no message content', true);
    if (choice?.finish_reason === 'length') throw new TryError(`the answer was cut off at ${s.maxTokens} tokens (FOLIO_VLM_MAX_TOKENS)`, true);
    let value: unknown;
    try {
      value = clean(JSON.parse(content));
    } catch {
      throw new TryError(`the answer is not valid JSON: ${JSON.stringify(content.slice(0, 80))}`, true);
    }
    const checked = check(value);
    if ('error' in checked) throw new TryError(`the answer does not match the task's schema: ${checked.error}`, true);
    return { value: checked.ok, ...(reply.usage ? { usage: reply.usage } : {}) };
  }
}

/**
 * Every string of an answer made storable: a JSON answer may escape characters PostgreSQL
 * refuses (NUL) or cannot hold in jsonb (a lone UTF-16 surrogate, `\ud83d` without its pair).
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function clean(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(LONE_SURROGATE, '\ufffd').replace(/\u0000/g, '');
  if (Array.isArray(v)) return v.map(clean);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [clean(k) as string, clean(x)]));
  return v;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}
