ALTER TABLE `events` ADD `service_id` text;--> statement-breakpoint
ALTER TABLE `events` ADD `last_error` text;--> statement-breakpoint
CREATE INDEX `events_listing` ON `events` (`status`,`created_at`);--> statement-breakpoint
ALTER TABLE `services` ADD `webhook_url` text;--> statement-breakpoint
ALTER TABLE `services` ADD `webhook_secret_sealed` blob;--> statement-breakpoint
UPDATE `events` SET `status` = 'dead' WHERE `status` = 'failed';--> statement-breakpoint
UPDATE `events` SET `service_id` = json_extract(`payload`, '$.data.service_id') WHERE `service_id` IS NULL;
