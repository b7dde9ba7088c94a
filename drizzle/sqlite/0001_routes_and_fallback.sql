ALTER TABLE `deliveries` ADD `fallback_at` integer;--> statement-breakpoint
CREATE INDEX `deliveries_fallback_due` ON `deliveries` (`fallback_at`) WHERE fallback_at is not null;--> statement-breakpoint
ALTER TABLE `services` ADD `country_routes` text DEFAULT '{}' NOT NULL;