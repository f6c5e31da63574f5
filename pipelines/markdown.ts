// A Document as Markdown: headings, paragraphs (lines joined, end-of-line hyphens mended),
// list items, captions, tables (GitHub Markdown tables); running headers and footers left out.
import type { Block, Chart, Document } from '../schemas/document.ts';
import { tableToMarkdown } from '../db/tables.ts';
import { timecode } from '../extractors/video.ts';

function paragraphText(b: Block): string {
  return b.lines
    .map((l) => l.text)
    .join('\n')
    .replace(/(\p{Ll})-\n(\p{Ll})/gu, '$1$2')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

const overlaps = (a: Block['bbox'], b: Block['bbox']) => Math.min(a.x1, b.x1) > Math.max(a.x0, b.x0) && Math.min(a.y1, b.y1) > Math.max(a.y0, b.y0);

const cellText = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

/** A chart as a Markdown table: one row per x value, one column per series; its type and title above. */
export function chartToMarkdown(c: Chart): string {
  const axis = (a: Chart['xAxis'], dflt: string) => `${a.title || dflt}${a.unit ? ` (${a.unit})` : ''}`;
  const xs: string[] = [];
  for (const s of c.series) for (const p of s.points) if (!xs.includes(p.x)) xs.push(p.x);
  const head = [axis(c.xAxis, 'x'), ...c.series.map((s, i) => s.name || (c.series.length === 1 ? axis(c.yAxis, 'y') : `series ${i + 1}`))];
  const rows = xs.map((x) => [x, ...c.series.map((s) => String(s.points.find((p) => p.x === x)?.y ?? ''))]);
  const line = (r: string[]) => `| ${r.map(cellText).join(' | ')} |`;
  const title = `*Chart (${c.chartType})${c.title ? `: ${cellText(c.title)}` : ''}*`;
  return [title, '', line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function toMarkdown(doc: Document): string {
  const out: string[] = [];
  const tables = new Map(doc.tables.map((t) => [t.id, t]));
  // A table continued on later pages has a block on each: it is written once, at its first block
  // (and a chart once, at its figure).
  const written = new Set<string>();
  const captions = new Set<string>();
  const squash = (t: string) => t.replace(/\s+/g, ' ').trim().toLowerCase();
  if (doc.title && !doc.pages.some((p) => p.blocks.some((b) => b.type === 'title'))) out.push(`# ${doc.title}`);
  // A video is a timeline: each kept frame under its time.
  const timeOf = new Map((doc.frames ?? []).map((f) => [f.page, f.time]));
  for (const page of doc.pages) {
    const t = timeOf.get(page.number);
    if (t !== undefined) out.push(`## [${timecode(t)}]`);
    const r = page.reader;
    const how = r ? ` (read by ${r.engine}, ${r.model}${r.confidence !== undefined ? `, confidence ${r.confidence}` : ''})` : page.needsOcr ? ' (image only: not read)' : '';
    out.push(`<!-- page ${page.number}${how} -->`);
    for (const b of page.blocks) {
      const text = paragraphText(b);
      switch (b.type) {
        case 'page_header':
        case 'page_footer':
          break;
        case 'title':
          out.push(`# ${text}`);
          break;
        case 'heading':
          out.push(`${'#'.repeat(Math.min(6, b.level ?? 2))} ${text}`);
          break;
        case 'list_item':
          out.push(`- ${text.replace(/^[\u2022\u25e6\u25aa\u25cf\u2023\u2043\u2219\u00b7*\-\u2013\u2014]\s*/u, '')}`);
          break;
        case 'caption':
          out.push(`*${text}*`);
          captions.add(squash(text));
          break;
        case 'footnote':
          out.push(`> ${text}`);
          break;
        case 'table': {
          const table = b.tableId ? tables.get(b.tableId) : undefined;
          if (!table) {
            if (text) out.push(text);
          } else if (!written.has(table.id)) {
            written.add(table.id);
            // A caption the page shows as a block is printed there already.
            if (table.caption && !captions.has(squash(table.caption))) out.push(`*${table.caption}*`);
            out.push(tableToMarkdown(table));
          }
          break;
        }
        case 'figure': {
          out.push(`![figure on page ${page.number}]()`);
          // A chart read from the figure follows it as a table of its points.
          for (const c of doc.charts ?? []) {
            if (c.provenance.page === page.number && overlaps(c.provenance.bbox, b.bbox) && !written.has(c.id)) {
              written.add(c.id);
              out.push(chartToMarkdown(c));
            }
          }
          break;
        }
        default:
          if (text) out.push(text);
      }
    }
  }
  return out.join('\n\n') + '\n';
}
