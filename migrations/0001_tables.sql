CREATE TABLE "table_cells" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"table_id" uuid NOT NULL,
	"document_id" uuid NOT NULL,
	"cell_no" integer NOT NULL,
	"row_no" integer NOT NULL,
	"col_no" integer NOT NULL,
	"row_span" integer DEFAULT 1 NOT NULL,
	"col_span" integer DEFAULT 1 NOT NULL,
	"text" text NOT NULL,
	"value_type" text,
	"value_num" double precision,
	"value_text" text,
	"header" boolean DEFAULT false NOT NULL,
	"page" integer NOT NULL,
	"x0" double precision NOT NULL,
	"y0" double precision NOT NULL,
	"x1" double precision NOT NULL,
	"y1" double precision NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tables" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"document_id" uuid NOT NULL,
	"table_key" text NOT NULL,
	"table_no" integer NOT NULL,
	"method" text NOT NULL,
	"row_count" integer NOT NULL,
	"col_count" integer NOT NULL,
	"header_rows" integer NOT NULL,
	"page" integer NOT NULL,
	"x0" double precision NOT NULL,
	"y0" double precision NOT NULL,
	"x1" double precision NOT NULL,
	"y1" double precision NOT NULL,
	"regions" jsonb NOT NULL,
	"row_pages" jsonb NOT NULL,
	"rows" jsonb NOT NULL,
	"engine" text NOT NULL,
	"engine_version" text NOT NULL,
	"model" text,
	"prov_page" integer,
	"prov_bbox" jsonb
);
--> statement-breakpoint
ALTER TABLE "blocks" ADD COLUMN "table_key" text;--> statement-breakpoint
ALTER TABLE "table_cells" ADD CONSTRAINT "table_cells_table_id_tables_id_fk" FOREIGN KEY ("table_id") REFERENCES "public"."tables"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "table_cells" ADD CONSTRAINT "table_cells_document_id_documents_id_fk" FOREIGN KEY ("document_id") REFERENCES "public"."documents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tables" ADD CONSTRAINT "tables_document_id_documents_id_fk" FOREIGN KEY ("document_id") REFERENCES "public"."documents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "table_cells_table_pos_idx" ON "table_cells" USING btree ("table_id","row_no","col_no");--> statement-breakpoint
CREATE INDEX "table_cells_document_idx" ON "table_cells" USING btree ("document_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tables_document_key_uq" ON "tables" USING btree ("document_id","table_key");--> statement-breakpoint
CREATE UNIQUE INDEX "tables_document_no_uq" ON "tables" USING btree ("document_id","table_no");