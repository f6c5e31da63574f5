import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyDocument, layoutRuns, quantizeAngle, readingOrder, type RawBlock, type TextRun } from '../extractors/layout.ts';

const run = (text: string, x: number, y: number, size = 10, extra: Partial<TextRun> = {}): TextRun => ({
  text,
  x,
  y,
  width: text.length * size * 0.5,
  size,
  angle: 0,
  ascent: 0.8,
  descent: -0.2,
  bold: false,
  ...extra,
});

/** A column of `n` justified-looking lines of words `prefix1 prefix2 …` starting at (x, y). */
function column(prefix: string, x: number, y: number, n: number, wordsPerLine = 5): TextRun[] {
  const out: TextRun[] = [];
  let k = 1;
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: wordsPerLine }, () => `${prefix}${k++}`);
    out.push(run(words.join(' '), x, y + i * 12));
  }
  return out;
}

describe('layoutRuns', () => {
  test('splits runs into words with boxes along the baseline', () => {
    const [b] = layoutRuns([run('hello world', 100, 200)]);
    assert.ok(b);
    const words = b.lines[0]!.words;
    assert.deepEqual(words.map((w) => w.text), ['hello', 'world']);
    // 11 chars over 55 pt: 5 pt per char; "world" starts at char 6.
    assert.deepEqual(words[0]!.bbox, { x0: 100, y0: 192, x1: 125, y1: 202 });
    assert.equal(words[1]!.bbox.x0, 130);
  });

  test('joins one word split across two runs (kerning) but not separate words', () => {
    const blocks = layoutRuns([run('Fi', 100, 100), run('nance', 110.2, 100), run('next', 150, 100)]);
    assert.deepEqual(blocks[0]!.lines[0]!.words.map((w) => w.text), ['Finance', 'next']);
  });

  test('two columns with a narrow gutter become two blocks, not interleaved lines', () => {
    // Left column x 50..~170, right column starts 10 pt (one em) after the left one ends.
    const left = column('alpha', 50, 100, 8);
    const leftEnd = Math.max(...left.map((r) => r.x + r.width));
    const right = column('beta', leftEnd + 10, 100, 8);
    const blocks = layoutRuns([...left, ...right]);
    assert.equal(blocks.length, 2);
    const ordered = readingOrder(blocks);
    assert.match(ordered[0]!.text, /^alpha1 /);
    assert.match(ordered[1]!.text, /^beta1 /);
    assert.ok(!ordered[0]!.text.includes('beta'));
  });

  test('a single wide word gap in one line does not split the line', () => {
    const runs = column('w', 50, 100, 6);
    // Stretch one line: a 12 pt gap inside line 3, nowhere else.
    runs.splice(2, 1, run('w11 w12', 50, 124), run('w13 w14 w15', 50 + 35 + 12, 124));
    const blocks = layoutRuns(runs);
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0]!.lines.length, 6);
  });

  test('text rotated 90 degrees is laid out along its own direction', () => {
    // Baseline running down the page (angle 90): successive lines step to the left (-x).
    const runs = [run('first line here', 300, 100, 10, { angle: 90 }), run('second line here', 288, 100, 10, { angle: 90 })];
    const blocks = layoutRuns(runs);
    assert.equal(blocks.length, 1);
    assert.deepEqual(blocks[0]!.lines.map((l) => l.text), ['first line here', 'second line here']);
    assert.equal(blocks[0]!.lines[0]!.angle, 90);
    const bb = blocks[0]!.bbox;
    assert.ok(bb.y1 - bb.y0 > bb.x1 - bb.x0, 'a vertical run has a tall box');
  });

  test('a right-to-left line lists its words right to left (logical order)', () => {
    // As pdf.js reports Hebrew: one run per word, each at its visual position.
    const blocks = layoutRuns([run('גולמי', 100, 100), run('מקומי', 130, 100), run('תוצר', 160, 100)]);
    assert.equal(blocks[0]!.lines[0]!.text, 'תוצר מקומי גולמי');
    assert.equal(blocks[0]!.lines[0]!.words[0]!.bbox.x0, 160);
    // Left-to-right text with a Hebrew word in it stays left to right.
    assert.equal(layoutRuns([run('price', 100, 100), run('שקל', 130, 100), run('today', 150, 100)])[0]!.lines[0]!.text, 'price שקל today');
  });

  test('quantizeAngle snaps near right angles', () => {
    assert.equal(quantizeAngle(89.5), 90);
    assert.equal(quantizeAngle(-90), 270);
    assert.equal(quantizeAngle(360.4), 0);
    assert.equal(quantizeAngle(30), 30);
  });
});

describe('readingOrder', () => {
  const box = (x0: number, y0: number, x1: number, y1: number, name: string) => ({ name, bbox: { x0, y0, x1, y1 } });
  test('full-width title, then left column, then right column', () => {
    const items = [
      box(320, 100, 560, 300, 'R1'),
      box(50, 40, 560, 60, 'T'),
      box(50, 100, 290, 200, 'L1'),
      box(50, 210, 290, 300, 'L2'),
      box(320, 310, 560, 400, 'R2'),
    ];
    assert.deepEqual(readingOrder(items).map((i) => i.name), ['T', 'L1', 'L2', 'R1', 'R2']);
  });
  test('a full-width figure splits the page into bands', () => {
    const items = [box(50, 50, 290, 150, 'L1'), box(320, 50, 560, 150, 'R1'), box(50, 160, 560, 300, 'F'), box(50, 310, 290, 400, 'L2'), box(320, 310, 560, 400, 'R2')];
    assert.deepEqual(readingOrder(items).map((i) => i.name), ['L1', 'R1', 'F', 'L2', 'R2']);
  });
});

describe('classifyDocument', () => {
  const blockOf = (text: string, y: number, size = 10, bold = false, x = 50): RawBlock => ({
    text,
    bbox: { x0: x, y0: y, x1: x + text.length * size * 0.5, y1: y + size },
    lines: [{ text, bbox: { x0: x, y0: y, x1: x + 100, y1: y + size }, angle: 0, words: text.split(' ').map((w) => ({ text: w, bbox: { x0: x, y0: y, x1: x + 10, y1: y + size } })) }],
    angle: 0,
    size,
    bold,
    chars: text.length,
  });
  const body = 'Body text that goes on long enough to be the body size of the document, repeated. '.repeat(3);
  const pages = [1, 2, 3].map((n) => ({
    number: n,
    width: 612,
    height: 792,
    blocks: [
      blockOf('ACME Corp Annual Report 2025', 20, 9),
      ...(n === 1 ? [blockOf('The Big Title', 80, 24, true)] : []),
      blockOf('Results and discussion', 140, 14, true),
      blockOf('Quarterly overview', 170, 10, true),
      blockOf(body, 200),
      blockOf('\u2022 first point of the list', 260),
      blockOf('Figure 2: Revenue by quarter', 300),
      blockOf(`Page ${n} of 3`, 760, 9),
    ],
  }));
  const out = classifyDocument(pages);
  const types = (i: number) => out[i]!.map((x) => `${x.cls.type}${x.cls.level ?? ''}:${x.block.text.slice(0, 12)}`);

  test('title, heading levels, list item, caption and paragraph', () => {
    const t = types(0);
    assert.ok(t.includes('title1:The Big Titl'), t.join(', '));
    assert.ok(t.includes('heading2:Results and '), t.join(', '));
    assert.ok(t.includes('heading3:Quarterly ov'), t.join(', '));
    assert.ok(t.includes('list_item:\u2022 first poin'), t.join(', '));
    assert.ok(t.includes('caption:Figure 2: Re'), t.join(', '));
    assert.ok(t.includes('paragraph:Body text th'), t.join(', '));
  });
  test('running header and page-number footer recognised on every page, first and last in order', () => {
    for (let i = 0; i < 3; i++) {
      const t = types(i);
      assert.equal(t[0], 'page_header:ACME Corp An');
      assert.equal(t[t.length - 1], `page_footer:Page ${i + 1} of 3`);
    }
  });
});
