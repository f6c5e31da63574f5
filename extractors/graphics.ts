// What a page paints besides text, from pdf.js's operator list in one pass: images, filled shapes
// and axis-aligned rules (stroked lines, edges of stroked rectangles, thin filled rectangles).
// Everything is returned in display space (points, origin top-left, after /Rotate).
import type { BBox } from '../schemas/document.ts';
import { pdfjs } from './pdfjs.ts';

type Matrix = number[];
const mul = (m1: Matrix, m2: Matrix): Matrix => pdfjs.Util.transform(m1, m2) as Matrix;
const apply = (m: Matrix, x: number, y: number): [number, number] => [m[0]! * x + m[2]! * y + m[4]!, m[1]! * x + m[3]! * y + m[5]!];

/** An axis-aligned rule: horizontal (y fixed, x0..x1) or vertical (x fixed, y0..y1). */
export interface Segment {
  dir: 'h' | 'v';
  /** y of a horizontal rule, x of a vertical one. */
  pos: number;
  from: number;
  to: number;
}

export interface Shape {
  bbox: BBox;
  /** Fill colour as #rrggbb (fills only). */
  fill?: string;
  stroked: boolean;
}

export interface PageGraphics {
  images: BBox[];
  /** Filled shapes that are not thin rules (backgrounds, bars, figure parts). */
  fills: Shape[];
  segments: Segment[];
}

/** Rectangles thinner than this (points) are rules, not areas. */
const RULE_MAX = 2.5;

export function pageGraphics(ops: { fnArray: number[]; argsArray: unknown[] }, view: Matrix, width: number, height: number): PageGraphics {
  const O = pdfjs.OPS;
  const paintImage = new Set<number>(
    [O.paintImageXObject, O.paintInlineImageXObject, O.paintImageMaskXObject, O.paintImageXObjectRepeat, O.paintInlineImageXObjectGroup, O.paintImageMaskXObjectGroup].filter(
      (x) => typeof x === 'number',
    ),
  );
  const strokeOps = new Set<number>([O.stroke, O.closeStroke, O.fillStroke, O.eoFillStroke, O.closeFillStroke, O.closeEOFillStroke]);
  const fillOps = new Set<number>([O.fill, O.eoFill, O.fillStroke, O.eoFillStroke, O.closeFillStroke, O.closeEOFillStroke]);
  interface State {
    ctm: Matrix;
    fill: string;
    stroke: string;
    lineWidth: number;
  }
  let st: State = { ctm: [1, 0, 0, 1, 0, 0], fill: '#000000', stroke: '#000000', lineWidth: 1 };
  const stack: State[] = [];
  const out: PageGraphics = { images: [], fills: [], segments: [] };
  const clip = (b: BBox): BBox | undefined => {
    const c = { x0: Math.max(0, b.x0), y0: Math.max(0, b.y0), x1: Math.min(width, b.x1), y1: Math.min(height, b.y1) };
    return c.x1 >= c.x0 && c.y1 >= c.y0 ? c : undefined;
  };
  const boxOf = (pts: [number, number][]): BBox => ({
    x0: Math.min(...pts.map((p) => p[0])),
    y0: Math.min(...pts.map((p) => p[1])),
    x1: Math.max(...pts.map((p) => p[0])),
    y1: Math.max(...pts.map((p) => p[1])),
  });
  const addSegment = (a: [number, number], b: [number, number], tol: number) => {
    if (Math.abs(a[1] - b[1]) <= tol) {
      const from = Math.max(0, Math.min(a[0], b[0]));
      const to = Math.min(width, Math.max(a[0], b[0]));
      if (to - from > 1) out.segments.push({ dir: 'h', pos: (a[1] + b[1]) / 2, from, to });
    } else if (Math.abs(a[0] - b[0]) <= tol) {
      const from = Math.max(0, Math.min(a[1], b[1]));
      const to = Math.min(height, Math.max(a[1], b[1]));
      if (to - from > 1) out.segments.push({ dir: 'v', pos: (a[0] + b[0]) / 2, from, to });
    }
  };

  for (let i = 0; i < ops.fnArray.length; i++) {
    const fn = ops.fnArray[i]!;
    const args = ops.argsArray[i] as unknown[] | null;
    switch (fn) {
      case O.save:
        stack.push({ ...st });
        break;
      case O.restore:
        st = stack.pop() ?? st;
        break;
      case O.transform:
        if (args) st.ctm = mul(st.ctm, args as Matrix);
        break;
      case O.paintFormXObjectBegin: {
        stack.push({ ...st });
        const m = args?.[0] as Matrix | null | undefined;
        if (m && m.length === 6) st.ctm = mul(st.ctm, Array.from(m));
        break;
      }
      case O.paintFormXObjectEnd:
        st = stack.pop() ?? st;
        break;
      case O.setFillRGBColor:
        if (typeof args?.[0] === 'string') st.fill = args[0];
        break;
      case O.setStrokeRGBColor:
        if (typeof args?.[0] === 'string') st.stroke = args[0];
        break;
      case O.setLineWidth:
        if (typeof args?.[0] === 'number') st.lineWidth = args[0];
        break;
      case O.constructPath: {
        const paint = args?.[0] as number;
        const buf = (args?.[1] as (Float32Array | null)[] | undefined)?.[0];
        if (!buf || buf.length === 0) break;
        const m = mul(view, st.ctm);
        const stroked = strokeOps.has(paint);
        const filled = fillOps.has(paint);
        if (!stroked && !filled) break; // clipping paths and n: nothing is painted
        // Walk the path: polygons of display points, one per subpath.
        const subpaths: [number, number][][] = [];
        let cur: [number, number][] = [];
        let curved = false;
        for (let k = 0; k < buf.length; ) {
          const op = buf[k++]!;
          if (op === 0) {
            if (cur.length) subpaths.push(cur);
            cur = [apply(m, buf[k]!, buf[k + 1]!)];
            k += 2;
          } else if (op === 1) {
            cur.push(apply(m, buf[k]!, buf[k + 1]!));
            k += 2;
          } else if (op === 2) {
            curved = true;
            cur.push(apply(m, buf[k + 4]!, buf[k + 5]!));
            k += 6;
          } else if (op === 3) {
            curved = true;
            cur.push(apply(m, buf[k + 2]!, buf[k + 3]!));
            k += 4;
          } else if (op === 4) {
            if (cur.length) cur.push(cur[0]!);
          } else break;
        }
        if (cur.length) subpaths.push(cur);
        const scale = Math.hypot(m[0]!, m[1]!) || 1;
        const lw = Math.max(st.lineWidth * scale, 0.1);
        for (const sp of subpaths) {
          if (sp.length < 2) continue;
          const b = boxOf(sp);
          const thin = Math.min(b.x1 - b.x0, b.y1 - b.y0) <= RULE_MAX;
          if (filled && thin && !curved && !isWhite(st.fill)) {
            // A thin filled rectangle is drawn as a rule.
            if (b.x1 - b.x0 >= b.y1 - b.y0) addSegment([b.x0, (b.y0 + b.y1) / 2], [b.x1, (b.y0 + b.y1) / 2], RULE_MAX);
            else addSegment([(b.x0 + b.x1) / 2, b.y0], [(b.x0 + b.x1) / 2, b.y1], RULE_MAX);
            continue;
          }
          if (stroked && !curved && !isWhite(st.stroke)) {
            for (let k = 1; k < sp.length; k++) addSegment(sp[k - 1]!, sp[k]!, Math.max(0.5, lw / 2));
          }
          if (filled && !thin) {
            const c = clip(b);
            if (c) out.fills.push({ bbox: c, fill: st.fill, stroked });
          } else if (stroked && curved) {
            const c = clip(b);
            if (c) out.fills.push({ bbox: c, stroked: true });
          }
        }
        break;
      }
      default:
        if (paintImage.has(fn)) {
          const m = mul(view, st.ctm);
          const c = clip(boxOf([apply(m, 0, 0), apply(m, 1, 0), apply(m, 0, 1), apply(m, 1, 1)]));
          if (c && c.x1 > c.x0 && c.y1 > c.y0) out.images.push(c);
        }
    }
  }
  return out;
}

export function isWhite(hex: string | undefined): boolean {
  if (!hex || !/^#[0-9a-f]{6}$/i.test(hex)) return false;
  const v = parseInt(hex.slice(1), 16);
  return ((v >> 16) & 255) > 240 && ((v >> 8) & 255) > 240 && (v & 255) > 240;
}
