import type { ReadinessCheck } from "./model.js";
import type { ServiceStore } from "./store/services.js";

/**
 * Every provider that a service's route (default or per country) names has a sender. A provider
 * whose circuit is open still counts as configured: an outage is the fallback's job, and
 * failing readiness for it would take the whole instance out of rotation.
 */
export async function providersReadiness(
  store: Pick<ServiceStore, "listServices">,
  configured: ReadonlySet<string>,
): Promise<ReadinessCheck> {
  const missing = new Set<string>();
  for (const service of await store.listServices()) {
    for (const step of [...service.route, ...Object.values(service.countryRoutes).flat()]) {
      for (const provider of step.providers) if (!configured.has(provider)) missing.add(provider);
    }
  }
  if (missing.size === 0) return { name: "providers", ok: true };
  return { name: "providers", ok: false, detail: `routes name unconfigured providers: ${[...missing].sort().join(", ")}` };
}
