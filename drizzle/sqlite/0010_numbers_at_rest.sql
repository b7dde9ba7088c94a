CREATE TABLE `vault_state` (
	`id` integer PRIMARY KEY NOT NULL,
	`key_check` blob NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `idempotency_keys` ADD `verification_id` text;--> statement-breakpoint
ALTER TABLE `opt_outs` ADD `phone_sealed` blob;--> statement-breakpoint
ALTER TABLE `verifications` ADD `to_sealed` blob;--> statement-breakpoint
ALTER TABLE `verifications` ADD `verified_number_sealed` blob;