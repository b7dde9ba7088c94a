import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { LimitSettings } from "../../src/config/limits.js";
import { VerifydError } from "../../src/core/errors.js";
import { createPgLimiter } from "../../src/store/pg/limiter.js";
import { openPg } from "../../src/store/pg/open.js";
import { createRedisLimiter } from "../../src/store/redis/limiter.js";
import { createTestDatabase, freePort } from "../helpers/services.js";
import { testVault } from "./fixtures.js";

const redisUrl = inject("redisUrl");
const postgresUrl = inject("postgresUrl");
if (!redisUrl) console.warn("redis-server not found: skipping the Redis limiter tests");

const every = { points: 1000, windowMs: 60_000 };
const settings: LimitSettings = {
  sends_per_destination: { points: 3, windowMs: 600_000 },
  calls_per_destination: every,
  emails_per_domain: every,
  sends_per_prefix: every,
  sends_per_country: every,
  starts_per_ip: every,
  starts_per_device: every,
  starts_per_user: every,
  requests_per_key: every,
  failed_checks_per_destination: every,
  failed_checks_per_ip: every,
  inbound_approvals_per_sender: every,
  inbound_unknown_per_sender: every,
};
const client = (url: string) => new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });

describe("shared limiters", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it.skipIf(!redisUrl)(
    "counts in Redis across instances: the fourth send to a number is refused wherever it comes from",
    async () => {
      const [a, b] = [client(redisUrl as string), client(redisUrl as string)];
      await Promise.all([a.connect(), b.connect()]);
      cleanups.push(
        async () => a.disconnect(),
        async () => b.disconnect(),
      );
      const [first, second] = [createRedisLimiter(a, settings, testVault), createRedisLimiter(b, settings, testVault)];
      const to = `+1415555${Date.now() % 10_000}`;
      const answers = [];
      for (const limiter of [first, second, first, second])
        answers.push((await limiter.consume("sends_per_destination", to)).allowed);
      expect(answers).toEqual([true, true, true, false]);
    },
  );

  it("fails closed with limiter_unavailable when Redis does not answer", async () => {
    const redis = client(`redis://127.0.0.1:${await freePort()}`);
    redis.on("error", () => {});
    await redis.connect().catch(() => {});
    cleanups.push(async () => redis.disconnect());
    const limiter = createRedisLimiter(redis, settings, testVault);
    const refused = await limiter.consume("sends_per_destination", "+14155550100").catch((err) => err);
    expect(refused).toBeInstanceOf(VerifydError);
    expect((refused as VerifydError).code).toBe("limiter_unavailable");
  });

  it.skipIf(!postgresUrl)("counts in PostgreSQL across pools, and fails closed when the database is gone", async () => {
    const database = await createTestDatabase(postgresUrl as string);
    const pools = [openPg(database.url).pool, openPg(database.url).pool];
    const [first, second] = pools.map((pool) => createPgLimiter(pool, settings, testVault)) as [
      ReturnType<typeof createPgLimiter>,
      ReturnType<typeof createPgLimiter>,
    ];
    const answers = [];
    for (const limiter of [first, second, first, second])
      answers.push((await limiter.consume("sends_per_destination", "+14155550100")).allowed);
    expect(answers).toEqual([true, true, true, false]);
    for (const pool of pools) await pool.end();
    await database.drop();
    const refused = await first.consume("sends_per_destination", "+14155550101").catch((err) => err);
    expect((refused as VerifydError).code).toBe("limiter_unavailable");
  });

  /** Fails `to` up to the failed-check limit (3 here) and returns the lockout's length in ms. */
  const strike = async (limiter: ReturnType<typeof createRedisLimiter>, to: string) => {
    let last = await limiter.consume("failed_checks_per_destination", to);
    for (let i = 1; i < 3; i++) last = await limiter.consume("failed_checks_per_destination", to);
    expect(last.allowed).toBe(true); // the failure that reaches the limit is counted, and locks
    expect((await limiter.peek("failed_checks_per_destination", to)).allowed).toBe(false);
    return last.resetMs;
  };
  const escalating: LimitSettings = { ...settings, failed_checks_per_destination: { points: 3, windowMs: 3_600_000 } };

  it.skipIf(!redisUrl)("escalates lockouts in Redis, keyed by the number's blind index", async () => {
    const redis = client(redisUrl as string);
    await redis.connect();
    cleanups.push(async () => redis.disconnect());
    const limiter = createRedisLimiter(redis, escalating, testVault);
    const to = `+1415556${Date.now() % 10_000}`;
    const counter = `failed_checks_per_destination:${testVault.index(to)}`;

    expect(await strike(limiter, to)).toBeGreaterThan(3_590_000);
    expect(await redis.exists(counter)).toBe(1);
    expect(await redis.keys(`*${to.slice(1)}*`)).toEqual([]); // no key names the number
    expect(await redis.exists(`failed_checks_per_destination_strikes:${testVault.index(to)}`)).toBe(1);

    await redis.del(counter); // the first lockout is over; the strike is remembered
    const second = await strike(limiter, to);
    expect(second).toBeGreaterThan(7_190_000);
    expect(second).toBeLessThanOrEqual(7_200_000);

    await limiter.reset("failed_checks_per_destination", to); // a correct code forgets the strikes
    expect(await strike(limiter, to)).toBeLessThanOrEqual(3_600_000);
  });

  it.skipIf(!postgresUrl)("escalates lockouts in PostgreSQL, keyed by the number's blind index", async () => {
    const database = await createTestDatabase(postgresUrl as string);
    const { pool } = openPg(database.url);
    cleanups.push(async () => {
      await pool.end();
      await database.drop();
    });
    const limiter = createPgLimiter(pool, escalating, testVault);
    const to = "+14155560100";
    const counter = `failed_checks_per_destination:${testVault.index(to)}`;

    expect(await strike(limiter, to)).toBeGreaterThan(3_590_000);
    const keys = (await pool.query<{ key: string }>("select key from rate_limits")).rows.map((r) => r.key);
    expect(keys.sort()).toEqual([counter, `failed_checks_per_destination_strikes:${testVault.index(to)}`].sort());

    await pool.query("delete from rate_limits where key = $1", [counter]); // the first lockout is over
    const second = await strike(limiter, to);
    expect(second).toBeGreaterThan(7_190_000);
    expect(second).toBeLessThanOrEqual(7_200_000);
  });
});
