CREATE TABLE `conversion_history` (
	`scope` text NOT NULL,
	`key` text NOT NULL,
	`last_approved_at` integer,
	`blocked_until` integer,
	PRIMARY KEY(`scope`, `key`)
);
--> statement-breakpoint
ALTER TABLE `abuse_blocks` ADD `repeat` integer DEFAULT 1 NOT NULL;