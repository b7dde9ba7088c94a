import type { Destination } from "./destination.js";
import { VerifydError } from "./errors.js";
import type { Channel, ConversionReason, RouteStep, Service } from "./model.js";

/** Whether a step can carry a code to this destination: email steps to addresses, the rest to numbers of its line types. */
export function stepReaches(step: RouteStep, destination: Pick<Destination, "type" | "email">): boolean {
  if ((step.channel === "email") !== destination.email) return false;
  if (!step.lineTypes?.length) return true;
  return destination.type !== null && step.lineTypes.includes(destination.type);
}

/**
 * The route of a new verification: the destination country's route if the service has one,
 * else the service's default; only the steps that reach the destination (an address gets the email
 * steps, a number the others, each filtered by its `lineTypes`); narrowed and ordered by the
 * channels the request prefers. Channels the route has no step for are refused
 * (`channel_not_in_route`); a route without any provider is `channel_unavailable`.
 * @example chooseRoute(service, parseDestination("+4930123456"), ["voice"])
 */
export function chooseRoute(
  service: Service,
  destination: Pick<Destination, "country" | "type" | "email">,
  preferred?: readonly Channel[],
): RouteStep[] {
  const { country } = destination;
  const base = ((country ? service.countryRoutes[country] : undefined) ?? service.route).filter((step) =>
    stepReaches(step, destination),
  );
  const route = preferred?.length ? preferred.flatMap((channel) => base.filter((step) => step.channel === channel)) : base;
  const usable = route.filter((step) => step.providers.length > 0);
  const to = destination.email ? " to email addresses" : country ? ` to ${country}` : "";
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

/**
 * Channels a pumped number earns nothing from: a WhatsApp message pays no termination fee to the
 * number's carrier, and Meta bills an authentication message only when it is delivered.
 */
const UNPAID_CHANNELS: ReadonlySet<Channel> = new Set(["whatsapp"]);

/** Whether the steps from `from` on that may still be sent include an unpaid one, and, with `only`, nothing else. */
export function reachesUnpaid(route: readonly RouteStep[], from: number, only: boolean): boolean {
  const live = route.slice(from).filter((step) => !step.withheld?.length);
  const unpaid = live.filter((step) => UNPAID_CHANNELS.has(step.channel));
  return unpaid.length > 0 && (!only || unpaid.length === live.length);
}

/** The route with every step on a paying channel withheld for these reasons (see `RouteStep.withheld`). */
export function withholdPaidSteps(route: readonly RouteStep[], reasons: readonly ConversionReason[]): RouteStep[] {
  return route.map((step) => (UNPAID_CHANNELS.has(step.channel) ? step : { ...step, withheld: reasons }));
}

/** Whether the conversion guard withheld any step of this route at the start. */
export const wasWithheld = (route: readonly RouteStep[]): boolean => route.some((step) => !!step.withheld?.length);
