import type { AdapterType } from "./registry.js";
import { createVonageSender, vonageConfigSchema } from "./vonage.js";

/** Provider adapters selectable with `"type"` in the config file's `providers`. */
export const ADAPTER_TYPES: Record<string, AdapterType> = {
  vonage: { schema: vonageConfigSchema, create: createVonageSender as AdapterType["create"] },
};
