CREATE TABLE "channel_memory" (
	"destination" text NOT NULL,
	"channel" text NOT NULL,
	"outcome" text NOT NULL,
	"at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	CONSTRAINT "channel_memory_destination_channel_pk" PRIMARY KEY("destination","channel")
);
--> statement-breakpoint
CREATE TABLE "price_tables" (
	"version" integer PRIMARY KEY NOT NULL,
	"fingerprint" text NOT NULL,
	"valid_from" bigint NOT NULL,
	"document" jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX "channel_memory_expires" ON "channel_memory" USING btree ("expires_at");