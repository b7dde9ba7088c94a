import { describe, expect, it } from "vitest";
import type { RouteStep, Service } from "../../src/core/model.js";
import { type PriceVersion, toMicros } from "../../src/core/prices.js";
import { createRoutePlanner, type RoutePlannerOptions } from "../../src/core/route-planner.js";
import { DEFAULT_SETTINGS, type RouteMode } from "../../src/core/service-settings.js";
import type { ChannelMemoryEntry } from "../../src/core/store/channel-memory.js";
import type { StepAttemptRow, StepStatRow, StepStatsQuery } from "../../src/core/store/costs.js";
import { FakeClock } from "../helpers/clock.js";
import { seeded } from "../helpers/seeded.js";

const WA: RouteStep = { channel: "whatsapp", providers: ["wa"], fallbackAfterMs: 30_000 };
const SMS: RouteStep = { channel: "sms", providers: ["sms1"], fallbackAfterMs: null };
const ROUTE = [WA, SMS];

const PRICES: PriceVersion[] = [
  {
    version: 1,
    validFrom: 0,
    table: {
      currency: "EUR",
      providers: {
        wa: { whatsapp: { defaultMicros: toMicros(0.08), countries: {}, billedOn: "delivery" } },
        sms1: { sms: { defaultMicros: toMicros(0.05), countries: {}, billedOn: "send" } },
      },
    },
  },
];

/**
 * GB's history: WhatsApp tried by 100 verifications, 12 delivered (0.08 each, billed on delivery),
 * 10 approved on it: 0.0096 per try, 0.096 per approval. SMS tried by 80, all accepted (0.05 each),
 * 72 approved: 0.05 per try, 0.055556 per approval. SMS is the cheaper success.
 */
const STEPS: StepStatRow[] = [
  { channel: "sms", provider: "sms1", tried: 80, approved: 72 },
  { channel: "whatsapp", provider: "wa", tried: 100, approved: 10 },
];
const ATTEMPTS: StepAttemptRow[] = [
  { stepChannel: "sms", stepProvider: "sms1", provider: "sms1", channel: "sms", priceVersion: 1, accepted: 80, delivered: 70 },
  {
    stepChannel: "whatsapp",
    stepProvider: "wa",
    provider: "wa",
    channel: "whatsapp",
    priceVersion: 1,
    accepted: 100,
    delivered: 12,
  },
];

const service = (routeMode: RouteMode): Service => ({
  id: "svc_a",
  name: "A",
  policy: { codeLength: 6, ttlMs: 600_000, maxChecks: 5, maxSends: 5, resendCooldownMs: 30_000, resendPolicy: "same" },
  route: ROUTE,
  countryRoutes: {},
  settings: { ...DEFAULT_SETTINGS, routeMode },
});

function planner(
  over: Partial<RoutePlannerOptions> = {},
  memory: ChannelMemoryEntry[] = [],
  history: { steps: StepStatRow[]; attempts: StepAttemptRow[] } = { steps: STEPS, attempts: ATTEMPTS },
) {
  const queries: StepStatsQuery[] = [];
  const clock = new FakeClock(1_800_000_000_000);
  const p = createRoutePlanner({
    store: {
      async stepStats(q) {
        queries.push(q);
        return history;
      },
      async listPriceVersions() {
        return PRICES;
      },
      async recallChannels() {
        return memory;
      },
    },
    clock,
    random: () => 0.99,
    currency: "EUR",
    memoryMs: 0,
    learning: { windowMs: 7 * 86_400_000, minTries: 30, explore: 0.05 },
    ...over,
  });
  return { p, queries, clock };
}

const DEST = { to: "+447400123456", country: "GB" };
const names = (r: RouteStep[]) => r.map((s) => `${s.channel}:${s.providers[0]}`);
const SMS_FIGURES = { tries: 80, approvals: 72, successRate: 0.9, costPerTry: 0.05, costPerApproval: 0.055556 };
const WA_FIGURES = { tries: 100, approvals: 10, successRate: 0.1, costPerTry: 0.0096, costPerApproval: 0.096 };

describe("learned route order", () => {
  it("keeps a fixed route as configured and reads no history", async () => {
    const { p, queries } = planner();
    expect(await p.plan(service("fixed"), DEST, ROUTE)).toBe(ROUTE);
    expect(queries).toEqual([]);
  });

  it("in shadow mode keeps the order and reports what it would have chosen and the expected saving", async () => {
    const { p, queries, clock } = planner();
    const planned = await p.plan(service("shadow"), DEST, ROUTE);
    expect(names(planned)).toEqual(["whatsapp:wa", "sms:sms1"]);
    // Settled verifications only: the window ends one code lifetime before now.
    const to = clock.now() - 600_000;
    expect(queries).toEqual([{ serviceId: "svc_a", country: "GB", from: to - 7 * 86_400_000, to }]);
    expect(planned[0]?.decision).toEqual({
      mode: "shadow",
      currency: "EUR",
      // Configured: 0.0096 + 0.9 × 0.05 = 0.0546 per start, 91 % approved: 0.06. Learned: (0.05 + 0.1 × 0.0096) / 0.91.
      expectedConfigured: 0.06,
      expectedChosen: 0.056,
      expectedSaving: 0.004,
      proposed: ["sms:sms1", "whatsapp:wa"],
      explored: false,
    });
    expect(planned.map((s) => s.plan)).toEqual([
      { reason: "configured", configuredIndex: 0, figures: WA_FIGURES },
      { reason: "configured", configuredIndex: 1, figures: SMS_FIGURES },
    ]);
  });

  it("orders the steps by cost per approval, keeping every configured step", async () => {
    const { p } = planner();
    const planned = await p.plan(service("learned"), DEST, ROUTE);
    expect(names(planned)).toEqual(["sms:sms1", "whatsapp:wa"]);
    expect(planned.map((s) => [s.plan?.reason, s.plan?.configuredIndex])).toEqual([
      ["learned", 1],
      ["learned", 0],
    ]);
    expect(planned[0]?.decision).toMatchObject({
      mode: "learned",
      expectedChosen: 0.056,
      expectedSaving: 0.004,
      explored: false,
    });
    // The step keeps what the route configured for it (its fallback timer).
    expect(planned[1]?.fallbackAfterMs).toBe(30_000);
  });

  it("explores another first step with the configured share of starts, and says so", async () => {
    const draws = [0.01, 0.5];
    const { p } = planner({ random: () => draws.shift() ?? 0.99 });
    const planned = await p.plan(service("learned"), DEST, ROUTE);
    expect(names(planned)).toEqual(["whatsapp:wa", "sms:sms1"]);
    // SMS is back where the route configured it.
    expect(planned.map((s) => s.plan?.reason)).toEqual(["explored", "configured"]);
    expect(planned[0]?.decision).toMatchObject({ explored: true, expectedChosen: 0.06, expectedSaving: 0 });
  });

  it("explores only a step that could still beat the first one", async () => {
    // With 5 approvals in 100 tries, WhatsApp's best plausible rate (Wilson, 95 %: 0.112) still costs
    // 0.0096 / 0.112 = 0.086 per approval, more than SMS's 0.0556: no start is spent on it.
    const fewer = STEPS.map((s) => (s.channel === "whatsapp" ? { ...s, approved: 5 } : s));
    const { p } = planner({ random: () => 0.01 }, [], { steps: fewer, attempts: ATTEMPTS });
    const planned = await p.plan(service("learned"), DEST, ROUTE);
    expect(names(planned)).toEqual(["sms:sms1", "whatsapp:wa"]);
    expect(planned[0]?.decision?.explored).toBe(false);
  });

  it("explores about its share under a seeded source, and never drops a step", async () => {
    const { p } = planner({ random: seeded(7) });
    let explored = 0;
    for (let i = 0; i < 2_000; i++) {
      const planned = await p.plan(service("learned"), DEST, ROUTE);
      expect([...names(planned)].sort()).toEqual(["sms:sms1", "whatsapp:wa"]);
      if (planned[0]?.decision?.explored) explored++;
    }
    expect(explored / 2_000).toBeGreaterThan(0.04);
    expect(explored / 2_000).toBeLessThan(0.06);
  });

  it("keeps the configured order until every step has enough tries", async () => {
    const { p } = planner({ learning: { windowMs: 7 * 86_400_000, minTries: 81, explore: 0 } });
    const planned = await p.plan(service("learned"), DEST, ROUTE);
    expect(names(planned)).toEqual(["whatsapp:wa", "sms:sms1"]);
    expect(planned.map((s) => s.plan?.reason)).toEqual(["insufficient_data", "insufficient_data"]);
    expect(planned[0]?.decision).toMatchObject({ proposed: ["whatsapp:wa", "sms:sms1"], expectedSaving: 0 });
  });

  it("reads a country's history once every ten minutes", async () => {
    const { p, queries, clock } = planner();
    await p.plan(service("learned"), DEST, ROUTE);
    clock.advance(599_999);
    await p.plan(service("learned"), DEST, ROUTE);
    expect(queries).toHaveLength(1);
    clock.advance(1);
    await p.plan(service("learned"), DEST, ROUTE);
    await p.plan(service("learned"), { ...DEST, country: "US" }, ROUTE);
    expect(queries.map((q) => q.country)).toEqual(["GB", "GB", "US"]);
  });
});

describe("channel memory", () => {
  const at = 1_800_000_000_000;

  it("is off unless configured", async () => {
    const { p } = planner({}, [{ channel: "whatsapp", outcome: "failed", at }]);
    expect(await p.plan(service("fixed"), DEST, ROUTE)).toBe(ROUTE);
  });

  it("tries a channel that failed recently last", async () => {
    const { p } = planner({ memoryMs: 86_400_000 }, [{ channel: "whatsapp", outcome: "failed", at }]);
    const planned = await p.plan(service("fixed"), DEST, ROUTE);
    expect(names(planned)).toEqual(["sms:sms1", "whatsapp:wa"]);
    expect(planned.map((s) => s.plan)).toEqual([
      { reason: "configured", configuredIndex: 1 },
      { reason: "failed_recently", configuredIndex: 0 },
    ]);
    expect(planned[0]?.decision).toMatchObject({ mode: "memory", proposed: ["sms:sms1", "whatsapp:wa"] });
  });

  it("starts with the channel that delivered last, over a learned order", async () => {
    const { p } = planner({ memoryMs: 86_400_000 }, [
      { channel: "whatsapp", outcome: "delivered", at },
      { channel: "sms", outcome: "delivered", at: at - 5 },
    ]);
    const planned = await p.plan(service("learned"), DEST, ROUTE);
    expect(names(planned)).toEqual(["whatsapp:wa", "sms:sms1"]);
    expect(planned.map((s) => s.plan?.reason)).toEqual(["last_delivered", "learned"]);
    // The learned decision stays on the first step: what history proposed, and what memory did.
    expect(planned[0]?.decision).toMatchObject({ mode: "learned", proposed: ["sms:sms1", "whatsapp:wa"] });
  });

  it("leaves the route alone when every channel failed", async () => {
    const { p } = planner({ memoryMs: 86_400_000 }, [
      { channel: "whatsapp", outcome: "failed", at },
      { channel: "sms", outcome: "failed", at },
    ]);
    expect(await p.plan(service("fixed"), DEST, ROUTE)).toBe(ROUTE);
  });
});
