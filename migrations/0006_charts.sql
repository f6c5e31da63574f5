CREATE TABLE "charts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"document_id" uuid NOT NULL,
	"chart_key" text NOT NULL,
	"chart_no" integer NOT NULL,
	"chart_type" text NOT NULL,
	"title" text,
	"x_axis" jsonb NOT NULL,
	"y_axis" jsonb NOT NULL,
	"series" jsonb NOT NULL,
	"page" integer NOT NULL,
	"x0" double precision NOT NULL,
	"y0" double precision NOT NULL,
	"x1" double precision NOT NULL,
	"y1" double precision NOT NULL,
	"engine" text NOT NULL,
	"engine_version" text NOT NULL,
	"model" text
);
--> statement-breakpoint
ALTER TABLE "charts" ADD CONSTRAINT "charts_document_id_documents_id_fk" FOREIGN KEY ("document_id") REFERENCES "public"."documents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "charts_document_key_uq" ON "charts" USING btree ("document_id","chart_key");--> statement-breakpoint
CREATE VIEW "chart_points" AS SELECT c.document_id, c.id AS chart_id, c.chart_key, c.title, c.chart_type, (s.ordinality - 1)::int AS series_no, s.value->>'name' AS series, (p.ordinality - 1)::int AS point_no, p.value->>'x' AS x, (p.value->>'y')::double precision AS y FROM charts c CROSS JOIN LATERAL jsonb_array_elements(c.series) WITH ORDINALITY AS s(value, ordinality) CROSS JOIN LATERAL jsonb_array_elements(s.value->'points') WITH ORDINALITY AS p(value, ordinality);
