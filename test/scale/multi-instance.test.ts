import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase } from "../helpers/services.js";
import { until, within } from "../helpers/waiting.js";
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
        // No call to the sink times out, however busy the machine (a timed-out call is repeated,
        // README says); the first instance gives up on its provider after 500 ms.
        VERIFYD_HTTP_CHANNEL_TIMEOUT: "10s",
        // Short enough that a killed instance's claimed rows come back within the test, long enough
        // that no live instance, however busy the machine, holds a claim past it (README: a live
        // instance stalled past its lease is the other way a send can repeat).
        VERIFYD_DELIVERY_LEASE: "8s",
        VERIFYD_OUTBOX_POLL: "100ms",
        VERIFYD_RESEND_COOLDOWN: "0s",
        VERIFYD_MAX_SENDS: "20",
        VERIFYD_MAX_CHECKS: "60",
        VERIFYD_LIMIT_SENDS_PER_DESTINATION: "3/10m",
        VERIFYD_LIMIT_SENDS_PER_PREFIX: "100000/1h",
        VERIFYD_LIMIT_SENDS_PER_COUNTRY: "100000/1h",
        VERIFYD_LIMIT_FAILED_CHECKS_PER_DESTINATION: "1000/1h",
      },
      // The first instance tries each of its starts' sends once, inline: its circuit never opens,
      // and its worker never runs, so retries and the sends it leaves behind go to the survivors.
      (i): Record<string, string> =>
        i === 0
          ? {
              VERIFYD_HTTP_CHANNEL_URL: blackhole.url,
              VERIFYD_HTTP_CHANNEL_TIMEOUT: "500ms",
              VERIFYD_BREAKER_FAILURES: "1000",
              VERIFYD_OUTBOX_POLL: "1h",
            }
          : {},
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

  /**
   * README's Scale-out guarantee: a message is sent again only when its outcome is unknown, and
   * every try carries one delivery id. The first instance's provider takes each message and never
   * answers, and only that instance dies (no live one holds a claim past the lease), so what reaches
   * the sink is sent by the survivors: each acknowledged start exactly once; an unacknowledged one
   * (its caller got no answer) at most twice, counting the try the dead instance had under way.
   */
  it("sends one first message per acknowledged start, at most two under one delivery id per unacknowledged one, when an instance is SIGKILLed with starts in flight", async () => {
    const targets = numbers(500);
    let next = 0;
    const acknowledged = new Set<string>();
    const unacknowledged = new Set<string>();
    const toOf = (r: { body: string }) => (JSON.parse(r.body) as Sent).to;
    const halfway = targets[250] as string;
    const survivors = instances.slice(1);
    const worker = async () => {
      for (let i = next++; i < targets.length; i = next++) {
        const to = targets[i] as string;
        // Halfway: a start on the first instance; once its provider holds the message (the start is
        // committed and its send under way), SIGKILL the instance. Its caller, and those of the
        // other starts in flight there, get no answer. The rest goes to the survivors.
        const instance = (i < 250 ? instances[i % 3] : i === 250 ? instances[0] : survivors[i % 2]) as Instance;
        const call = api(instance, "POST", "/v1/verifications", { to }).catch((err: unknown) => {
          if (instance !== instances[0]) throw err;
          return undefined; // reset or refused by the killed instance
        });
        if (i === 250) {
          await until("the halfway start at the first instance's provider", () =>
            blackhole.requests.some((r) => toOf(r) === halfway) ? true : undefined,
          );
          instances[0]?.proc.kill("SIGKILL");
        }
        const res = await call;
        if (res === undefined) unacknowledged.add(to);
        else if (res.status === 201) acknowledged.add(to);
        else throw new Error(`start for ${to}: ${res.status}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, () => worker()));
    await within((instances[0] as Instance).exited, 10_000, "the SIGKILLed instance to exit");
    expect(acknowledged.size + unacknowledged.size).toBe(500);
    expect(blackhole.requests.length).toBeGreaterThan(0); // the first instance had sends in flight

    // Until nothing is queued or being sent (the dead instance's leases have run out and the
    // survivors have sent its claims): from then on the counts below cannot change.
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    try {
      await until(
        "every delivery settled",
        async () => {
          const { rows } = await pool.query<{ n: number }>(
            "select count(*)::int as n from deliveries where status in ('queued', 'sending')",
          );
          return rows[0]?.n === 0 ? true : undefined;
        },
        1200,
      );
    } finally {
      await pool.end();
    }

    /** Per number: messages the sink got, tries the dead instance's provider got, and their delivery ids. */
    const byNumber = new Map(targets.map((to) => [to, { sent: 0, held: 0, ids: new Set<string>() }]));
    for (const [requests, key] of [
      [sink.requests, "sent"],
      [blackhole.requests, "held"],
    ] as const) {
      for (const request of requests) {
        const entry = byNumber.get(toOf(request));
        if (!entry) continue; // another test's number: its retries may still arrive during this one
        entry[key]++;
        entry.ids.add(request.headers["webhook-id"] as string);
      }
    }
    const wrong = [...byNumber].filter(([to, { sent, held, ids }]) =>
      acknowledged.has(to) ? sent !== 1 || ids.size !== 1 : sent + held > 2 || ids.size > 1,
    );
    expect(wrong).toEqual([]);
    // The halfway start went out twice: to the dead instance's provider, then from a survivor, under one id.
    expect(byNumber.get(halfway)).toMatchObject({ sent: 1, held: 1 });
    expect(byNumber.get(halfway)?.ids.size).toBe(1);
  }, 180_000);
});
