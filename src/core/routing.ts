import { VerifydError } from "./errors.js";
import type { Channel, RouteStep, Service } from "./model.js";

/**
 * The route of a new verification: the destination country's route if the service has one,
 * else the service's default; narrowed and ordered by the channels the request prefers.
 * @example chooseRoute(service, "IN", ["whatsapp", "sms"])
 */
export function chooseRoute(service: Service, country: string | null, preferred?: readonly Channel[]): RouteStep[] {
  const base = (country ? service.countryRoutes[country] : undefined) ?? service.route;
  const route = preferred?.length ? preferred.flatMap((channel) => base.filter((step) => step.channel === channel)) : base;
  const usable = route.filter((step) => step.providers.length > 0);
  if (usable.length === 0) {
    const wanted = preferred?.length ? ` for ${preferred.join(", ")}` : "";
    throw new VerifydError("channel_unavailable", `no delivery route is configured${wanted}${country ? ` to ${country}` : ""}`);
  }
  return usable;
}
