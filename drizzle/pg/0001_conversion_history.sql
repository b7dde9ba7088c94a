CREATE TABLE "conversion_history" (
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"last_approved_at" bigint,
	"blocked_until" bigint,
	CONSTRAINT "conversion_history_scope_key_pk" PRIMARY KEY("scope","key")
);
--> statement-breakpoint
ALTER TABLE "abuse_blocks" ADD COLUMN "repeat" integer DEFAULT 1 NOT NULL;