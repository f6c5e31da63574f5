// Video: frames kept, and the time folio's sampling (base rate + scene changes, decoded to raw
// pixels on a pipe) and dedupe take, as a ratio to a plain ffmpeg decode of the same video at the
// same rate to the same raw pipe, in the same run; then OCR seconds per kept frame.
//
// Usage: npm run bench:video   (BENCH_ROUNDS, default 3). The video is generated here: a
// 3-minute 1280x720 25-fps slide talk (a slide every 15 s, one that builds up), H.264.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractDocument } from '../pipelines/extract.ts';
import { loadConfig } from '../schemas/config.ts';
import { DEFAULT_VIDEO, differs, ffmpegBins, probeVideo, sampleFrames, thumb } from '../extractors/video.ts';

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-bench-video-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'talk.mp4');
const SECONDS = 180;
const slides = Array.from({ length: SECONDS / 15 }, (_, i) => `drawtext=fontfile=${FONT}:text='Slide ${i + 1}\\: quarterly figures':fontsize=56:x=80:y=80:enable='gte(t\\,${i * 15})*lt(t\\,${i * 15 + 15})'`);
slides.push(`drawtext=fontfile=${FONT}:text='- a point added':fontsize=44:x=100:y=200:enable='gte(t\\,37)*lt(t\\,45)'`);
execFileSync(ffmpegBins().ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=white:s=1280x720:d=${SECONDS}:r=25`, '-vf', slides.join(','), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', file]);

/** Plain decode at the same rate, the same size and pixel format, to a pipe that counts bytes. */
function plain(): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(ffmpegBins().ffmpeg, ['-v', 'error', '-nostdin', '-i', file, '-an', '-vf', `fps=${DEFAULT_VIDEO.fps},scale=1280:720:flags=area,format=gray`, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']);
    let bytes = 0;
    p.stdout.on('data', (c: Buffer) => (bytes += c.length));
    p.on('error', reject);
    p.on('close', () => resolve(bytes / (1280 * 720)));
  });
}

async function ours(): Promise<{ sampled: number; kept: number }> {
  const pr = await probeVideo(file);
  let last: Uint8Array | undefined;
  let sampled = 0;
  let kept = 0;
  for await (const f of sampleFrames(file, pr, { fps: DEFAULT_VIDEO.fps, scene: DEFAULT_VIDEO.scene, limit: 10_000 })) {
    sampled++;
    const t = thumb(f);
    if (last && !differs(t, last)) continue;
    last = t;
    kept++;
  }
  return { sampled, kept };
}

const time = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
  const t0 = performance.now();
  const r = await fn();
  return [(performance.now() - t0) / 1000, r];
};

console.log(`bench:video: a ${SECONDS}-s 1280x720 25-fps slide talk (${SECONDS / 15 + 1} changes), ${os.availableParallelism()} cores, best of ${ROUNDS}`);
let bestPlain = Infinity;
let bestOurs = Infinity;
let counts = { sampled: 0, kept: 0 };
for (let r = 0; r < ROUNDS; r++) {
  const [a, frames] = await time(plain);
  const [b, c] = await time(ours);
  counts = c;
  console.log(`  round ${r + 1}: plain decode at ${DEFAULT_VIDEO.fps} fps ${a.toFixed(2)} s (${frames} frames); folio sampling + dedupe ${b.toFixed(2)} s (${c.sampled} sampled, ${c.kept} kept)`);
  bestPlain = Math.min(bestPlain, a);
  bestOurs = Math.min(bestOurs, b);
}
const cfg = { ...loadConfig({ logLevel: 'silent' }, {}), render: 'none' as const };
const [total, doc] = await time(() => extractDocument({ bytes: new Uint8Array(fs.readFileSync(file)), uri: 'file://talk.mp4', name: 'talk.mp4' }, cfg));
const ocrPerFrame = (total - bestOurs) / doc.frames!.length;
console.log(`frames kept: ${counts.kept} of ${counts.sampled} sampled (${SECONDS / 15 + 1} changes shown)`);
console.log(`ratio plain decode / folio sampling + dedupe (speed): ${(bestPlain / bestOurs).toFixed(2)}x   (goal >= 0.8x)`);
console.log(`OCR per kept frame: ${ocrPerFrame.toFixed(2)} s (whole video read in ${total.toFixed(1)} s, one thread)`);
