CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`service_id` text,
	`label` text NOT NULL,
	`prefix` text NOT NULL,
	`secret_hash` blob NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	`last_used_at` integer,
	FOREIGN KEY (`service_id`) REFERENCES `services`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_secret_hash` ON `api_keys` (`secret_hash`);--> statement-breakpoint
CREATE TABLE `deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`verification_id` text NOT NULL,
	`step` integer NOT NULL,
	`channel` text NOT NULL,
	`provider` text NOT NULL,
	`status` text NOT NULL,
	`provider_message_id` text,
	`error_code` text,
	`error_message` text,
	`tries` integer DEFAULT 0 NOT NULL,
	`next_try_at` integer,
	`lease_until` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`verification_id`) REFERENCES `verifications`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `deliveries_verification` ON `deliveries` (`verification_id`);--> statement-breakpoint
CREATE INDEX `deliveries_due` ON `deliveries` (`next_try_at`) WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX `deliveries_leased` ON `deliveries` (`lease_until`) WHERE status = 'sending';--> statement-breakpoint
CREATE INDEX `deliveries_provider_message` ON `deliveries` (`provider`,`provider_message_id`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`service_id` text NOT NULL,
	`key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`response_status` integer,
	`response_body` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`service_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_created` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE TABLE `rate_limits` (
	`key` text PRIMARY KEY NOT NULL,
	`points` integer DEFAULT 0 NOT NULL,
	`expire` integer
);
--> statement-breakpoint
CREATE TABLE `services` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`policy` text DEFAULT '{}' NOT NULL,
	`route` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `verifications` (
	`id` text PRIMARY KEY NOT NULL,
	`service_id` text NOT NULL,
	`to_number` text NOT NULL,
	`country` text,
	`status` text NOT NULL,
	`code_hash` blob,
	`sealed_code` blob,
	`route` text NOT NULL,
	`current_step` integer DEFAULT 0 NOT NULL,
	`sends` integer NOT NULL,
	`checks` integer DEFAULT 0 NOT NULL,
	`max_checks` integer NOT NULL,
	`max_sends` integer NOT NULL,
	`client_ip` text,
	`locale` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`last_sent_at` integer NOT NULL,
	`approved_at` integer,
	FOREIGN KEY (`service_id`) REFERENCES `services`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `verifications_one_pending` ON `verifications` (`service_id`,`to_number`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `verifications_destination` ON `verifications` (`service_id`,`to_number`,`created_at`);--> statement-breakpoint
CREATE INDEX `verifications_pending_expiry` ON `verifications` (`expires_at`) WHERE status = 'pending';