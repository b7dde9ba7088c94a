import type { Service, ServiceRecord, VerificationPolicy } from "./model.js";
import { resolveSettings } from "./service-settings.js";

/** The service every admin key and the foundation's single tenant act on. */
export const DEFAULT_SERVICE_ID = "svc_default";

/** A stored service with its unset policy fields taken from the configured defaults. */
export function resolveService(record: ServiceRecord, defaults: VerificationPolicy): Service {
  const policy = { ...defaults };
  for (const [field, value] of Object.entries(record.policy) as [keyof VerificationPolicy, never][]) {
    if (value !== undefined && value !== null) policy[field] = value;
  }
  return {
    id: record.id,
    name: record.name,
    policy,
    route: record.route,
    countryRoutes: record.countryRoutes,
    settings: resolveSettings(record.settings),
  };
}
