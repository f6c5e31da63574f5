-- Views over tables / table_cells (hand-written; drizzle-kit does not manage views).
--
-- table_series(lo, hi): the integers lo..hi. generate_series itself would do, but the planner
-- guesses 1000 rows for each call with non-constant bounds, so a query on these views is costed at
-- millions of rows and PostgreSQL JIT-compiles it (half a second for a 4-row answer). A STRICT SQL
-- function is never inlined, so its ROWS estimate stands.
CREATE FUNCTION "table_series"(lo integer, hi integer) RETURNS SETOF integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 8
AS 'SELECT generate_series(lo, hi)';
--> statement-breakpoint
-- table_grid: one row per grid position covered by a cell (a spanning cell gives one row for every
-- position it covers; positions no cell covers give none).
CREATE VIEW "table_grid" AS
SELECT c.table_id, c.document_id,
       r.i AS row_no, k.i AS col_no,
       c.id AS cell_id, c.row_no AS cell_row, c.col_no AS cell_col,
       c.text, c.value_type, c.value_num, c.value_text, c.header, c.page
FROM table_cells c
CROSS JOIN LATERAL table_series(c.row_no, c.row_no + c.row_span - 1) AS r(i)
CROSS JOIN LATERAL table_series(c.col_no, c.col_no + c.col_span - 1) AS k(i);
--> statement-breakpoint
-- table_columns: one row per table column with its name. header_text is the texts of the header
-- rows' cells that cover the column (a header cell spanning columns covers each), top to bottom,
-- joined with ' ', whitespace runs made one space, trimmed. name is header_text, or col_N (1-based)
-- when that is empty, with _2, _3, ... added to the second, third, ... column of the same name.
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
             btrim(regexp_replace(coalesce((
               SELECT string_agg(c.text, ' ' ORDER BY c.row_no, c.col_no)
               FROM table_cells c
               WHERE c.table_id = t.id
                 AND c.row_no < t.header_rows
                 AND c.col_no <= s.col_no AND s.col_no < c.col_no + c.col_span
             ), ''), '[ \t\n\r\f\v\u00a0\u2007\u2009\u202f]+', ' ', 'g')) AS header_text
      FROM tables t
      CROSS JOIN LATERAL table_series(0, t.col_count - 1) AS s(col_no)
    ) x
  ) h
) n;
--> statement-breakpoint
-- table_rows: one row per body row (row_no >= header_rows) of every table. data: column name ->
-- the text of the cell covering that position ('' where none); values: column name -> its typed
-- value (number, percent as a fraction, currency amount: JSON numbers; date: 'yyyy-mm-dd'), null
-- where the cell has none.
--   select data->>'Total' from table_rows where table_id = $1 order by row_no
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
