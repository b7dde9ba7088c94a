import { addPriced, emptyTotals } from "./costs.js";
import type { Destination } from "./destination.js";
import type { RouteDecision, RouteStep, Service, StepFigures, StepPlan, StepPlanReason } from "./model.js";
import type { Clock } from "./ports.js";
import { fromMicros, type PriceVersion } from "./prices.js";
import type { ChannelMemoryStore } from "./store/channel-memory.js";
import type { CostStore } from "./store/costs.js";

/**
 * The order a new verification's route is tried in. Two things may move a configured step, and
 * neither ever drops one:
 * - a service's `route_mode` `learned`: per country, steps ordered by their cost per approval
 *   over recent history (cheapest success first), with a bounded share of starts exploring another
 *   first step; `shadow` leaves the order alone and records what `learned` would have chosen;
 * - channel memory (`VERIFYD_CHANNEL_MEMORY`): the destination's channel that last delivered goes
 *   first, one that failed last goes last.
 * Each moved step carries its reason and the figures used (`RouteStep.plan`, `decision` on the first).
 *
 * Why cost per approval orders the steps: with step i succeeding with probability pᵢ at a cost cᵢ
 * per try, the expected cost of an order is Σ cᵢ·Π_{j<i}(1−pⱼ) while the chance of success,
 * 1 − Π(1−pᵢ), is the same in any order; the sum is least with the steps sorted by cᵢ/pᵢ, which
 * is each step's cost per approval (the exchange argument of sequential search).
 */

export interface RoutePlannerLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

export interface RoutePlannerOptions {
  store: Pick<CostStore, "stepStats" | "listPriceVersions"> & Pick<ChannelMemoryStore, "recallChannels">;
  clock: Clock;
  /** Uniform in [0, 1): exploration's draws (seeded in tests). */
  random: () => number;
  /** The price table's currency; without one, a learned route has nothing to order by. */
  currency: string | null;
  /** Channel memory on when set. */
  memoryMs: number;
  learning: { windowMs: number; minTries: number; explore: number };
  logger?: RoutePlannerLogger;
}

/**
 * How long one country's history is reused before it is read again: the read scans the learning
 * window, and an order learned over days need not follow every minute.
 */
export const STATS_CACHE_MS = 10 * 60_000;

interface StepStat {
  tries: number;
  approvals: number;
  costMicros: number;
}

const stepName = (s: RouteStep) => `${s.channel}:${s.providers[0] ?? ""}`;
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

function figuresOf(stat: StepStat | undefined): StepFigures {
  const tries = stat?.tries ?? 0;
  const approvals = stat?.approvals ?? 0;
  const cost = stat?.costMicros ?? 0;
  return {
    tries,
    approvals,
    successRate: tries === 0 ? null : round4(approvals / tries),
    costPerTry: tries === 0 ? null : fromMicros(cost / tries),
    costPerApproval: approvals === 0 ? null : fromMicros(cost / approvals),
  };
}

/**
 * Expected cost per approval of trying `order` in turn (micro-units), from each step's success rate
 * and cost per try; null when a step has no history or nothing would succeed.
 */
export function expectedCostPerApproval(order: readonly RouteStep[], stats: ReadonlyMap<string, StepStat>): number | null {
  let reach = 1;
  let cost = 0;
  for (const step of order) {
    const s = stats.get(stepName(step));
    if (!s || s.tries === 0) return null;
    cost += reach * (s.costMicros / s.tries);
    reach *= 1 - s.approvals / s.tries;
  }
  return reach >= 1 ? null : cost / (1 - reach);
}

/** Wilson score upper bound (95 %) of a success rate: what a step's rate could still be. */
export function wilsonUpper(successes: number, tries: number, z = 1.96): number {
  if (tries === 0) return 1;
  const p = successes / tries;
  const z2 = z * z;
  return (p + z2 / (2 * tries) + z * Math.sqrt((p * (1 - p)) / tries + z2 / (4 * tries * tries))) / (1 + z2 / tries);
}

/**
 * A step's cost per approval (micro-units), as measured or, `optimistic`, at the best success rate
 * its history still allows; a step with too little history is taken as free (it must be measured).
 */
function optimisticRankOf(s: StepStat | undefined, minTries: number, optimistic: boolean): number {
  if (!s || s.tries < minTries) return optimistic ? 0 : Number.POSITIVE_INFINITY;
  const rate = optimistic ? wilsonUpper(s.approvals, s.tries) : s.approvals / s.tries;
  return rate === 0 ? Number.POSITIVE_INFINITY : s.costMicros / s.tries / rate;
}

export function createRoutePlanner(options: RoutePlannerOptions) {
  const { store, clock, learning, currency } = options;
  const cache = new Map<string, { at: number; stats: Map<string, StepStat> }>();

  /** Each step's tries, approvals and cost in one service and country over the window, settled verifications only. */
  async function statsFor(service: Service, country: string | null): Promise<Map<string, StepStat>> {
    const now = clock.now();
    const key = `${service.id}\u0000${country ?? ""}`;
    const hit = cache.get(key);
    if (hit && now - hit.at < STATS_CACHE_MS) return hit.stats;
    // Verifications still within their lifetime may yet be approved: only settled ones are counted.
    const to = now - service.policy.ttlMs;
    const [{ steps, attempts }, versions] = await Promise.all([
      store.stepStats({ serviceId: service.id, country, from: to - learning.windowMs, to }),
      store.listPriceVersions(),
    ]);
    const byVersion = new Map<number, PriceVersion>(versions.map((v) => [v.version, v]));
    const stats = new Map<string, StepStat>();
    for (const s of steps) stats.set(`${s.channel}:${s.provider}`, { tries: s.tried, approvals: s.approved, costMicros: 0 });
    for (const a of attempts) {
      const stat = stats.get(`${a.stepChannel}:${a.stepProvider}`);
      if (stat) stat.costMicros += addPriced(emptyTotals(), { ...a, country }, byVersion, currency).costMicros;
    }
    cache.set(key, { at: now, stats });
    return stats;
  }

  const optimisticRank = (step: RouteStep, stats: Map<string, StepStat>, optimistic: boolean) =>
    optimisticRankOf(stats.get(stepName(step)), learning.minTries, optimistic);

  /** The learned order of `route` (stable: ties keep the configured order) and whether every step had enough history. */
  function learnedOrder(route: RouteStep[], stats: Map<string, StepStat>): { order: RouteStep[]; enough: boolean } {
    const enough = route.every((s) => (stats.get(stepName(s))?.tries ?? 0) >= learning.minTries);
    if (!enough) return { order: route, enough };
    const rank = (s: RouteStep) => {
      const st = stats.get(stepName(s)) as StepStat;
      return st.approvals === 0 ? Number.POSITIVE_INFINITY : st.costMicros / st.approvals;
    };
    return {
      order: route
        .map((s, i) => ({ s, i, r: rank(s) }))
        .sort((a, b) => a.r - b.r || a.i - b.i)
        .map((x) => x.s),
      enough,
    };
  }

  async function learn(
    service: Service,
    mode: "learned" | "shadow",
    country: string | null,
    route: RouteStep[],
  ): Promise<RouteStep[]> {
    const stats = await statsFor(service, country);
    const { order, enough } = learnedOrder(route, stats);
    const configuredIndex = new Map(route.map((s, i) => [s, i]));
    let chosen = mode === "learned" ? order : route;
    let explored = false;
    if (mode === "learned" && route.length > 1 && options.random() < learning.explore) {
      // Only a step that could still beat the first one is worth a start: too few tries, or an
      // optimistic success rate that would make it cheaper per approval. One goes first; the rest keep their order.
      const best = optimisticRank(chosen[0] as RouteStep, stats, false);
      const others = chosen.slice(1).filter((s) => optimisticRank(s, stats, true) < best);
      const pick = others[Math.min(others.length - 1, Math.floor(options.random() * others.length))];
      if (pick) {
        chosen = [pick, ...chosen.filter((s) => s !== pick)];
        explored = true;
      }
    }
    const expectedConfigured = expectedCostPerApproval(route, stats);
    const expectedOrder = expectedCostPerApproval(enough ? order : route, stats);
    const expectedChosen = mode === "learned" ? expectedCostPerApproval(chosen, stats) : expectedOrder;
    const reason = (s: RouteStep, i: number): StepPlanReason => {
      if (explored && i === 0) return "explored";
      if (!enough) return "insufficient_data";
      return mode === "learned" && configuredIndex.get(s) !== i ? "learned" : "configured";
    };
    const money = (micros: number | null) => (micros === null ? null : fromMicros(micros));
    const decision: RouteDecision = {
      mode,
      currency,
      expectedConfigured: money(expectedConfigured),
      expectedChosen: money(expectedChosen),
      expectedSaving: expectedConfigured === null || expectedChosen === null ? null : money(expectedConfigured - expectedChosen),
      proposed: (enough ? order : route).map(stepName),
      explored,
    };
    options.logger?.info(
      {
        service: service.id,
        country,
        route_mode: mode,
        configured: route.map(stepName),
        chosen: chosen.map(stepName),
        ...decision,
        steps: Object.fromEntries(route.map((s) => [stepName(s), figuresOf(stats.get(stepName(s)))])),
      },
      mode === "shadow" ? "learned route (shadow: not applied)" : "learned route",
    );
    return chosen.map((s, i) => {
      const plan: StepPlan = {
        reason: reason(s, i),
        configuredIndex: configuredIndex.get(s) ?? i,
        figures: figuresOf(stats.get(stepName(s))),
      };
      return { ...s, plan, ...(i === 0 ? { decision } : {}) };
    });
  }

  /** Channel memory: the channel that last delivered first, channels that failed last at the end. */
  async function remember(destination: Pick<Destination, "to">, route: RouteStep[]): Promise<RouteStep[]> {
    const entries = await store.recallChannels(destination.to, clock.now());
    if (entries.length === 0) return route;
    const delivered = entries.find((e) => e.outcome === "delivered")?.channel;
    const failed = new Set(entries.filter((e) => e.outcome === "failed").map((e) => e.channel));
    const first = route.filter((s) => s.channel === delivered);
    const last = route.filter((s) => failed.has(s.channel));
    // A memory that would move nothing, or would put every step last, changes nothing.
    if (last.length === route.length) return route;
    const middle = route.filter((s) => !first.includes(s) && !last.includes(s));
    const order = [...first, ...middle, ...last];
    if (order.every((s, i) => s === route[i])) return route;
    const index = (s: RouteStep) => s.plan?.configuredIndex ?? route.indexOf(s);
    const moved = order.map((s, i) => {
      if (s === route[i] && !first.includes(s) && !last.includes(s)) return s;
      // A step memory did not move itself keeps the reason it had (a learned place, or the configured one).
      const reason: StepPlanReason = first.includes(s)
        ? "last_delivered"
        : last.includes(s)
          ? "failed_recently"
          : (s.plan?.reason ?? "configured");
      const { decision: _decision, ...rest } = s;
      return { ...rest, plan: { ...s.plan, reason, configuredIndex: index(s) } };
    });
    const decision = route[0]?.decision ?? {
      mode: "memory" as const,
      currency,
      expectedConfigured: null,
      expectedChosen: null,
      expectedSaving: null,
      proposed: order.map(stepName),
      explored: false,
    };
    options.logger?.info(
      {
        route: route.map(stepName),
        chosen: order.map(stepName),
        last_delivered: delivered ?? null,
        failed_recently: [...failed],
      },
      "channel memory reordered a route",
    );
    return moved.map((s, i) => (i === 0 ? { ...s, decision } : s));
  }

  return {
    /**
     * The route a new verification is sent along: `route` (the configured steps that reach the
     * destination, screened) in the order the service's mode and channel memory choose.
     */
    async plan(service: Service, destination: Pick<Destination, "to" | "country">, route: RouteStep[]): Promise<RouteStep[]> {
      let planned = route;
      const mode = service.settings.routeMode;
      if (mode !== "fixed" && route.length > 1) planned = await learn(service, mode, destination.country, route);
      if (options.memoryMs > 0 && route.length > 1) planned = await remember(destination, planned);
      return planned;
    },
  };
}

export type RoutePlanner = ReturnType<typeof createRoutePlanner>;
