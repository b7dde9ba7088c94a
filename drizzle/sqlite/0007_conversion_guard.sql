CREATE TABLE `abuse_blocks` (
	`id` text PRIMARY KEY NOT NULL,
	`scope` text NOT NULL,
	`key` text NOT NULL,
	`reason` text NOT NULL,
	`sends` integer NOT NULL,
	`approvals` integer NOT NULL,
	`mode` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`lifted_at` integer
);
--> statement-breakpoint
CREATE INDEX `abuse_blocks_active` ON `abuse_blocks` (`expires_at`) WHERE lifted_at is null;--> statement-breakpoint
CREATE INDEX `abuse_blocks_key` ON `abuse_blocks` (`scope`,`key`);--> statement-breakpoint
CREATE TABLE `conversion_counts` (
	`scope` text NOT NULL,
	`key` text NOT NULL,
	`bucket_start` integer NOT NULL,
	`sends` integer DEFAULT 0 NOT NULL,
	`approvals` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`scope`, `key`, `bucket_start`)
);
--> statement-breakpoint
CREATE INDEX `conversion_counts_bucket` ON `conversion_counts` (`bucket_start`);