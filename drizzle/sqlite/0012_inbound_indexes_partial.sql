DROP INDEX `verifications_inbound_pending`;--> statement-breakpoint
DROP INDEX `verifications_inbound_code`;--> statement-breakpoint
CREATE UNIQUE INDEX `verifications_inbound_pending` ON `verifications` (`inbound_code_hash`) WHERE status = 'pending' and inbound_code_hash is not null;--> statement-breakpoint
CREATE INDEX `verifications_inbound_code` ON `verifications` (`inbound_code_hash`) WHERE inbound_code_hash is not null;