// What a vision-language model is asked to answer, per task. Each schema is sent to the model as
// its JSON Schema (constrained decoding: the model can emit nothing else) and every answer is
// checked against it again before folio uses it. Bounds on every string, array and number keep
// the grammar finite and a runaway answer short.
import { z } from 'zod';
import { BlockType } from './document.ts';

/** Box in the model's coordinates (see the model profile: 0..1000 of the image, or its pixels). */
const ModelBox = z.object({
  x0: z.number().int().min(0).max(10_000),
  y0: z.number().int().min(0).max(10_000),
  x1: z.number().int().min(0).max(10_000),
  y1: z.number().int().min(0).max(10_000),
});

export const PageAnswer = z.object({
  blocks: z
    .array(
      z.object({
        type: BlockType,
        box: ModelBox,
        text: z.string().max(4000),
      }),
    )
    .max(200)
    .describe('The blocks of the page in reading order'),
});
export type PageAnswer = z.infer<typeof PageAnswer>;

export const TableAnswer = z.object({
  caption: z.string().max(500),
  headerRows: z.number().int().min(0).max(20),
  cells: z
    .array(
      z.object({
        row: z.number().int().min(0).max(999),
        col: z.number().int().min(0).max(199),
        rowSpan: z.number().int().min(1).max(1000),
        colSpan: z.number().int().min(1).max(200),
        text: z.string().max(1000),
      }),
    )
    .max(5000),
});
export type TableAnswer = z.infer<typeof TableAnswer>;

export const ChartType = z.enum(['bar', 'line', 'pie', 'scatter', 'area', 'other', 'not_a_chart']);

const Axis = z.object({ title: z.string().max(300), unit: z.string().max(50) });

export const ChartAnswer = z.object({
  chartType: ChartType,
  title: z.string().max(500),
  xAxis: Axis,
  yAxis: Axis,
  series: z
    .array(
      z.object({
        name: z.string().max(300),
        points: z.array(z.object({ x: z.string().max(200), y: z.number() })).max(1000),
      }),
    )
    .max(50),
});
export type ChartAnswer = z.infer<typeof ChartAnswer>;

export const VLM_TASKS = { page: PageAnswer, table: TableAnswer, chart: ChartAnswer } as const;
export type VlmTask = keyof typeof VLM_TASKS | 'extract';

/** The JSON Schema sent as `response_format` for a task. */
export function taskJsonSchema(task: keyof typeof VLM_TASKS): Record<string, unknown> {
  const s = z.toJSONSchema(VLM_TASKS[task], { target: 'draft-2020-12' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}
