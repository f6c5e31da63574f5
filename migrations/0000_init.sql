CREATE TABLE "blocks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"document_id" uuid NOT NULL,
	"page_no" integer NOT NULL,
	"block_key" text NOT NULL,
	"reading_order" integer NOT NULL,
	"type" text NOT NULL,
	"text" text NOT NULL,
	"level" integer,
	"font_size" double precision,
	"bold" boolean,
	"x0" double precision NOT NULL,
	"y0" double precision NOT NULL,
	"x1" double precision NOT NULL,
	"y1" double precision NOT NULL,
	"engine" text NOT NULL,
	"engine_version" text NOT NULL,
	"model" text,
	"prov_bbox" jsonb,
	"lines" jsonb DEFAULT '[]'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "documents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"sha256" text NOT NULL,
	"pipeline_version" text NOT NULL,
	"schema_version" text NOT NULL,
	"source_uri" text NOT NULL,
	"filename" text NOT NULL,
	"mime" text NOT NULL,
	"bytes" bigint NOT NULL,
	"status" text NOT NULL,
	"error_code" text,
	"error_message" text,
	"title" text,
	"page_count" integer DEFAULT 0 NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"warnings" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"blob" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pages" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"document_id" uuid NOT NULL,
	"page_no" integer NOT NULL,
	"width" double precision NOT NULL,
	"height" double precision NOT NULL,
	"rotation" integer DEFAULT 0 NOT NULL,
	"needs_ocr" boolean DEFAULT false NOT NULL,
	"image" text,
	"thumbnail" text,
	"text" text DEFAULT '' NOT NULL
);
--> statement-breakpoint
ALTER TABLE "blocks" ADD CONSTRAINT "blocks_document_id_documents_id_fk" FOREIGN KEY ("document_id") REFERENCES "public"."documents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pages" ADD CONSTRAINT "pages_document_id_documents_id_fk" FOREIGN KEY ("document_id") REFERENCES "public"."documents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "blocks_document_order_idx" ON "blocks" USING btree ("document_id","reading_order");--> statement-breakpoint
CREATE INDEX "blocks_type_idx" ON "blocks" USING btree ("type");--> statement-breakpoint
CREATE UNIQUE INDEX "documents_sha256_pipeline_uq" ON "documents" USING btree ("sha256","pipeline_version");--> statement-breakpoint
CREATE INDEX "documents_status_idx" ON "documents" USING btree ("status");--> statement-breakpoint
CREATE UNIQUE INDEX "pages_document_page_uq" ON "pages" USING btree ("document_id","page_no");