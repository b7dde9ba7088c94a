-- The limiter's counters and the conversion guard's counters and history, keyed by their primary
-- keys alone (WITHOUT ROWID): a row is then one B-tree entry rather than a table row plus a primary
-- key index entry, and every start upserts four limiter rows and three conversion counters.
-- The old tables' pages are zeroed as they are freed: a database from before numbers were sealed
-- holds numbers in clear in them (the sealing that follows the migrations scrubs only the new ones).
PRAGMA secure_delete = ON;
--> statement-breakpoint
CREATE TABLE `__new_rate_limits` (
	`key` text PRIMARY KEY NOT NULL,
	`points` integer DEFAULT 0 NOT NULL,
	`expire` integer
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_rate_limits` (`key`, `points`, `expire`) SELECT `key`, `points`, `expire` FROM `rate_limits`;
--> statement-breakpoint
DROP TABLE `rate_limits`;
--> statement-breakpoint
ALTER TABLE `__new_rate_limits` RENAME TO `rate_limits`;
--> statement-breakpoint
CREATE TABLE `__new_conversion_counts` (
	`scope` text NOT NULL,
	`key` text NOT NULL,
	`bucket_start` integer NOT NULL,
	`sends` integer DEFAULT 0 NOT NULL,
	`approvals` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`scope`, `key`, `bucket_start`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_conversion_counts` (`scope`, `key`, `bucket_start`, `sends`, `approvals`)
	SELECT `scope`, `key`, `bucket_start`, `sends`, `approvals` FROM `conversion_counts`;
--> statement-breakpoint
DROP TABLE `conversion_counts`;
--> statement-breakpoint
ALTER TABLE `__new_conversion_counts` RENAME TO `conversion_counts`;
--> statement-breakpoint
CREATE INDEX `conversion_counts_bucket` ON `conversion_counts` (`bucket_start`);
--> statement-breakpoint
CREATE TABLE `__new_conversion_history` (
	`scope` text NOT NULL,
	`key` text NOT NULL,
	`last_approved_at` integer,
	`blocked_until` integer,
	PRIMARY KEY(`scope`, `key`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_conversion_history` (`scope`, `key`, `last_approved_at`, `blocked_until`)
	SELECT `scope`, `key`, `last_approved_at`, `blocked_until` FROM `conversion_history`;
--> statement-breakpoint
DROP TABLE `conversion_history`;
--> statement-breakpoint
ALTER TABLE `__new_conversion_history` RENAME TO `conversion_history`;
--> statement-breakpoint
-- Back to this driver's default (off).
PRAGMA secure_delete = OFF;
