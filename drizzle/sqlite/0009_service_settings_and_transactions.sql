ALTER TABLE `services` ADD `settings` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `verifications` ADD `amount` text;--> statement-breakpoint
ALTER TABLE `verifications` ADD `payee` text;--> statement-breakpoint
ALTER TABLE `verifications` ADD `test` integer DEFAULT false NOT NULL;