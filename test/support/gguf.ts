// Tiny random-weight GGUF models for tests and benchmarks (model hubs are unreachable): a llama
// text model with a byte-level GPT-2 tokenizer and ChatML template, and a LLaVA `mlp` vision
// projector (mmproj) for it. Real llama.cpp code loads and runs them; with schema-constrained
// decoding even random weights answer in valid JSON. Never assert what they say.
import fs from 'node:fs';

type Kv = [key: string, type: 'u32' | 'f32' | 'str' | 'bool' | 'i32' | 'strs' | 'f32s' | 'i32s', value: unknown];
interface Tensor {
  name: string;
  /** ggml order (row width first). */
  dims: number[];
  data: Float32Array;
}

const ALIGN = 32;

class Out {
  parts: Buffer[] = [];
  size = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(): void {
    const n = (ALIGN - (this.size % ALIGN)) % ALIGN;
    if (n) this.push(Buffer.alloc(n));
  }
}

const TYPE_ID = { u32: 4, i32: 5, f32: 6, bool: 7, str: 8 } as const;

export function writeGguf(file: string, kvs: Kv[], tensors: Tensor[]): void {
  const o = new Out();
  o.u32(0x46554747);
  o.u32(3);
  o.u64(tensors.length);
  o.u64(kvs.length);
  for (const [key, type, value] of kvs) {
    o.str(key);
    if (type === 'strs' || type === 'f32s' || type === 'i32s') {
      const arr = value as unknown[];
      o.u32(9);
      o.u32(type === 'strs' ? 8 : type === 'f32s' ? 6 : 5);
      o.u64(arr.length);
      for (const v of arr) type === 'strs' ? o.str(v as string) : type === 'f32s' ? o.f32(v as number) : o.i32(v as number);
      continue;
    }
    o.u32(TYPE_ID[type]);
    if (type === 'str') o.str(value as string);
    else if (type === 'u32') o.u32(value as number);
    else if (type === 'i32') o.i32(value as number);
    else if (type === 'f32') o.f32(value as number);
    else o.push(Buffer.from([value ? 1 : 0]));
  }
  let offset = 0;
  for (const t of tensors) {
    o.str(t.name);
    o.u32(t.dims.length);
    for (const d of t.dims) o.u64(d);
    o.u32(0); // F32
    o.u64(offset);
    offset += Math.ceil((t.data.length * 4) / ALIGN) * ALIGN;
  }
  o.pad();
  for (const t of tensors) {
    o.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    o.pad();
  }
  fs.writeFileSync(file, Buffer.concat(o.parts));
}

/** A seeded generator of normally distributed numbers (so that models are the same run to run). */
function normals(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const uni = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uni())) * Math.cos(2 * Math.PI * uni());
}

function rand(dims: number[], next: () => number, std = 0.02): Float32Array {
  const a = new Float32Array(dims.reduce((x, y) => x * y, 1));
  for (let i = 0; i < a.length; i++) a[i] = next() * std;
  return a;
}
const ones = (n: number) => new Float32Array(n).fill(1);

/** GPT-2's byte -> character map: the tokens of a byte-level BPE vocabulary. */
function byteChars(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const map = new Map<number, number>(bs.map((b) => [b, b]));
  let n = 0;
  for (let b = 0; b < 256; b++) if (!map.has(b)) map.set(b, 256 + n++);
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(map.get(b)!));
}

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface TextModelOptions {
  embedding?: number;
  blocks?: number;
  feedForward?: number;
  heads?: number;
  kvHeads?: number;
  context?: number;
  seed?: number;
  /** Leave these tensors out (to make a broken model). */
  omit?: string[];
  name?: string;
  /**
   * Shift how likely a JSON string (`"`) and an array (`]`) end, e.g. `{ string: 0.05, array:
   * -0.05 }`: answers of the hundreds of tokens a real model writes for a page, instead of an
   * empty list or runaway strings (benchmarks).
   */
  closeBias?: { string?: number; array?: number };
}

/**
 * A llama model with random weights over a byte-level vocabulary (256 bytes + ChatML specials).
 * One hidden dimension is biased so that only printable ASCII is ever likely: random weights
 * otherwise let invalid UTF-8 bytes and special tokens into JSON strings.
 */
export function makeTextModel(file: string, o: TextModelOptions = {}): void {
  const E = o.embedding ?? 64;
  const L = o.blocks ?? 2;
  const FF = o.feedForward ?? 128;
  const H = o.heads ?? 4;
  const KV = o.kvHeads ?? 2;
  const headDim = E / H;
  const next = normals(o.seed ?? 42);
  const tokens = [...byteChars(), '<|endoftext|>', '<|im_start|>', '<|im_end|>'];
  const V = tokens.length;
  const types = tokens.map((_, i) => (i < 256 ? 1 : 3));
  const kvs: Kv[] = [
    ['general.architecture', 'str', 'llama'],
    ['general.name', 'str', o.name ?? 'folio-test-tiny'],
    ['general.alignment', 'u32', ALIGN],
    ['llama.context_length', 'u32', o.context ?? 8192],
    ['llama.embedding_length', 'u32', E],
    ['llama.block_count', 'u32', L],
    ['llama.feed_forward_length', 'u32', FF],
    ['llama.attention.head_count', 'u32', H],
    ['llama.attention.head_count_kv', 'u32', KV],
    ['llama.attention.layer_norm_rms_epsilon', 'f32', 1e-5],
    ['llama.rope.dimension_count', 'u32', headDim],
    ['llama.rope.freq_base', 'f32', 10000],
    ['llama.vocab_size', 'u32', V],
    ['tokenizer.ggml.model', 'str', 'gpt2'],
    ['tokenizer.ggml.pre', 'str', 'default'],
    ['tokenizer.ggml.tokens', 'strs', tokens],
    ['tokenizer.ggml.token_type', 'i32s', types],
    ['tokenizer.ggml.merges', 'strs', []],
    ['tokenizer.ggml.bos_token_id', 'u32', 256],
    ['tokenizer.ggml.eos_token_id', 'u32', 258],
    ['tokenizer.ggml.padding_token_id', 'u32', 256],
    ['tokenizer.ggml.add_bos_token', 'bool', false],
    ['tokenizer.chat_template', 'str', CHATML],
  ];
  const embd = rand([E, V], next);
  for (let t = 0; t < V; t++) embd[t * E] = 10;
  const out = rand([E, V], next);
  const printable = (t: number) => t >= 0x20 && t <= 0x7e;
  for (let t = 0; t < V; t++) out[t * E] = printable(t) ? 0 : -4;
  if (o.closeBias?.string) out[0x22 * E] = o.closeBias.string;
  if (o.closeBias?.array) out[0x5d * E] = o.closeBias.array;
  const tensors: Tensor[] = [
    { name: 'token_embd.weight', dims: [E, V], data: embd },
    { name: 'output_norm.weight', dims: [E], data: ones(E) },
    { name: 'output.weight', dims: [E, V], data: out },
  ];
  for (let i = 0; i < L; i++) {
    const b = `blk.${i}.`;
    tensors.push(
      { name: `${b}attn_norm.weight`, dims: [E], data: ones(E) },
      { name: `${b}attn_q.weight`, dims: [E, E], data: rand([E, E], next) },
      { name: `${b}attn_k.weight`, dims: [E, KV * headDim], data: rand([E, KV * headDim], next) },
      { name: `${b}attn_v.weight`, dims: [E, KV * headDim], data: rand([E, KV * headDim], next) },
      { name: `${b}attn_output.weight`, dims: [E, E], data: rand([E, E], next) },
      { name: `${b}ffn_norm.weight`, dims: [E], data: ones(E) },
      { name: `${b}ffn_gate.weight`, dims: [E, FF], data: rand([E, FF], next) },
      { name: `${b}ffn_up.weight`, dims: [E, FF], data: rand([E, FF], next) },
      { name: `${b}ffn_down.weight`, dims: [FF, E], data: rand([FF, E], next) },
    );
  }
  writeGguf(file, kvs, tensors.filter((t) => !o.omit?.includes(t.name)));
}

export interface ProjectorOptions {
  /** Width of the language model it feeds (must match the text model's embedding). */
  textEmbedding?: number;
  width?: number;
  feedForward?: number;
  blocks?: number;
  heads?: number;
  hidden?: number;
  imageSize?: number;
  patchSize?: number;
  seed?: number;
  omit?: string[];
}

/** A LLaVA-style `mlp` vision projector: (imageSize / patchSize)^2 tokens per image. */
export function makeProjector(file: string, o: ProjectorOptions = {}): void {
  const D = o.width ?? 32;
  const FF = o.feedForward ?? 48;
  const L = o.blocks ?? 1;
  const Hd = o.hidden ?? 64;
  const E = o.textEmbedding ?? 64;
  const img = o.imageSize ?? 64;
  const p = o.patchSize ?? 16;
  const patches = (img / p) ** 2;
  const next = normals(o.seed ?? 7);
  const kvs: Kv[] = [
    ['general.architecture', 'str', 'clip'],
    ['general.alignment', 'u32', ALIGN],
    ['clip.has_vision_encoder', 'bool', true],
    ['clip.projector_type', 'str', 'mlp'],
    ['clip.vision.embedding_length', 'u32', D],
    ['clip.vision.feed_forward_length', 'u32', FF],
    ['clip.vision.block_count', 'u32', L],
    ['clip.vision.attention.head_count', 'u32', o.heads ?? 4],
    ['clip.vision.projection_dim', 'u32', E],
    ['clip.vision.image_size', 'u32', img],
    ['clip.vision.patch_size', 'u32', p],
    ['clip.vision.attention.layer_norm_epsilon', 'f32', 1e-6],
    ['clip.vision.image_mean', 'f32s', [0.5, 0.5, 0.5]],
    ['clip.vision.image_std', 'f32s', [0.5, 0.5, 0.5]],
  ];
  const tensors: Tensor[] = [
    { name: 'v.patch_embd.weight', dims: [p, p, 3, D], data: rand([p, p, 3, D], next) },
    { name: 'v.position_embd.weight', dims: [D, patches], data: rand([D, patches], next) },
  ];
  for (let i = 0; i < L; i++) {
    const b = `v.blk.${i}.`;
    for (const n of ['attn_q', 'attn_k', 'attn_v', 'attn_out']) tensors.push({ name: `${b}${n}.weight`, dims: [D, D], data: rand([D, D], next) });
    tensors.push({ name: `${b}ffn_up.weight`, dims: [D, FF], data: rand([D, FF], next) }, { name: `${b}ffn_down.weight`, dims: [FF, D], data: rand([FF, D], next) });
  }
  tensors.push(
    { name: 'mm.0.weight', dims: [D, Hd], data: rand([D, Hd], next) },
    { name: 'mm.0.bias', dims: [Hd], data: new Float32Array(Hd) },
    { name: 'mm.2.weight', dims: [Hd, E], data: rand([Hd, E], next) },
    { name: 'mm.2.bias', dims: [E], data: new Float32Array(E) },
  );
  writeGguf(file, kvs, tensors.filter((t) => !o.omit?.includes(t.name)));
}
