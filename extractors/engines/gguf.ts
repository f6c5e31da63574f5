// GGUF files read and checked before llama.cpp ever sees them. llama.cpp reports a text model's
// missing tensor cleanly, but a vision projector (mmproj) missing one of a few tensors crashes the
// process that loads it; a truncated download fails late and obscurely. So folio reads the
// header (keys and tensor table, never the weights) and says what is wrong first.
import fs from 'node:fs';
import { FolioError } from '../../schemas/errors.ts';

const MAGIC = 0x46554747; // "GGUF" little-endian

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensor {
  name: string;
  /** ggml order: dims[0] is the fastest-varying (the row width). */
  dims: number[];
  type: number;
  offset: number;
}

export interface GgufHeader {
  version: number;
  kv: Map<string, GgufValue>;
  tensors: Map<string, GgufTensor>;
  /** File offset where the tensor data starts. */
  dataStart: number;
  fileSize: number;
}

/** Bytes per block and elements per block of the ggml types whose size folio checks. */
const TYPE_SIZES: Record<number, [bytes: number, elems: number]> = {
  0: [4, 1], // F32
  1: [2, 1], // F16
  2: [18, 32], // Q4_0
  3: [20, 32], // Q4_1
  6: [22, 32], // Q5_0
  7: [24, 32], // Q5_1
  8: [34, 32], // Q8_0
  10: [84, 256], // Q2_K
  11: [110, 256], // Q3_K
  12: [144, 256], // Q4_K
  13: [176, 256], // Q5_K
  14: [210, 256], // Q6_K
  24: [1, 1], // I8
  25: [2, 1], // I16
  26: [4, 1], // I32
  30: [2, 1], // BF16
};

class Reader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly file: string,
  ) {}

  private need(n: number): void {
    const end = this.pos + n;
    if (end > this.size) throw bad(this.file, `ends inside its header (at byte ${this.pos} of ${this.size}): a truncated or partial download?`);
    if (this.pos >= this.bufStart && end <= this.bufStart + this.buf.length) return;
    const len = Math.min(this.size - this.pos, Math.max(n, 1 << 20));
    this.buf = Buffer.alloc(len);
    fs.readSync(this.fd, this.buf, 0, len, this.pos);
    this.bufStart = this.pos;
  }
  private at(n: number): number {
    this.need(n);
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }
  // The offset first: at() may replace the buffer.
  private get<T>(n: number, f: (b: Buffer, o: number) => T): T {
    const o = this.at(n);
    return f(this.buf, o);
  }
  u8 = () => this.get(1, (b, o) => b.readUInt8(o));
  i8 = () => this.get(1, (b, o) => b.readInt8(o));
  u16 = () => this.get(2, (b, o) => b.readUInt16LE(o));
  i16 = () => this.get(2, (b, o) => b.readInt16LE(o));
  u32 = () => this.get(4, (b, o) => b.readUInt32LE(o));
  i32 = () => this.get(4, (b, o) => b.readInt32LE(o));
  f32 = () => this.get(4, (b, o) => b.readFloatLE(o));
  f64 = () => this.get(8, (b, o) => b.readDoubleLE(o));
  u64 = () => this.get(8, (b, o) => b.readBigUInt64LE(o));
  i64 = () => this.get(8, (b, o) => b.readBigInt64LE(o));
  /** A u64 that must fit a JS number (counts, lengths, offsets). */
  count(what: string): number {
    const v = this.u64();
    if (v > BigInt(this.size)) throw bad(this.file, `${what} ${v} is larger than the file`);
    return Number(v);
  }
  str(): string {
    const n = this.count('a string length');
    return this.get(n, (b, o) => b.toString('utf8', o, o + n));
  }
}

function bad(file: string, why: string): FolioError {
  return new FolioError('model_invalid', `${file}: not a usable GGUF model: ${why}`);
}

function readValue(r: Reader, type: number, file: string): GgufValue {
  switch (type) {
    case 0: return r.u8();
    case 1: return r.i8();
    case 2: return r.u16();
    case 3: return r.i16();
    case 4: return r.u32();
    case 5: return r.i32();
    case 6: return r.f32();
    case 7: return r.u8() !== 0;
    case 8: return r.str();
    case 9: {
      const inner = r.u32();
      const n = r.count('an array length');
      const out: GgufValue[] = [];
      for (let i = 0; i < n; i++) out.push(readValue(r, inner, file));
      return out;
    }
    case 10: return r.u64();
    case 11: return r.i64();
    case 12: return r.f64();
    default: throw bad(file, `unknown value type ${type}`);
  }
}

/** The header of a GGUF file: its keys and tensor table (no weights are read). */
export function readGguf(file: string): GgufHeader {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FolioError('model_missing', code === 'ENOENT' ? `model file not found: ${file}` : `cannot open model file ${file}: ${(err as Error).message}`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const r = new Reader(fd, size, file);
    if (size < 24 || r.u32() !== MAGIC) throw bad(file, 'it does not start with the GGUF magic bytes');
    const version = r.u32();
    if (version < 2 || version > 3) throw bad(file, `GGUF version ${version} (folio reads versions 2 and 3)`);
    const nTensors = r.count('the tensor count');
    const nKv = r.count('the key count');
    const kv = new Map<string, GgufValue>();
    const kvTypes = new Map<string, number>();
    for (let i = 0; i < nKv; i++) {
      const key = r.str();
      const type = r.u32();
      kvTypes.set(key, type);
      kv.set(key, readValue(r, type, file));
    }
    const tensors = new Map<string, GgufTensor>();
    for (let i = 0; i < nTensors; i++) {
      const name = r.str();
      const nd = r.u32();
      if (nd > 8) throw bad(file, `tensor ${name} has ${nd} dimensions`);
      const dims: number[] = [];
      for (let d = 0; d < nd; d++) dims.push(r.count(`a dimension of ${name}`));
      const type = r.u32();
      const offset = r.count(`the offset of ${name}`);
      tensors.set(name, { name, dims, type, offset });
    }
    const align = Number(kv.get('general.alignment') ?? 32) || 32;
    const dataStart = Math.ceil(r.pos / align) * align;
    for (const t of tensors.values()) {
      const s = TYPE_SIZES[t.type];
      if (!s) continue;
      const elems = t.dims.reduce((a, b) => a * b, 1);
      const end = dataStart + t.offset + (elems / s[1]) * s[0];
      if (end > size) throw bad(file, `tensor ${t.name} ends at byte ${end}, past the end of the file (${size} bytes): a truncated or partial download?`);
    }
    return { version, kv, tensors, dataStart, fileSize: size };
  } finally {
    fs.closeSync(fd);
  }
}

const num = (v: GgufValue | undefined): number | undefined => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined);

/** Architectures whose every block has an attention norm, a query (or fused qkv) and a feed-forward down projection. */
const TRANSFORMERS = new Set([
  'llama', 'qwen2', 'qwen2vl', 'qwen3', 'qwen3vl', 'qwen3moe', 'qwen3vlmoe', 'gemma', 'gemma2', 'gemma3', 'granite', 'granitemoe',
  'mistral3', 'phi3', 'glm4', 'glm4moe', 'ernie4_5', 'ernie4_5-moe', 'smollm3', 'lfm2', 'paddleocr', 'deepseek2', 'olmo2',
]);

export interface TextModelFacts {
  architecture: string;
  /** Width of the token embeddings: a projector must output this. */
  embedding: number;
  blocks: number;
  contextLength?: number;
  name?: string;
  chatTemplate?: string;
}

/** A text (language) model's header checked: architecture, sizes, and the tensors every block needs. */
export function checkTextModel(file: string, h: GgufHeader = readGguf(file)): TextModelFacts {
  const arch = h.kv.get('general.architecture');
  if (typeof arch !== 'string') throw bad(file, 'no general.architecture key');
  if (arch === 'clip') throw bad(file, 'this is a vision projector (mmproj), not a language model; name it as the mmproj');
  const embedding = num(h.kv.get(`${arch}.embedding_length`));
  const blocks = num(h.kv.get(`${arch}.block_count`));
  if (!embedding) throw bad(file, `no ${arch}.embedding_length key`);
  if (!blocks) throw bad(file, `no ${arch}.block_count key`);
  const need = ['token_embd.weight'];
  if (TRANSFORMERS.has(arch)) need.push('output_norm.weight');
  for (const t of need) if (!h.tensors.has(t)) throw bad(file, `tensor ${t} is missing`);
  const embd = h.tensors.get('token_embd.weight')!;
  if (embd.dims[0] !== embedding) throw bad(file, `token_embd.weight is ${embd.dims[0]} wide but ${arch}.embedding_length is ${embedding}`);
  if (TRANSFORMERS.has(arch)) {
    for (let i = 0; i < blocks; i++) {
      const has = (...names: string[]) => names.some((n) => h.tensors.has(`blk.${i}.${n}.weight`));
      if (!has('attn_norm')) throw bad(file, `tensor blk.${i}.attn_norm.weight is missing`);
      if (!has('attn_q', 'attn_qkv', 'attn_q_a')) throw bad(file, `tensor blk.${i}.attn_q.weight is missing`);
      if (!has('ffn_down', 'ffn_down_exps')) throw bad(file, `tensor blk.${i}.ffn_down.weight is missing`);
    }
  }
  const name = h.kv.get('general.name');
  const tpl = h.kv.get('tokenizer.chat_template');
  return {
    architecture: arch,
    embedding,
    blocks,
    contextLength: num(h.kv.get(`${arch}.context_length`)),
    ...(typeof name === 'string' ? { name } : {}),
    ...(typeof tpl === 'string' ? { chatTemplate: tpl } : {}),
  };
}

export interface ProjectorFacts {
  projector: string;
  imageSize: number;
  patchSize: number;
  /** Width the projector hands the language model. */
  outputWidth?: number;
}

/** Projectors that add learned position embeddings to the patches (llama.cpp crashes without them). */
const POSITIONAL = new Set(['mlp', 'mlp_norm', 'ldp', 'ldpv2', 'idefics3', 'gemma3', 'resampler', 'lfm2']);

/**
 * A vision projector's header checked against the language model it serves: the keys llama.cpp
 * reads, the tensors whose absence crashes it, and the width it projects into.
 */
export function checkProjector(file: string, text: TextModelFacts, h: GgufHeader = readGguf(file)): ProjectorFacts {
  if (h.kv.get('general.architecture') !== 'clip') throw bad(file, `general.architecture is ${JSON.stringify(h.kv.get('general.architecture'))}, not "clip": not a vision projector (mmproj)`);
  if (h.kv.get('clip.has_vision_encoder') !== true) throw bad(file, 'clip.has_vision_encoder is not true: this projector reads no images');
  const projector = h.kv.get('clip.projector_type') ?? h.kv.get('clip.vision.projector_type');
  if (typeof projector !== 'string') throw bad(file, 'no clip.projector_type key');
  const u32Keys = ['embedding_length', 'feed_forward_length', 'block_count', 'attention.head_count', 'image_size', 'patch_size'];
  for (const k of u32Keys) if (num(h.kv.get(`clip.vision.${k}`)) === undefined) throw bad(file, `no clip.vision.${k} key`);
  for (const k of ['image_mean', 'image_std']) {
    const v = h.kv.get(`clip.vision.${k}`);
    if (!Array.isArray(v) || v.length < 3) throw bad(file, `clip.vision.${k} must be an array of three numbers`);
  }
  const need = ['v.patch_embd.weight'];
  if (POSITIONAL.has(projector)) need.push('v.position_embd.weight');
  if (projector === 'mlp' || projector === 'mlp_norm') need.push('mm.0.weight', 'mm.2.weight');
  for (const t of need) if (!h.tensors.has(t)) throw bad(file, `tensor ${t} is missing (llama.cpp would crash loading it)`);
  const blocks = num(h.kv.get('clip.vision.block_count'))!;
  for (let i = 0; i < blocks; i++) {
    if (![...h.tensors.keys()].some((n) => n.startsWith(`v.blk.${i}.`))) throw bad(file, `vision block ${i} has no tensors`);
  }
  const width = num(h.kv.get('clip.vision.embedding_length'))!;
  const patch = h.tensors.get('v.patch_embd.weight')!;
  if (patch.dims[3] !== undefined && patch.dims[3] !== width) throw bad(file, `v.patch_embd.weight gives ${patch.dims[3]} channels but clip.vision.embedding_length is ${width}`);
  const out = h.tensors.get('mm.2.weight')?.dims[1] ?? num(h.kv.get('clip.vision.projection_dim'));
  if (out !== undefined && out !== text.embedding) {
    throw bad(file, `the projector outputs ${out}-wide embeddings but the language model is ${text.embedding} wide: this mmproj belongs to another model`);
  }
  return {
    projector,
    imageSize: num(h.kv.get('clip.vision.image_size'))!,
    patchSize: num(h.kv.get('clip.vision.patch_size'))!,
    ...(out !== undefined ? { outputWidth: out } : {}),
  };
}
