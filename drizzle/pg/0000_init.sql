CREATE TABLE "abuse_blocks" (
	"id" text PRIMARY KEY NOT NULL,
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"key_sealed" text,
	"reason" text NOT NULL,
	"sends" integer NOT NULL,
	"approvals" integer NOT NULL,
	"mode" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"lifted_at" bigint
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"service_id" text,
	"label" text NOT NULL,
	"prefix" text NOT NULL,
	"secret_hash" "bytea" NOT NULL,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint,
	"last_used_at" bigint
);
--> statement-breakpoint
CREATE TABLE "conversion_counts" (
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"bucket_start" bigint NOT NULL,
	"sends" integer DEFAULT 0 NOT NULL,
	"approvals" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "conversion_counts_scope_key_bucket_start_pk" PRIMARY KEY("scope","key","bucket_start")
);
--> statement-breakpoint
CREATE TABLE "deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"verification_id" text NOT NULL,
	"step" integer NOT NULL,
	"channel" text NOT NULL,
	"provider" text NOT NULL,
	"status" text NOT NULL,
	"provider_message_id" text,
	"error_code" text,
	"error_message" text,
	"tries" integer DEFAULT 0 NOT NULL,
	"next_try_at" bigint,
	"lease_until" bigint,
	"fallback_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"service_id" text,
	"payload" text NOT NULL,
	"status" text NOT NULL,
	"tries" integer DEFAULT 0 NOT NULL,
	"next_try_at" bigint,
	"last_error" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "factors" (
	"id" text PRIMARY KEY NOT NULL,
	"service_id" text NOT NULL,
	"entity_id" text NOT NULL,
	"label" text,
	"sealed_secret" "bytea" NOT NULL,
	"digits" integer NOT NULL,
	"period" integer NOT NULL,
	"status" text NOT NULL,
	"last_step" bigint,
	"failed_attempts" integer DEFAULT 0 NOT NULL,
	"locked_until" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"service_id" text NOT NULL,
	"key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"response_status" integer,
	"response_body" text,
	"verification_id" text,
	"created_at" bigint NOT NULL,
	CONSTRAINT "idempotency_keys_service_id_key_pk" PRIMARY KEY("service_id","key")
);
--> statement-breakpoint
CREATE TABLE "opt_outs" (
	"phone" text NOT NULL,
	"phone_sealed" "bytea",
	"channel" text NOT NULL,
	"source" text NOT NULL,
	"keyword" text,
	"created_at" bigint NOT NULL,
	CONSTRAINT "opt_outs_phone_channel_pk" PRIMARY KEY("phone","channel")
);
--> statement-breakpoint
CREATE TABLE "rate_limits" (
	"key" varchar(255) PRIMARY KEY NOT NULL,
	"points" integer DEFAULT 0 NOT NULL,
	"expire" bigint
);
--> statement-breakpoint
CREATE TABLE "services" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"policy" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"route" jsonb NOT NULL,
	"country_routes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"webhook_url" text,
	"webhook_secret_sealed" "bytea"
);
--> statement-breakpoint
CREATE TABLE "vault_state" (
	"id" integer PRIMARY KEY NOT NULL,
	"key_check" "bytea" NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "verifications" (
	"id" text PRIMARY KEY NOT NULL,
	"service_id" text NOT NULL,
	"to_number" text NOT NULL,
	"to_sealed" "bytea",
	"country" text,
	"status" text NOT NULL,
	"code_hash" "bytea",
	"sealed_code" "bytea",
	"route" jsonb NOT NULL,
	"current_step" integer DEFAULT 0 NOT NULL,
	"sends" integer NOT NULL,
	"checks" integer DEFAULT 0 NOT NULL,
	"max_checks" integer NOT NULL,
	"max_sends" integer NOT NULL,
	"client_ip" text,
	"locale" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"last_sent_at" bigint NOT NULL,
	"approved_at" bigint,
	"inbound_channels" jsonb,
	"inbound_code_hash" "bytea",
	"verified_number" text,
	"amount" text,
	"payee" text,
	"test" boolean DEFAULT false NOT NULL,
	"verified_number_sealed" "bytea"
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_verification_id_verifications_id_fk" FOREIGN KEY ("verification_id") REFERENCES "public"."verifications"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "factors" ADD CONSTRAINT "factors_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verifications" ADD CONSTRAINT "verifications_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "abuse_blocks_active" ON "abuse_blocks" USING btree ("expires_at") WHERE lifted_at is null;--> statement-breakpoint
CREATE INDEX "abuse_blocks_key" ON "abuse_blocks" USING btree ("scope","key");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_secret_hash" ON "api_keys" USING btree ("secret_hash");--> statement-breakpoint
CREATE INDEX "conversion_counts_bucket" ON "conversion_counts" USING btree ("bucket_start");--> statement-breakpoint
CREATE INDEX "deliveries_verification" ON "deliveries" USING btree ("verification_id");--> statement-breakpoint
CREATE INDEX "deliveries_due" ON "deliveries" USING btree ("next_try_at") WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX "deliveries_leased" ON "deliveries" USING btree ("lease_until") WHERE status = 'sending';--> statement-breakpoint
CREATE INDEX "deliveries_provider_message" ON "deliveries" USING btree ("provider","provider_message_id");--> statement-breakpoint
CREATE INDEX "deliveries_fallback_due" ON "deliveries" USING btree ("fallback_at") WHERE fallback_at is not null;--> statement-breakpoint
CREATE INDEX "events_due" ON "events" USING btree ("next_try_at") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "events_listing" ON "events" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "factors_entity" ON "factors" USING btree ("service_id","entity_id");--> statement-breakpoint
CREATE INDEX "idempotency_created" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "opt_outs_created" ON "opt_outs" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "verifications_one_pending" ON "verifications" USING btree ("service_id","to_number") WHERE status = 'pending' and inbound_channels is null;--> statement-breakpoint
CREATE UNIQUE INDEX "verifications_inbound_pending" ON "verifications" USING btree ("inbound_code_hash") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "verifications_inbound_code" ON "verifications" USING btree ("inbound_code_hash");--> statement-breakpoint
CREATE INDEX "verifications_destination" ON "verifications" USING btree ("service_id","to_number","created_at");--> statement-breakpoint
CREATE INDEX "verifications_pending_expiry" ON "verifications" USING btree ("expires_at") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "verifications_created" ON "verifications" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "verifications_service_created" ON "verifications" USING btree ("service_id","created_at");