import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { GUARD_NEVER_TRIPS } from "../helpers/conversion.js";
import { createTestDatabase } from "../helpers/services.js";
import { until } from "../helpers/waiting.js";
import { startWebhookSink, type WebhookSink } from "../helpers/webhook-sink.js";
import { api, type Instance, startCluster, stopCluster } from "./cluster.js";

const postgres = inject("postgresUrl");
const redis = inject("redisUrl");
if (!postgres || !redis) console.warn("PostgreSQL or Redis binaries not found: skipping the multi-instance test");

/** `count` distinct valid US numbers. */
const numbers = (count: number, offset = 0) =>
  Array.from({ length: count }, (_, i) => {
    const n = i + offset;
    return `+1${["212", "310", "415", "617", "718", "305", "206"][Math.floor(n / 100)]}55501${String(n % 100).padStart(2, "0")}`;
  });

type Sent = { to: string; code: string; verification_id: string };

describe.skipIf(!postgres || !redis)("three instances on one PostgreSQL and one Redis", () => {
  let sink: WebhookSink;
  /** Where the first instance sends: it accepts the request and never answers, so its sends stay in flight. */
  let blackhole: WebhookSink;
  let instances: Instance[];
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const sent = () => sink.requests.map((r) => JSON.parse(r.body) as Sent);
  const sentTo = (to: string) => sent().filter((s) => s.to === to);
  const blackholed = (to: string) => blackhole.requests.filter((r) => (JSON.parse(r.body) as Sent).to === to).length;

  beforeAll(async () => {
    sink = await startWebhookSink();
    blackhole = await startWebhookSink();
    blackhole.setDefault(200, { delayMs: 600_000 });
    database = await createTestDatabase(postgres as string);
    instances = await startCluster(
      3,
      {
        DATABASE_URL: database.url,
        VERIFYD_DB_POOL_SIZE: "8",
        REDIS_URL: redis as string,
        VERIFYD_REDIS_PREFIX: `scale${randomBytes(4).toString("hex")}:`,
        VERIFYD_HTTP_CHANNEL_URL: sink.url,
        VERIFYD_HTTP_CHANNEL_SECRET: `whsec_${randomBytes(24).toString("base64")}`,
        VERIFYD_HTTP_CHANNEL_TIMEOUT: "500ms",
        // A short lease, so a killed instance's claimed rows come back within the test.
        VERIFYD_DELIVERY_LEASE: "2s",
        VERIFYD_OUTBOX_POLL: "100ms",
        VERIFYD_RESEND_COOLDOWN: "0s",
        VERIFYD_MAX_SENDS: "20",
        ...GUARD_NEVER_TRIPS,
        VERIFYD_MAX_CHECKS: "60",
        VERIFYD_LIMIT_SENDS_PER_DESTINATION: "3/10m",
        VERIFYD_LIMIT_SENDS_PER_PREFIX: "100000/1h",
        VERIFYD_LIMIT_SENDS_PER_COUNTRY: "100000/1h",
        VERIFYD_LIMIT_FAILED_CHECKS_PER_DESTINATION: "1000/1h",
      },
      (i): Record<string, string> => (i === 0 ? { VERIFYD_HTTP_CHANNEL_URL: blackhole.url } : {}),
    );
  });
  afterAll(async () => {
    await stopCluster(instances ?? []);
    await sink?.close();
    await blackhole?.close();
    await database?.drop();
  });

  it("limits sends per destination for the whole deployment, not per instance", async () => {
    const [to] = numbers(1, 650) as [string];
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const instance = instances[i % 3] as Instance;
      statuses.push((await api(instance, "POST", "/v1/verifications", { to })).status);
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);
    // Each send reaches a provider once (the first instance's provider never answers, so some are still retrying).
    await until("the sends", () => (sentTo(to).length + blackholed(to) >= 3 ? true : undefined));
    expect(sentTo(to).length).toBeLessThanOrEqual(3);
  });

  it("approves exactly once under 50 concurrent correct checks on three instances", async () => {
    const [to] = numbers(1, 660) as [string];
    const started = await api<{ id: string }>(instances[1] as Instance, "POST", "/v1/verifications", { to });
    expect(started.status).toBe(201);
    const { code } = await until("the code", () => sentTo(to)[0]);
    const checks = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        api<{ valid: boolean; status: string }>(
          instances[i % 3] as Instance,
          "POST",
          `/v1/verifications/${started.body.id}/check`,
          {
            code,
          },
        ),
      ),
    );
    expect(checks.every((c) => c.status === 200)).toBe(true);
    expect(checks.filter((c) => c.body.valid)).toHaveLength(1);
    expect(checks.filter((c) => c.body.status === "approved" && c.body.valid)).toHaveLength(1);
  });

  it("sends exactly one first message for each of 500 starts, also when an instance is SIGKILLed halfway", async () => {
    const before = sink.requests.length;
    const targets = numbers(500);
    let next = 0;
    const started = new Set<string>();
    const inFlightToFirst = new Set<Promise<unknown>>();
    let killed: Promise<void> | undefined;
    const worker = async () => {
      for (let i = next++; i < targets.length; i = next++) {
        const to = targets[i] as string;
        // Halfway: stop routing to the first instance, let its answers come back, then SIGKILL it
        // while its claimed sends are still in flight (its provider never answers).
        if (i >= 250) killed ??= Promise.all(inFlightToFirst).then(() => void instances[0]?.proc.kill("SIGKILL"));
        const pool = i >= 250 ? instances.slice(1) : instances;
        const call = api(pool[i % pool.length] as Instance, "POST", "/v1/verifications", { to });
        if (pool === instances && i % pool.length === 0) inFlightToFirst.add(call);
        const res = await call;
        if (res.status !== 201) throw new Error(`start for ${to}: ${res.status}`);
        started.add(to);
      }
    };
    await Promise.all(Array.from({ length: 16 }, () => worker()));
    await killed;
    expect(instances[0]?.alive()).toBe(false);
    expect(blackhole.requests.length).toBeGreaterThan(0); // the first instance had sends in flight
    expect(started.size).toBe(500);

    const mine = () => sink.requests.slice(before).map((r) => (JSON.parse(r.body) as Sent).to);
    await until("500 sends", () => (new Set(mine()).size >= 500 ? true : undefined), 300);
    // Give the survivors' outbox a few more passes: a duplicate would show up now.
    await new Promise((r) => setTimeout(r, 1500));
    const counts = new Map<string, number>();
    for (const to of mine()) counts.set(to, (counts.get(to) ?? 0) + 1);
    expect(counts.size).toBe(500);
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
  });
});
