// Videos: probed by ffprobe, frames decoded by ffmpeg straight to raw gray pixels on a pipe (no
// image files), sampled at a base rate plus scene changes, near-identical frames dropped (a slide
// shown for a minute is read once; a slide that gains a bullet is kept), and every kept frame
// read like a page image (OCR, or the vision model): a page of the Document, with its time.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FolioError } from '../schemas/errors.ts';
import { assemblePages, type ReadPage } from './assemble.ts';
import { ocrPage, readPageOf } from './ocr.ts';
import { storeRendered } from './raster.ts';
import type { ExtractOptions, Extraction } from './types.ts';
import { vlmReadPage } from './vlm.ts';

/** The ffmpeg and ffprobe to run: FFMPEG_BIN / FFPROBE_BIN, else those on PATH (Debian's `ffmpeg` package). */
export function ffmpegBins(env: NodeJS.ProcessEnv = process.env): { ffmpeg: string; ffprobe: string } {
  const ffmpeg = env.FFMPEG_BIN || 'ffmpeg';
  const ffprobe = env.FFPROBE_BIN || (env.FFMPEG_BIN ? path.join(path.dirname(env.FFMPEG_BIN), 'ffprobe') : 'ffprobe');
  return { ffmpeg, ffprobe };
}

export interface VideoProbe {
  duration: number;
  width: number;
  height: number;
  /** Frames per second of the video stream. */
  fps: number;
  codec: string;
  /** Clockwise degrees the picture is turned when shown (ffmpeg turns decoded frames so). */
  rotation: number;
  audio: boolean;
  format: string;
}

export interface VideoOptions {
  /** Base sampling rate, frames per second. */
  fps: number;
  /** Scene-change score (0..1) above which a frame is sampled whatever the base rate. */
  scene: number;
  /** Kept frames per video at most (the rest is cut, with a warning). */
  maxFrames: number;
  /** Longest video read, seconds. */
  maxSeconds: number;
}

export const DEFAULT_VIDEO: VideoOptions = { fps: 1, scene: 0.1, maxFrames: 300, maxSeconds: 4 * 3600 };

/**
 * Frames are read at least this wide (a 640-px video is drawn larger: Tesseract reads text 30-40
 * px tall best) and at most that wide (a 4K screen capture is read at 1920).
 */
const MIN_FRAME_WIDTH = 1280;
const MAX_FRAME_WIDTH = 1920;

function run(bin: string, args: string[], signal?: AbortSignal): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-20_000)));
    p.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new FolioError('ffmpeg_missing', `${bin} is not installed: apt-get install ffmpeg, or set FFMPEG_BIN`) : e));
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** Duration, picture size, rate, codec and rotation of a video file, or a clear error. */
export async function probeVideo(file: string, signal?: AbortSignal): Promise<VideoProbe> {
  const { ffprobe } = ffmpegBins();
  const r = await run(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], signal);
  if (r.code !== 0) throw new FolioError('corrupt_video', `ffprobe cannot read the file: ${lastLine(r.stderr)}`);
  const info = JSON.parse(r.stdout.toString()) as {
    format?: { duration?: string; format_name?: string };
    streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number; avg_frame_rate?: string; r_frame_rate?: string; duration?: string; tags?: Record<string, string>; side_data_list?: { rotation?: number }[]; disposition?: { attached_pic?: number } }[];
  };
  const streams = info.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams.some((s) => s.codec_type === 'audio');
  if (!video) throw new FolioError('no_video_stream', audio ? 'the file holds audio only: no picture to read' : 'the file holds no video stream');
  if (!video.codec_name || video.codec_name === 'none' || video.codec_name === 'unknown') {
    throw new FolioError('unsupported_codec', 'the video stream is in a codec ffprobe does not know');
  }
  const rate = (s?: string) => {
    const [n, d] = (s ?? '').split('/').map(Number);
    return n && d ? n / d : 0;
  };
  const duration = Number(info.format?.duration ?? video.duration ?? NaN);
  const rotation = Number(video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? video.tags?.rotate ?? 0);
  return {
    duration: Number.isFinite(duration) ? duration : 0,
    width: video.width ?? 0,
    height: video.height ?? 0,
    fps: rate(video.avg_frame_rate) || rate(video.r_frame_rate),
    codec: video.codec_name,
    rotation: ((Math.round(-rotation / 90) * 90) % 360 + 360) % 360,
    audio,
    format: info.format?.format_name ?? '',
  };
}

const lastLine = (s: string) => s.trim().split('\n').filter(Boolean).at(-1) ?? '';

export interface SampledFrame {
  /** Seconds from the start. */
  time: number;
  data: Buffer;
  width: number;
  height: number;
}

/**
 * Frames of the video, decoded by ffmpeg to raw gray pixels on a pipe: one every 1/fps seconds
 * and every scene change, at most `limit` of them, in order with their times (ffmpeg's showinfo
 * lines on stderr pair with the frames on stdout in order).
 */
export async function* sampleFrames(file: string, p: VideoProbe, o: Pick<VideoOptions, 'fps' | 'scene'> & { limit: number; signal?: AbortSignal }): AsyncGenerator<SampledFrame> {
  const { ffmpeg } = ffmpegBins();
  const [w0, h0] = p.rotation === 90 || p.rotation === 270 ? [p.height, p.width] : [p.width, p.height];
  const width = Math.min(MAX_FRAME_WIDTH, Math.max(MIN_FRAME_WIDTH, w0));
  const height = Math.max(2, Math.round((h0 * width) / w0));
  const select = `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${(1 / o.fps).toFixed(4)})+gt(scene\\,${o.scene})'`;
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'info', '-i', file, '-an', '-sn', '-dn',
    // Scene scores on 4 frames a second, not on all 25 or 60: a change is still caught within a
    // quarter second, and the score, the costliest filter, runs on a sixth of the frames.
    '-vf', `fps=${Math.max(4, o.fps)},${select},showinfo=checksum=0,scale=${width}:${height}:flags=${width > w0 ? 'bicubic' : 'area'},format=gray`,
    '-fps_mode', 'vfr', '-frames:v', String(o.limit), '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1',
  ];
  const proc = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: o.signal });
  const size = width * height;
  const times: number[] = [];
  let errTail = '';
  let partial = '';
  proc.stderr.on('data', (c: Buffer) => {
    const text = partial + c.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /Parsed_showinfo.*\bpts_time:\s*([-\d.]+)/.exec(line);
      if (m) times.push(Number(m[1]));
      else errTail = (errTail + line + '\n').slice(-4000);
    }
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    proc.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new FolioError('ffmpeg_missing', `${ffmpeg} is not installed: apt-get install ffmpeg, or set FFMPEG_BIN`) : e));
    proc.on('close', (code) => resolve(code));
  });
  // Pipe chunks (64 KiB) are gathered until a frame is whole, then copied once.
  let parts: Buffer[] = [];
  let have = 0;
  let n = 0;
  try {
    for await (const chunk of proc.stdout) {
      parts.push(chunk as Buffer);
      have += (chunk as Buffer).length;
      while (have >= size) {
        const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
        const data = Buffer.from(all.subarray(0, size));
        const rest = all.subarray(size);
        parts = rest.length ? [rest] : [];
        have = rest.length;
        // The frame's showinfo line is written before the frame leaves the encoder.
        while (times.length <= n && proc.exitCode === null) await new Promise((r) => setTimeout(r, 5));
        yield { time: times[n] ?? n / o.fps, data, width, height };
        n++;
      }
    }
    const code = await exited;
    if (code !== 0 && n === 0) {
      const why = lastLine(errTail);
      if (/Decoder .* not found|unsupported codec|no decoder/i.test(errTail)) throw new FolioError('unsupported_codec', `ffmpeg cannot decode the video: ${why}`);
      throw new FolioError('corrupt_video', `ffmpeg decoded no frame: ${why}`);
    }
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
}

/** A frame made small for comparing: 128 x 72 cells (or fewer), each the mean gray of its block. */
export function thumb(f: { data: Buffer; width: number; height: number }, cols = 128, rows = 72): Uint8Array {
  const cw = Math.max(1, Math.floor(f.width / cols));
  const ch = Math.max(1, Math.floor(f.height / rows));
  const nc = Math.floor(f.width / cw);
  const nr = Math.floor(f.height / ch);
  const out = new Uint8Array(nc * nr);
  for (let r = 0; r < nr; r++) {
    for (let c = 0; c < nc; c++) {
      let s = 0;
      // Every other pixel of every other row: a quarter of the work, the same means within a level or two.
      const sy = ch >= 4 ? 2 : 1;
      const sx = cw >= 4 ? 2 : 1;
      let k = 0;
      for (let y = r * ch; y < (r + 1) * ch; y += sy) {
        const row = y * f.width;
        for (let x = c * cw; x < (c + 1) * cw; x += sx, k++) s += f.data[row + x]!;
      }
      out[r * nc + c] = s / k;
    }
  }
  return out;
}

/**
 * Whether a frame shows something the last kept one did not: more than 0.04% of the thumbnail's
 * cells (4 of 128 x 72) moved by more than 16 levels of gray. Video compression moves a still
 * picture by a few levels; one changed digit of 56-px text moves a dozen cells by 40 or more.
 */
export function differs(a: Uint8Array, b: Uint8Array, share = 0.0004): boolean {
  if (a.length !== b.length) return true;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > 16) n++;
  return n > share * a.length;
}

/** A 64-bit perceptual hash (difference hash, 9 x 8) of a frame, as 16 hex digits. */
export function frameHash(f: { data: Buffer; width: number; height: number }): string {
  const t = thumb(f, 9, 8);
  const nc = Math.min(9, f.width);
  let bits = 0n;
  for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) bits = (bits << 1n) | (t[r * nc + c]! > t[r * nc + c + 1]! ? 1n : 0n);
  return bits.toString(16).padStart(16, '0');
}

export interface VideoFrame {
  /** The Document page the frame was read into. */
  page: number;
  time: number;
  hash: string;
}

/** A video -> pages (one per kept frame), their tables, and the frames' times. */
export async function extractVideo(bytes: Uint8Array, opts: ExtractOptions & { video?: Partial<VideoOptions> }): Promise<Extraction & { frames: VideoFrame[] }> {
  const v = { ...DEFAULT_VIDEO, ...opts.video };
  // ffmpeg seeks in the file (an MP4's index may sit at its end): the bytes go to a private file.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-video-'));
  const file = path.join(dir, 'input');
  fs.writeFileSync(file, bytes);
  try {
    const p = await probeVideo(file, opts.signal);
    if (p.duration > v.maxSeconds) throw new FolioError('too_long', `the video lasts ${Math.round(p.duration)} s; the limit is ${v.maxSeconds} s (FOLIO_MAX_VIDEO_SECONDS)`);
    if (p.width * p.height > opts.maxPixels) {
      throw new FolioError('too_many_pixels', `the video is ${p.width}x${p.height} = ${p.width * p.height} pixels a frame, over the limit of ${opts.maxPixels} (FOLIO_MAX_PIXELS)`);
    }
    if (!(p.width > 0 && p.height > 0)) throw new FolioError('corrupt_video', 'the video stream has no picture size');
    const warnings: Extraction['warnings'] = [];
    const read: ReadPage[] = [];
    const frames: VideoFrame[] = [];
    const client = opts.engine !== 'text' ? opts.vlm?.() : undefined;
    const ocr = opts.engine !== 'text' && opts.engine !== 'vlm' ? opts.ocr : undefined;
    let last: Uint8Array | undefined;
    let sampled = 0;
    // Sampled frames are many more than kept ones (a still slide sampled every second): decoding
    // stops after a generous multiple of the kept-frame limit.
    const limit = v.maxFrames * 20;
    for await (const f of sampleFrames(file, p, { fps: v.fps, scene: v.scene, limit, signal: opts.signal })) {
      sampled++;
      const t = thumb(f);
      if (last && !differs(t, last)) continue;
      if (frames.length >= v.maxFrames) {
        warnings.push({ code: 'frames_capped', message: `more than ${v.maxFrames} different frames (FOLIO_MAX_FRAMES): the video is read up to ${f.time.toFixed(1)} s` });
        break;
      }
      last = t;
      const n = frames.length + 1;
      const img = { data: f.data, width: f.width, height: f.height, channels: 1 as const, scale: 1 };
      // A frame has no print size: one pixel is one point.
      let page: ReadPage = { layout: { number: n, width: f.width, height: f.height, blocks: [] }, tables: [], prov: { engine: 'image', engineVersion: 'ffmpeg' }, page: { rotation: 0, needsOcr: true, engine: 'none' } };
      if (opts.engine === 'vlm' && client) page = (await vlmReadPage(img, n, client, page.page, { signal: opts.signal, tables: opts.tables })).read;
      else if (ocr) page = { ...page, ...readPageOf(await ocrPage(img, await ocr(), { signal: opts.signal, deskew: false }), n, page.page, { tables: opts.tables }) };
      if (opts.storeImage && opts.render !== 'none') Object.assign(page.page, await storeRendered({ data: f.data, width: f.width, height: f.height, channels: 1 }, { thumbnailWidth: opts.thumbnailWidth, storeImage: opts.storeImage }));
      read.push(page);
      frames.push({ page: n, time: Math.round(f.time * 1000) / 1000, hash: frameHash(f) });
    }
    if (!frames.length) throw new FolioError('corrupt_video', 'no frame of the video could be decoded');
    const { pages, tables, charts } = assemblePages(read, warnings);
    const metadata: Record<string, string> = {
      format: p.format,
      codec: p.codec,
      width: String(p.width),
      height: String(p.height),
      duration: p.duration.toFixed(3),
      fps: p.fps.toFixed(3),
      framesSampled: String(sampled),
      framesKept: String(frames.length),
    };
    if (p.rotation) metadata.rotation = String(p.rotation);
    return { pages, tables, charts, metadata, warnings, frames };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Seconds as m:ss (or h:mm:ss). */
export function timecode(t: number): string {
  const s = Math.floor(t);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}
