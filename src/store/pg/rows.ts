import type { NumberVault } from "../../core/number-vault.js";
import { readRoute, toDelivery, toVerification } from "../sqlite/rows.js";
import type { deliveries, verifications } from "./schema.js";

/**
 * Row → domain mappings. The PostgreSQL rows have exactly the SQLite rows' shapes (same columns,
 * same TypeScript types), so the mappings are shared; these assignments make a drift a type error.
 */
export const toPgVerification: (r: typeof verifications.$inferSelect, vault: NumberVault) => ReturnType<typeof toVerification> =
  toVerification;
export const toPgDelivery: (r: typeof deliveries.$inferSelect) => ReturnType<typeof toDelivery> = toDelivery;
export { readRoute };
