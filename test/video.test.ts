// Videos made here with ffmpeg (lavfi colour sources with drawtext slides that change at known
// times), read by the real ffmpeg and the OCR engine, stored in both databases.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadDocument } from '../db/persist.ts';
import { extractDocument } from '../pipelines/extract.ts';
import { toMarkdown } from '../pipelines/markdown.ts';
import { processInputs } from '../pipelines/process.ts';
import { loadConfig, type Config } from '../schemas/config.ts';
import type { Document } from '../schemas/document.ts';
import { backends } from './support/backends.ts';
import { makeTmpDir, tmpDirFor, type TmpDir } from './support/tmp.ts';

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const ffmpeg = (args: string[]) => execFileSync(process.env.FFMPEG_BIN || 'ffmpeg', ['-v', 'error', '-y', ...args]);
const cfg = (over: Partial<Record<keyof Config, unknown>> = {}): Config => loadConfig({ logLevel: 'silent', workers: 1, ...over }, {});

/** The slides of the test talk: text, shown from `at` seconds (a slide builds up at 17 s). */
const SLIDES = [
  { at: 0, until: 6, text: 'Quarterly results', words: ['Quarterly', 'results'] },
  { at: 6, until: 12, text: 'Revenue grew', words: ['Revenue', 'grew'] },
  { at: 12, until: 24, text: 'Agenda', words: ['Agenda'] },
  { at: 17, until: 24, text: '- first point', words: ['first', 'point'], y: 140 },
  { at: 24, until: 84, text: 'Thank you', words: ['Thank', 'you'] },
];
/** When what is shown changes: every slide's start (the one at 17 s adds a line to the slide of 12 s). */
const CHANGES = [0, 6, 12, 17, 24];

let dir: TmpDir;
let talk: string;
const bad: Record<string, string> = {};

before(async () => {
  dir = await makeTmpDir('folio-video-');
  const draw = SLIDES.map((s) => `drawtext=fontfile=${FONT}:text='${s.text}':fontsize=40:x=60:y=${s.y ?? 60}:enable='gte(t\\,${s.at})*lt(t\\,${s.until})'`).join(',');
  // 84 s at 10 fps: four quick slides, then one shown for a minute.
  talk = dir.join('talk.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=white:s=640x360:d=84:r=10', '-vf', draw, '-c:v', 'libx264', '-crf', '18', '-pix_fmt', 'yuv420p', talk]);
  // Bad inputs.
  bad.corrupt = await dir.write('corrupt.mp4', Buffer.concat([Buffer.from('\0\0\0\x18ftypisom\0\0\x02\0isomiso2'), Buffer.alloc(4000, 0x5a)]));
  bad.audio = dir.join('audio.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=d=2', '-c:a', 'aac', bad.audio]);
  bad.long = dir.join('long.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=white:s=320x240:d=120:r=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', bad.long]);
  bad.huge = dir.join('huge.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=white:s=1920x1080:d=1:r=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', bad.huge]);
  // An AVI whose codec tag no decoder knows (an MPEG-4 stream relabelled).
  const avi = dir.join('mpeg4.avi');
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=white:s=320x240:d=1:r=5', '-c:v', 'mpeg4', avi]);
  bad.codec = await dir.write('codec.avi', Buffer.from(fs.readFileSync(avi).toString('latin1').replaceAll('FMP4', 'ZQX9'), 'latin1'));
});
after(() => dir?.cleanup());

const frameText = (d: Document, page: number) => d.pages[page - 1]!.blocks.map((b) => b.text).join(' ');

describe('a slide video', () => {
  let doc: Document;
  before(async () => {
    doc = await extractDocument({ bytes: new Uint8Array(fs.readFileSync(talk)), uri: 'file:///talk.mp4', name: 'talk.mp4' }, { ...cfg(), render: 'none' });
  });

  test('a frame is kept within one second of every change, and only then', () => {
    const times = doc.frames!.map((f) => f.time);
    assert.equal(times.length, CHANGES.length, `kept at ${times.join(', ')} s`);
    CHANGES.forEach((c, i) => assert.ok(times[i]! >= c && times[i]! <= c + 1, `change at ${c} s kept at ${times[i]} s`));
    assert.equal(doc.pageCount, CHANGES.length);
    assert.equal(doc.source.mime, 'video/mp4');
    assert.deepEqual([doc.metadata.codec, doc.metadata.width, doc.metadata.height], ['h264', '640', '360']);
    // The minute-long slide was sampled every second but read once.
    assert.ok(Number(doc.metadata.framesSampled) >= 84, `sampled ${doc.metadata.framesSampled}`);
  });

  test('each kept frame is read by OCR, with its time', () => {
    const shown = (t: number) => SLIDES.filter((s) => s.at <= t && t < s.until);
    doc.frames!.forEach((f) => {
      const text = frameText(doc, f.page);
      for (const s of shown(f.time)) for (const w of s.words) assert.match(text, new RegExp(w), `frame at ${f.time} s: ${JSON.stringify(text)}`);
      assert.equal(doc.pages[f.page - 1]!.engine, 'ocr');
      assert.match(f.hash, /^[0-9a-f]{16}$/);
    });
    // The slide that builds up is read twice: before and after its new line.
    const agenda = doc.frames!.filter((f) => /Agenda/.test(frameText(doc, f.page)));
    assert.deepEqual(agenda.map((f) => /first point/.test(frameText(doc, f.page))), [false, true]);
  });

  test('Markdown export is a timeline', () => {
    const md = toMarkdown(doc);
    assert.match(md, /## \[0:00\][\s\S]*Quarterly results[\s\S]*## \[0:06\][\s\S]*Revenue grew[\s\S]*## \[0:24\][\s\S]*Thank you/);
  });
});

for (const backend of backends) {
  describe(`${backend.name}: videos through folio process`, () => {
    test('frames are stored with their times and images; blocks are queryable by frame; bad videos fail alone with their codes', async (t) => {
      const tmp = await tmpDirFor(t);
      const db = await backend.open();
      t.after(() => db.close());
      const files = [talk, ...Object.values(bad)];
      const run = await processInputs(files, cfg({ dataDir: tmp.join('data'), maxVideoSeconds: 100, maxPixels: 1_000_000 }), db);
      const byName = Object.fromEntries(run.outcomes.map((o) => [o.file.split('/').at(-1), [o.status, o.code]]));
      assert.deepEqual(byName, {
        'talk.mp4': ['done', undefined],
        'corrupt.mp4': ['failed', 'corrupt_video'],
        'audio.mp4': ['failed', 'no_video_stream'],
        'long.mp4': ['failed', 'too_long'],
        'huge.mp4': ['failed', 'too_many_pixels'],
        'codec.avi': ['failed', 'unsupported_codec'],
      });
      const frames = await db.query(`select f.frame_no, f.t, f.hash, f.image from frames f order by f.frame_no`);
      assert.equal(frames.rows.length, CHANGES.length);
      for (const r of frames.rows) assert.match(String(r.image), /^[0-9a-f]{64}\.png$/, 'the frame image is a stored blob');
      const found = await db.query(`select t from frame_blocks where text like '%Revenue%'`);
      assert.ok(found.rows.length >= 1 && Number(found.rows[0]!.t) >= 6 && Number(found.rows[0]!.t) <= 7, JSON.stringify(found.rows));
      const failed = await db.query(`select filename, error_code, error_message from documents where status = 'failed' order by filename`);
      assert.match(String(failed.rows.find((r) => r.filename === 'long.mp4')!.error_message), /lasts 120 s; the limit is 100 s/);
      const doc = await loadDocument(db, run.outcomes.find((o) => o.file === talk)!.documentId!);
      assert.deepEqual(doc.frames!.map((f) => f.page), [1, 2, 3, 4, 5]);
    });
  });
}
