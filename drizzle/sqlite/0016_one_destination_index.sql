-- One index of a destination's verifications instead of two (schema.ts, DESTINATION_ORDER): the
-- partial unique index of the live sending verification and the plain index by time become one
-- unique index, so a start writes one entry at a random place of the file instead of two.
-- The dropped indexes' pages are zeroed as they are freed: in a database from before numbers were
-- sealed they hold numbers in clear (the sealing that follows the migrations scrubs only new pages).
PRAGMA secure_delete = ON;
--> statement-breakpoint
DROP INDEX `verifications_one_pending`;
--> statement-breakpoint
DROP INDEX `verifications_destination`;
--> statement-breakpoint
CREATE UNIQUE INDEX `verifications_by_destination` ON `verifications` (`service_id`,`to_number`,(case when status = 'pending' and inbound_channels is null then 0 else created_at end),(case when status = 'pending' and inbound_channels is null then 0 end));
--> statement-breakpoint
PRAGMA secure_delete = OFF;
