CREATE TABLE `channel_memory` (
	`destination` text NOT NULL,
	`channel` text NOT NULL,
	`outcome` text NOT NULL,
	`at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`destination`, `channel`)
);
--> statement-breakpoint
CREATE INDEX `channel_memory_expires` ON `channel_memory` (`expires_at`);--> statement-breakpoint
CREATE TABLE `price_tables` (
	`version` integer PRIMARY KEY NOT NULL,
	`fingerprint` text NOT NULL,
	`valid_from` integer NOT NULL,
	`document` text NOT NULL
);
