CREATE INDEX `verifications_created` ON `verifications` (`created_at`);--> statement-breakpoint
CREATE INDEX `verifications_service_created` ON `verifications` (`service_id`,`created_at`);