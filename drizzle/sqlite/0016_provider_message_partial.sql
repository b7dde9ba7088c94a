-- A delivery joins the receipt lookup's index once its provider accepted it and gave it a message id,
-- not also when it is written without one (every start wrote that entry, then moved it).
DROP INDEX `deliveries_provider_message`;
--> statement-breakpoint
CREATE INDEX `deliveries_provider_message` ON `deliveries` (`provider`,`provider_message_id`) WHERE provider_message_id is not null;
