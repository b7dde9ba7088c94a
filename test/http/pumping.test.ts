import { afterEach, describe, expect, it } from "vitest";
import {
  approved,
  blocks,
  british,
  HOUR,
  hoursOf,
  MINUTE,
  neighbour,
  pumped,
  refused,
  SETTLED,
  sent,
} from "../helpers/conversion.js";
import { createHarness, type Harness } from "../helpers/harness.js";

/**
 * The conversion guard's defences against SMS pumping, each shown biting: probation for destinations
 * without approvals, the budget of unanswered sends, exact settled windows, escalating repeat
 * blocks, numbers approved before, and what is not counted.
 */
describe("pumping defences", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** Approved numbers in the pumped numbers' range (not their prefix): the range and the country are trusted. */
  async function trustedRange(harness: Harness, approvals = 10) {
    for (let i = 0; i < approvals; i++) await approved(harness, neighbour(i));
  }

  it("holds a destination with no approval on record to 5 unanswered sends (unproven), then blocks it once they settle", async () => {
    h = await createHarness();
    for (let i = 0; i < 5; i++) await sent(h, pumped(i));
    const held = await refused(h, pumped(5), ["unproven_prefix", "unproven_range", "unproven_country"]);
    expect(held.headers.get("retry-after")).toBe("600"); // until the unanswered sends settle
    expect(await blocks(h)).toEqual([]);
    expect(await sent(h, british(0))).toBeTruthy(); // another country, on probation of its own

    h.clock.advance(SETTLED);
    const blocked = await refused(h, pumped(6), ["unproven_prefix", "unproven_range", "unproven_country"]);
    expect(blocked.headers.get("retry-after")).toBe("3600");
    const opened = await blocks(h);
    expect(opened.map((b) => [b.scope, b.key, b.reason, b.sends, b.approvals, b.repeat, hoursOf(b)]).sort()).toEqual([
      ["country", "US", "unproven_country", 5, 0, 1, 1],
      ["prefix", "+1415555", "unproven_prefix", 5, 0, 1, 1],
      ["range", "+14155", "unproven_range", 5, 0, 1, 1],
    ]);
    expect(h.sender.messages.filter((m) => m.to.startsWith("+1415555"))).toHaveLength(5);
  });

  it("takes a destination off probation with an approval, each approval allowing ten more unanswered sends", async () => {
    h = await createHarness();
    for (let i = 0; i < 4; i++) await sent(h, pumped(i));
    await approved(h, pumped(4)); // trusted now: 10 unanswered, plus 10 for the approval
    for (let i = 5; i < 20; i++) await sent(h, pumped(i));
    await refused(h, pumped(20), ["low_conversion_prefix", "low_conversion_range", "low_conversion_country"]);
  });

  it("holds a trusted prefix past 10 unanswered sends, then blocks it when its settled sends convert under 10 %", async () => {
    h = await createHarness();
    await trustedRange(h);
    await approved(h, pumped(0));
    for (let i = 1; i < 20; i++) await sent(h, pumped(i)); // 20 sends, 1 approval: 10 + 10 allowed
    const held = await refused(h, pumped(20), ["low_conversion_prefix"]);
    expect(held.headers.get("retry-after")).toBe("600");
    await sent(h, neighbour(50)); // the range converts: only the prefix is held

    h.clock.advance(SETTLED);
    await refused(h, pumped(21), ["low_conversion_prefix"]);
    expect(await blocks(h)).toEqual([
      expect.objectContaining({ scope: "prefix", key: "+1415555", reason: "low_conversion_prefix", sends: 20, approvals: 1 }),
    ]);
    await sent(h, neighbour(51));
  });

  it("makes each repeat block of a key longer (1 h, 4 h, 24 h) and lets one send through between them, until an approval", async () => {
    // The prefix's send velocity (30/h) is counted on the system clock, which this test does not move.
    h = await createHarness({ VERIFYD_LIMIT_SENDS_PER_PREFIX: "1000/1h" });
    await trustedRange(h);
    await approved(h, pumped(0));
    for (let i = 1; i <= 10; i++) await sent(h, pumped(i)); // 11 sends, 1 approval
    h.clock.advance(SETTLED);
    let next = 11;
    await refused(h, pumped(next++), ["low_conversion_prefix"]);
    for (const hours of [1, 4, 24, 24]) {
      const [block] = await blocks(h);
      expect(hoursOf(block as never)).toBe(hours);
      h.clock.advance(hours * HOUR); // the block ends; no approval came since
      await sent(h, pumped(next++));
      await refused(h, pumped(next++), ["low_conversion_prefix"]); // one unanswered send at a time
      h.clock.advance(SETTLED);
      await refused(h, pumped(next++), ["low_conversion_prefix"]); // it settled unanswered: blocked again
    }
    expect((await blocks(h))[0]?.repeat).toBe(5);
    // An approval after the block ends makes the prefix trusted again.
    h.clock.advance(24 * HOUR);
    await approved(h, pumped(next++));
    for (let i = 0; i < 10; i++) await sent(h, pumped(next++));
  });

  it("judges sends as soon as they are settle old, with a 24 h window", async () => {
    h = await createHarness({ VERIFYD_CONVERSION_WINDOW: "24h", VERIFYD_CONVERSION_MIN_SENDS: "10" });
    await trustedRange(h);
    await approved(h, pumped(0));
    for (let i = 1; i <= 10; i++) await sent(h, pumped(i)); // 11 sends, 1 approval
    h.clock.advance(9 * MINUTE);
    await sent(h, pumped(11)); // not settled yet
    h.clock.advance(2 * MINUTE);
    await refused(h, pumped(12), ["low_conversion_prefix"]); // settled: 10 min and a minute at most
  });

  it("judges sends as soon as they are settle old, with a settle that is not whole minutes", async () => {
    h = await createHarness({ VERIFYD_CONVERSION_SETTLE: "90s", VERIFYD_CONVERSION_MIN_SENDS: "10" });
    await trustedRange(h);
    await approved(h, pumped(0));
    for (let i = 1; i <= 10; i++) await sent(h, pumped(i));
    h.clock.advance(121_000);
    await sent(h, pumped(11)); // their minute is not all 90 s old yet
    h.clock.advance(54_000);
    await refused(h, pumped(12), ["low_conversion_prefix"]); // 175 s old
  });

  it("lets a number that approved a code before through a block, and counts it", async () => {
    h = await createHarness();
    await trustedRange(h);
    await approved(h, pumped(0));
    for (let i = 1; i <= 10; i++) await sent(h, pumped(i));
    h.clock.advance(SETTLED);
    await refused(h, pumped(11), ["low_conversion_prefix"]);
    await sent(h, pumped(0)); // a known user
    await refused(h, pumped(12), ["low_conversion_prefix"]);
    const metrics = await (await h.call("GET", "/metrics")).text();
    expect(metrics).toContain('verifyd_conversion_guard_total{action="passed",reason="low_conversion_prefix"} 1');
    expect(metrics).toContain('verifyd_conversion_guard_total{action="refused",reason="low_conversion_prefix"} 2');
  });

  it("forgets that a number approved a code when the number is erased", async () => {
    h = await createHarness();
    await trustedRange(h);
    await approved(h, pumped(0));
    for (let i = 1; i <= 10; i++) await sent(h, pumped(i));
    h.clock.advance(SETTLED);
    await refused(h, pumped(11), ["low_conversion_prefix"]);
    const erased = await h.json<{ deleted: { rate_limits: number } }>("POST", "/v1/erasure", { to: pumped(0) });
    expect(erased.body.deleted.rate_limits).toBeGreaterThanOrEqual(1); // its approval record, with its counters
    await refused(h, pumped(0), ["low_conversion_prefix"]);
  });

  it("logs the first refusal of a wave at once and sums up the others, while the metric counts each", async () => {
    const harness = await createHarness();
    h = harness;
    for (let i = 0; i < 5; i++) await sent(harness, pumped(i));
    const reasons = ["unproven_prefix", "unproven_range", "unproven_country"];
    for (let i = 5; i < 9; i++) await refused(harness, pumped(i), reasons);
    const told = () => harness.logs.map((line) => JSON.parse(line)).filter((line) => line.msg === "conversion guard refused");
    expect(told()).toEqual([expect.objectContaining({ level: 40, refused: 1, held: true, country: "US", reasons })]);
    const metrics = await (await harness.call("GET", "/metrics")).text();
    expect(metrics).toContain('verifyd_conversion_guard_total{action="refused",reason="unproven_prefix"} 4');
    // The rest of the wave is summed up within 10 s, or at shutdown as here.
    await harness.close();
    h = undefined;
    expect(told()).toHaveLength(2);
    expect(told()[1]).toMatchObject({
      level: 40,
      refused: 3,
      reasons,
      by_reason: { unproven_prefix: 3, unproven_range: 3, unproven_country: 3 },
      by_country: { US: 3 },
    });
    expect(JSON.stringify(told())).not.toContain(pumped(6).slice(1));
  });

  it("does not count sends it refused, nor sends another rule refused", async () => {
    h = await createHarness({ VERIFYD_LIMIT_STARTS_PER_IP: "2/1h", VERIFYD_LIMIT_SENDS_PER_PREFIX: "1000/1h" });
    await trustedRange(h, 3);
    for (let i = 0; i < 5; i++) await sent(h, pumped(i));
    for (let i = 5; i < 60; i++) await refused(h, pumped(i), ["unproven_prefix"]);
    // Counted, the 55 refused sends would have sunk the range's conversion (3 approvals of 63 sends).
    for (let i = 0; i < 20; i++) {
      const res = await h.json("POST", "/v1/verifications", { to: honestIn(i), client_ip: "203.0.113.9" });
      expect(res.status).toBe(i < 2 ? 201 : 429);
    }
    h.clock.advance(SETTLED);
    await refused(h, pumped(60), ["unproven_prefix"]); // blocked now: its 5 sends settled unanswered
    await sent(h, neighbour(50));
    await sent(h, honestIn(30)); // 2 sends counted in its prefix, not 20
    expect((await blocks(h)).map((b) => [b.scope, b.key])).toEqual([["prefix", "+1415555"]]);
  });

  it("in monitor mode refuses nothing, and logs, counts and records what enforce mode would have refused", async () => {
    h = await createHarness({ VERIFYD_ABUSE_MODE: "monitor", VERIFYD_LIMIT_SENDS_PER_PREFIX: "10/1h" });
    for (let i = 0; i < 8; i++) await sent(h, pumped(i));
    h.clock.advance(SETTLED);
    await sent(h, pumped(8));
    // Sends to the (monitored) block go out, but count nowhere enforce mode would not have counted
    // them: not against the prefix's velocity either, which 12 sends would have exceeded.
    for (let i = 9; i < 12; i++) await sent(h, pumped(i));
    expect(h.logs.some((l) => l.includes("prefix_velocity"))).toBe(false);
    const held = h.logs.filter((l) => l.includes("conversion guard would refuse"));
    expect(held.length).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(held[0] as string)).toMatchObject({
      level: 40,
      to: "+1415***0105",
      reasons: ["unproven_prefix", "unproven_range", "unproven_country"],
      held: true,
      mode: "monitor",
    });
    // The same blocks as in enforce mode: the sends it would have refused went out but were not counted.
    expect((await blocks(h)).map((b) => [b.reason, b.mode, b.sends]).sort()).toEqual([
      ["unproven_country", "monitor", 5],
      ["unproven_prefix", "monitor", 5],
      ["unproven_range", "monitor", 5],
    ]);
    const metrics = await (await h.call("GET", "/metrics")).text();
    expect(metrics).toContain('verifyd_conversion_guard_total{action="opened",reason="unproven_prefix"} 1');
    expect(metrics).toContain('verifyd_conversion_guard_total{action="monitored",reason="unproven_prefix"} 7');
    expect(metrics).not.toContain('action="refused"');
    expect(h.sender.messages.filter((m) => m.to.startsWith("+1415555"))).toHaveLength(12);
  });
});

/** +1212555 01NN in another US range: numbers the per-IP test starts from one client IP. */
const honestIn = (i: number) => `+121255501${String(i).padStart(2, "0")}`;
