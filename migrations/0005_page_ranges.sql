CREATE TABLE "page_ranges" (
	"fanout" text NOT NULL,
	"from_page" integer NOT NULL,
	"to_page" integer NOT NULL,
	"sha256" text NOT NULL,
	"pipeline_version" text NOT NULL,
	"ranges" integer NOT NULL,
	"part" jsonb,
	"completer" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "page_ranges_fanout_from_uq" ON "page_ranges" USING btree ("fanout","from_page");--> statement-breakpoint
CREATE INDEX "page_ranges_sha256_idx" ON "page_ranges" USING btree ("sha256","pipeline_version");