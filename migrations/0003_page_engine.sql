ALTER TABLE "pages" ADD COLUMN "engine" text DEFAULT 'pdf-text' NOT NULL;--> statement-breakpoint
ALTER TABLE "pages" ADD COLUMN "reader" jsonb;--> statement-breakpoint
-- Pages stored before the engine column: a page without a usable text layer was read by nothing.
UPDATE "pages" SET "engine" = 'none' WHERE "needs_ocr";
