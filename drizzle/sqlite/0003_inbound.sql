DROP INDEX `verifications_one_pending`;--> statement-breakpoint
ALTER TABLE `verifications` ADD `inbound_channels` text;--> statement-breakpoint
ALTER TABLE `verifications` ADD `inbound_code_hash` blob;--> statement-breakpoint
ALTER TABLE `verifications` ADD `verified_number` text;--> statement-breakpoint
CREATE UNIQUE INDEX `verifications_inbound_pending` ON `verifications` (`inbound_code_hash`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `verifications_inbound_code` ON `verifications` (`inbound_code_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `verifications_one_pending` ON `verifications` (`service_id`,`to_number`) WHERE status = 'pending' and inbound_channels is null;