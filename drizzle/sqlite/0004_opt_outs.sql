CREATE TABLE `opt_outs` (
	`phone` text NOT NULL,
	`channel` text NOT NULL,
	`source` text NOT NULL,
	`keyword` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`phone`, `channel`)
);
--> statement-breakpoint
CREATE INDEX `opt_outs_created` ON `opt_outs` (`created_at`);