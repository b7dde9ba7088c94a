import type { AdapterType } from "./registry.js";

/** Provider adapters selectable with `"type"` in the config file's `providers`. */
export const ADAPTER_TYPES: Record<string, AdapterType> = {};
