CREATE TABLE "frames" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"document_id" uuid NOT NULL,
	"frame_no" integer NOT NULL,
	"page_no" integer NOT NULL,
	"t" double precision NOT NULL,
	"hash" text NOT NULL,
	"image" text
);
--> statement-breakpoint
ALTER TABLE "frames" ADD CONSTRAINT "frames_document_id_documents_id_fk" FOREIGN KEY ("document_id") REFERENCES "public"."documents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "frames_document_no_uq" ON "frames" USING btree ("document_id","frame_no");--> statement-breakpoint
CREATE INDEX "frames_document_page_idx" ON "frames" USING btree ("document_id","page_no");--> statement-breakpoint
CREATE VIEW "frame_blocks" AS SELECT f.document_id, f.frame_no, f.t, f.hash, f.image, b.id AS block_id, b.type, b.text, b.reading_order FROM frames f LEFT JOIN blocks b ON b.document_id = f.document_id AND b.page_no = f.page_no;
