// A batch run as one self-contained HTML file (no scripts, no CDN): the counts, SVG charts drawn
// here (pages/s over the run, pages per document), failures, tables found with links to their
// rows as CSV beside the report, and page thumbnails with the blocks and tables folio found
// outlined, so that a person sees at a glance what was extracted.
import path from 'node:path';
import type { BatchReport } from './batch.ts';

export interface PageView {
  file: string;
  page: number;
  width: number;
  height: number;
  /** data: URI of the stored thumbnail, when the page has one. */
  thumbnail?: string;
  blocks: { type: string; x0: number; y0: number; x1: number; y1: number }[];
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const COLORS: Record<string, string> = {
  table: '#d62728',
  figure: '#9467bd',
  title: '#1f77b4',
  heading: '#1f77b4',
  paragraph: '#7f7f7f',
  list_item: '#2ca02c',
  caption: '#ff7f0e',
  page_header: '#bcbd22',
  page_footer: '#bcbd22',
  footnote: '#17becf',
};

/** A line chart of (x, y) points in SVG, with axis labels. */
function lineChart(points: [number, number][], title: string, xLabel: string, yLabel: string): string {
  const W = 520;
  const H = 220;
  const m = { l: 48, r: 12, t: 28, b: 36 };
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const xMax = Math.max(1e-9, ...xs);
  const yMax = Math.max(1e-9, ...ys);
  const X = (x: number) => m.l + (x / xMax) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - (y / yMax) * (H - m.t - m.b);
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
  return `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">
<text x="${W / 2}" y="16" text-anchor="middle" font-weight="bold">${esc(title)}</text>
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>
<text x="${m.l - 4}" y="${m.t + 4}" text-anchor="end" font-size="11">${yMax.toFixed(1)}</text><text x="${m.l - 4}" y="${H - m.b}" text-anchor="end" font-size="11">0</text>
<text x="${W - m.r}" y="${H - m.b + 14}" text-anchor="end" font-size="11">${xMax.toFixed(1)}</text>
<text x="${(W + m.l) / 2}" y="${H - 6}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>
<text x="12" y="${(H - m.b + m.t) / 2}" transform="rotate(-90 12 ${(H - m.b + m.t) / 2})" text-anchor="middle" font-size="12">${esc(yLabel)}</text>
${points.length ? `<path d="${d}" fill="none" stroke="#1f77b4" stroke-width="2"/>` : ''}
</svg>`;
}

/** A bar chart in SVG (one bar per label). */
function barChart(bars: { label: string; value: number }[], title: string, yLabel: string): string {
  const shown = bars.slice(0, 40);
  const W = Math.max(320, 60 + shown.length * 22);
  const H = 240;
  const m = { l: 48, r: 12, t: 28, b: 70 };
  const yMax = Math.max(1, ...shown.map((b) => b.value));
  const bw = (W - m.l - m.r) / Math.max(1, shown.length);
  const rects = shown
    .map((b, i) => {
      const h = (b.value / yMax) * (H - m.t - m.b);
      const x = m.l + i * bw;
      return `<rect x="${(x + 2).toFixed(1)}" y="${(H - m.b - h).toFixed(1)}" width="${Math.max(1, bw - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="#2ca02c"><title>${esc(b.label)}: ${b.value}</title></rect>
<text x="${(x + bw / 2).toFixed(1)}" y="${H - m.b + 10}" font-size="10" transform="rotate(45 ${(x + bw / 2).toFixed(1)} ${H - m.b + 10})">${esc(b.label.slice(0, 14))}</text>`;
    })
    .join('\n');
  return `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">
<text x="${W / 2}" y="16" text-anchor="middle" font-weight="bold">${esc(title)}</text>
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>
<text x="${m.l - 4}" y="${m.t + 4}" text-anchor="end" font-size="11">${yMax}</text><text x="${m.l - 4}" y="${H - m.b}" text-anchor="end" font-size="11">0</text>
<text x="12" y="${(H - m.b + m.t) / 2}" transform="rotate(-90 12 ${(H - m.b + m.t) / 2})" text-anchor="middle" font-size="12">${esc(yLabel)}</text>
${rects}
</svg>`;
}

/** A page drawn small: its thumbnail (when stored) under the outlines of its blocks, tables in red. */
function pageThumb(p: PageView): string {
  const w = 180;
  const s = w / p.width;
  const h = Math.round(p.height * s);
  const boxes = p.blocks
    .map((b) => `<rect class="${b.type === 'table' ? 'table-box' : 'block-box'}" data-type="${esc(b.type)}" x="${(b.x0 * s).toFixed(1)}" y="${(b.y0 * s).toFixed(1)}" width="${Math.max(1, (b.x1 - b.x0) * s).toFixed(1)}" height="${Math.max(1, (b.y1 - b.y0) * s).toFixed(1)}" fill="${b.type === 'table' ? 'rgba(214,39,40,0.12)' : 'none'}" stroke="${COLORS[b.type] ?? '#444'}" stroke-width="${b.type === 'table' ? 2 : 1}"><title>${esc(b.type)}</title></rect>`)
    .join('');
  const img = p.thumbnail ? `<image href="${p.thumbnail}" x="0" y="0" width="${w}" height="${h}" preserveAspectRatio="none"/>` : '';
  return `<figure class="page"><svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><rect x="0" y="0" width="${w}" height="${h}" fill="#fff" stroke="#999"/>${img}${boxes}</svg><figcaption>${esc(path.basename(p.file))} p.${p.page}</figcaption></figure>`;
}

export function reportHtml(r: BatchReport, pages: PageView[], csvOf: (t: BatchReport['tables'][number]) => string | undefined): string {
  const counts = `<table class="counts"><tr><th>files</th><th>processed</th><th>unchanged</th><th>failed</th><th>pages</th><th>pages/s</th><th>tables</th></tr>
<tr><td>${r.files}</td><td>${r.processed}</td><td>${r.unchanged}</td><td class="${r.failed ? 'bad' : ''}">${r.failed}</td><td>${r.pages}</td><td>${r.pagesPerSecond}</td><td>${r.tables.length}</td></tr></table>`;
  const timeline = lineChart(r.timeline.map((p) => [p.t, p.pagesPerSecond]), 'Pages per second over the run', 'seconds', 'pages/s');
  const perDoc = barChart(r.perDocument.map((d) => ({ label: path.basename(d.file), value: d.pages })), 'Pages per document', 'pages');
  const failures = r.failures.length
    ? `<h2>Failed</h2><table><tr><th>file</th><th>code</th><th>message</th></tr>${r.failures.map((f) => `<tr><td>${esc(f.file)}</td><td><code>${esc(f.code)}</code></td><td>${esc(f.message)}</td></tr>`).join('')}</table>`
    : '';
  const tables = r.tables.length
    ? `<h2>Tables found</h2><table class="tables"><tr><th>file</th><th>table</th><th>caption</th><th>size</th><th>rows</th></tr>${r.tables
        .map((t) => {
          const csv = csvOf(t);
          return `<tr><td>${esc(path.basename(t.file))}</td><td>${esc(t.table)}</td><td>${esc(t.caption)}</td><td>${t.rows} x ${t.cols}</td><td>${csv ? `<a href="${esc(csv)}">rows (CSV)</a>` : ''}</td></tr>`;
        })
        .join('')}</table>`
    : '';
  const slow = r.slowest.length
    ? `<h2>Slowest files</h2><table><tr><th>file</th><th>seconds</th><th>pages</th></tr>${r.slowest.map((x) => `<tr><td>${esc(path.basename(x.file))}</td><td>${(x.ms / 1000).toFixed(2)}</td><td>${x.pages ?? ''}</td></tr>`).join('')}</table>`
    : '';
  const legend = Object.entries(COLORS)
    .map(([k, c]) => `<span><svg width="12" height="12"><rect width="12" height="12" fill="none" stroke="${c}" stroke-width="2"/></svg> ${k}</span>`)
    .join(' ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>folio batch ${esc(r.runId)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.bad{color:#b00;font-weight:bold}.charts{display:flex;gap:24px;flex-wrap:wrap}
.pages{display:flex;flex-wrap:wrap;gap:12px}.page{margin:0}.page figcaption{font-size:11px;color:#555}
.legend span{margin-right:10px;font-size:12px}
</style></head><body>
<h1>folio batch ${esc(r.runId)} <span class="${r.ok ? '' : 'bad'}">${r.ok ? 'OK' : 'FAILED'}</span></h1>
<p>${esc(r.startedAt)} – ${esc(r.finishedAt)}, ${r.seconds.toFixed(1)} s, ${esc(r.pipelineVersion)}${r.transport === 'kafka' ? ', through Kafka' : ''}</p>
${counts}
<div class="charts">${timeline}${perDoc}</div>
${failures}${tables}${slow}
<h2>Pages as read</h2><p class="legend">${legend}</p>
<div class="pages">${pages.map(pageThumb).join('\n')}</div>
</body></html>
`;
}
