import { VerifydError } from "./errors.js";
import type { Channel, RouteStep, Service } from "./model.js";

/**
 * The route of a new verification: the destination country's route if the service has one,
 * else the service's default; narrowed and ordered by the channels the request prefers. Channels
 * the route has no step for are refused (`channel_not_in_route`); a route without any provider is
 * `channel_unavailable`.
 * @example chooseRoute(service, "IN", ["whatsapp", "sms"])
 */
export function chooseRoute(service: Service, country: string | null, preferred?: readonly Channel[]): RouteStep[] {
  const base = (country ? service.countryRoutes[country] : undefined) ?? service.route;
  const route = preferred?.length ? preferred.flatMap((channel) => base.filter((step) => step.channel === channel)) : base;
  const usable = route.filter((step) => step.providers.length > 0);
  const to = country ? ` to ${country}` : "";
  // Channels the route has no step for: the caller's choice, which no retry changes.
  const carried = [...new Set(base.filter((step) => step.providers.length > 0).map((step) => step.channel))];
  if (preferred?.length && route.length === 0 && carried.length > 0) {
    throw new VerifydError(
      "channel_not_in_route",
      `the route${to} has no ${preferred.join(" or ")} step; it carries ${carried.join(", ")}`,
    );
  }
  if (usable.length === 0) {
    const wanted = preferred?.length ? ` for ${preferred.join(", ")}` : "";
    throw new VerifydError("channel_unavailable", `no delivery route is configured${wanted}${to}`);
  }
  return usable;
}
