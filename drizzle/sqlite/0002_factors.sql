CREATE TABLE `factors` (
	`id` text PRIMARY KEY NOT NULL,
	`service_id` text NOT NULL,
	`entity_id` text NOT NULL,
	`label` text,
	`sealed_secret` blob NOT NULL,
	`digits` integer NOT NULL,
	`period` integer NOT NULL,
	`status` text NOT NULL,
	`last_step` integer,
	`failed_attempts` integer DEFAULT 0 NOT NULL,
	`locked_until` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`service_id`) REFERENCES `services`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `factors_entity` ON `factors` (`service_id`,`entity_id`);