ALTER TABLE "tables" ADD COLUMN "caption" text;--> statement-breakpoint
-- Column names: stacked header rows joined with ' / ' ("Sales / 2023"), so that a key reads as the
-- headers a person sees; each header cell's whitespace runs made one space, empty ones left out.
DROP VIEW "table_rows";
--> statement-breakpoint
DROP VIEW "table_columns";
--> statement-breakpoint
CREATE VIEW "table_columns" AS
SELECT n.table_id, n.document_id, n.col_no,
       CASE WHEN n.dup = 1 THEN n.base ELSE n.base || '_' || n.dup END AS name,
       n.header_text
FROM (
  SELECT h.table_id, h.document_id, h.col_no, h.header_text, h.base,
         row_number() OVER (PARTITION BY h.table_id, h.base ORDER BY h.col_no) AS dup
  FROM (
    SELECT x.table_id, x.document_id, x.col_no, x.header_text,
           coalesce(nullif(x.header_text, ''), 'col_' || (x.col_no + 1)) AS base
    FROM (
      SELECT t.id AS table_id, t.document_id, s.col_no,
             coalesce((
               SELECT string_agg(f.text, ' / ' ORDER BY f.row_no, f.col_no)
               FROM (
                 SELECT c.row_no, c.col_no,
                        btrim(regexp_replace(c.text, '[ \t\n\r\f\v\u00a0\u2007\u2009\u202f]+', ' ', 'g')) AS text
                 FROM table_cells c
                 WHERE c.table_id = t.id
                   AND c.row_no < t.header_rows
                   AND c.col_no <= s.col_no AND s.col_no < c.col_no + c.col_span
               ) f
               WHERE f.text <> ''
             ), '') AS header_text
      FROM tables t
      CROSS JOIN LATERAL table_series(0, t.col_count - 1) AS s(col_no)
    ) x
  ) h
) n;
--> statement-breakpoint
CREATE VIEW "table_rows" AS
SELECT t.id AS table_id, t.document_id, r.row_no,
       (t.row_pages ->> r.row_no)::integer AS page,
       jsonb_object_agg(k.name, coalesce(g.text, '') ORDER BY k.col_no) AS data,
       jsonb_object_agg(k.name, CASE WHEN g.value_type = 'date' THEN to_jsonb(g.value_text)
                                     WHEN g.value_type IS NOT NULL THEN to_jsonb(g.value_num) END
                        ORDER BY k.col_no) AS "values"
FROM tables t
CROSS JOIN LATERAL table_series(t.header_rows, t.row_count - 1) AS r(row_no)
JOIN table_columns k ON k.table_id = t.id
LEFT JOIN table_grid g ON g.table_id = t.id AND g.row_no = r.row_no AND g.col_no = k.col_no
GROUP BY t.id, t.document_id, r.row_no, t.row_pages;
