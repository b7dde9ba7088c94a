import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SERVICE_ID } from "../../src/core/services.js";
import { funnelSql } from "../../src/store/sqlite/analytics.js";
import { seedDatabaseFile, seedDay } from "../helpers/analytics-seed.js";
import { createHarness, type Harness } from "../helpers/harness.js";
import { onSharedBackends } from "../helpers/shared-backends.js";

type Group = {
  key: Record<string, string>;
  requested: number;
  sent: number;
  delivered: number;
  checked: number;
  approved: number;
  conversion: number;
  median_time_to_approve_ms: number | null;
  messages_sent: number;
  messages_per_approval: number | null;
};
type Answer = { from: string; to: string; group_by: string[]; groups: Group[] };

/** [requested, sent, delivered, checked, approved, messages_sent, median ms, conversion, messages per approval] */
type Expected = [number, number, number, number, number, number, number | null, number, number | null];
const row = (g: Group): Expected => [
  g.requested,
  g.sent,
  g.delivered,
  g.checked,
  g.approved,
  g.messages_sent,
  g.median_time_to_approve_ms,
  g.conversion,
  g.messages_per_approval,
];
const byKey = (groups: Group[]) => Object.fromEntries(groups.map((g) => [Object.values(g.key).join("/"), row(g)]));

// Reads the SQLite file itself; its seed is written there; the store contract covers the PostgreSQL queries.
describe.skipIf(onSharedBackends())("GET /v1/analytics", () => {
  let h: Harness;
  let day1: number;
  let range: string;
  let other: { authorization: string };
  const get = (query: string, headers?: Record<string, string>) =>
    h.json<Answer>("GET", `/v1/analytics?${query}`, undefined, headers);

  beforeAll(async () => {
    h = await createHarness();
    // The dataset's two days end the day before the harness clock's "now".
    day1 = seedDay(h.clock.now(), 2);
    await seedDatabaseFile(h.dbPath, DEFAULT_SERVICE_ID, day1, h.clock.now());
    other = await h.otherServiceKey();
    range = `from=${new Date(day1).toISOString().slice(0, 10)}&to=${new Date(day1 + 2 * 86_400_000).toISOString().slice(0, 10)}`;
  });
  afterAll(async () => h.close());

  it("counts the funnel by channel (the channel of the step each verification ended on)", async () => {
    const res = await get(`group_by=channel&service_id=${DEFAULT_SERVICE_ID}&${range}`);
    expect(res.status).toBe(200);
    expect(res.body.group_by).toEqual(["channel"]);
    expect(byKey(res.body.groups)).toEqual({
      sms: [7, 6, 4, 5, 4, 8, 52_500, 0.5714, 2],
      whatsapp: [1, 1, 1, 1, 1, 1, 20_000, 1, 1],
    });
  });

  it("counts the funnel by country", async () => {
    const res = await get(`group_by=country&service_id=${DEFAULT_SERVICE_ID}&${range}`);
    expect(byKey(res.body.groups)).toEqual({
      DE: [1, 0, 0, 0, 0, 0, null, 0, null],
      GB: [3, 3, 3, 3, 3, 4, 45_000, 1, 1.3333],
      US: [4, 4, 2, 3, 2, 5, 45_000, 0.5, 2.5],
    });
  });

  it("counts the funnel by provider (of each verification's latest delivery)", async () => {
    const res = await get(`group_by=provider&service_id=${DEFAULT_SERVICE_ID}&${range}`);
    expect(byKey(res.body.groups)).toEqual({
      tw: [4, 4, 2, 3, 2, 5, 45_000, 0.5, 2.5],
      vn: [3, 2, 2, 2, 2, 3, 67_500, 0.6667, 1.5],
      wa: [1, 1, 1, 1, 1, 1, 20_000, 1, 1],
    });
  });

  it("counts the funnel by UTC day, and by day and channel together", async () => {
    const [d1, d2] = [new Date(day1).toISOString().slice(0, 10), new Date(day1 + 86_400_000).toISOString().slice(0, 10)];
    const res = await get(`group_by=day&service_id=${DEFAULT_SERVICE_ID}&${range}`);
    expect(byKey(res.body.groups)).toEqual({
      [d1]: [4, 4, 3, 3, 3, 4, 45_000, 0.75, 1.3333],
      [d2]: [4, 3, 2, 3, 2, 5, 55_000, 0.5, 2.5],
    });
    const two = await get(`group_by=day,channel&service_id=${DEFAULT_SERVICE_ID}&${range}`);
    expect(two.body.groups.map((g) => g.key)).toEqual([
      { day: d1, channel: "sms" },
      { day: d2, channel: "sms" },
      { day: d2, channel: "whatsapp" },
    ]);
    expect(byKey(two.body.groups)[`${d2}/sms`]).toEqual([3, 2, 1, 2, 1, 4, 90_000, 0.3333, 4]);
  });

  it("covers every service for an admin key, and only its own for a service key", async () => {
    const all = await get(`group_by=country&${range}`);
    expect(byKey(all.body.groups).US?.slice(0, 5)).toEqual([5, 5, 2, 4, 3]);
    const own = await get(`group_by=country&${range}`, other);
    expect(own.status).toBe(200);
    expect(byKey(own.body.groups)).toEqual({ US: [1, 1, 0, 1, 1, 1, 10_000, 1, 1] });
    const foreign = await h.call("GET", `/v1/analytics?group_by=country&service_id=${DEFAULT_SERVICE_ID}`, undefined, other);
    expect(foreign.status).toBe(403);
  });

  it("leaves out what was created outside [from, to)", async () => {
    const before = new Date(day1 - 86_400_000).toISOString().slice(0, 10);
    const res = await get(`group_by=day&service_id=${DEFAULT_SERVICE_ID}&from=${before}&to=${new Date(day1).toISOString()}`);
    expect(byKey(res.body.groups)).toEqual({ [before]: [1, 1, 0, 0, 0, 1, null, 0, null] });
  });

  it("refuses bad parameters with problem documents", async () => {
    for (const query of [
      "group_by=colour",
      "group_by=day,day",
      "group_by=day,channel,country,provider",
      "",
      "group_by=day&from=yesterday",
      "group_by=day&from=2026-01-10&to=2026-01-09",
      "group_by=day&from=2024-01-01&to=2025-01-03",
    ]) {
      const res = await h.call("GET", `/v1/analytics?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(((await res.json()) as { code: string }).code).toBe("invalid_request");
    }
  });

  it("scans the time range through an index, with or without a service", () => {
    const db = new Database(h.dbPath, { readonly: true });
    try {
      const planOf = (serviceFilter: boolean) =>
        (
          db
            .prepare(`explain query plan ${funnelSql(["day", "provider"], serviceFilter)}`)
            .all({ from: 0, to: 1, ...(serviceFilter ? { serviceId: "svc" } : {}) }) as { detail: string }[]
        ).map((p) => p.detail);
      const range = "created_at>? AND created_at<?";
      const all = planOf(false).filter((d) => /^(SCAN|SEARCH) v\b/.test(d));
      expect(all.length).toBeGreaterThan(0);
      for (const d of all) expect(d).toBe(`SEARCH v USING INDEX verifications_created (${range})`);
      const one = planOf(true).filter((d) => /^(SCAN|SEARCH) v\b/.test(d));
      expect(one.length).toBeGreaterThan(0);
      for (const d of one) expect(d).toBe(`SEARCH v USING INDEX verifications_service_created (service_id=? AND ${range})`);
    } finally {
      db.close();
    }
  });

  it("lists recent verifications with their attempts, numbers masked", async () => {
    const res = await h.json<{ data: { id: string; to_masked: string; deliveries: { provider: string; status: string }[] }[] }>(
      "GET",
      "/v1/analytics/recent?limit=3",
    );
    expect(res.status).toBe(200);
    expect(res.body.data.map((v) => v.id)).toEqual(["ver_seed_a8", "ver_seed_a7", "ver_seed_a6"]);
    expect(res.body.data[0]?.to_masked).toBe("+1415***0104");
    expect(res.body.data[0]?.deliveries.map((d) => d.status)).toEqual(["accepted", "accepted"]);
    expect(JSON.stringify(res.body)).not.toContain("+14155550104");
    const theirs = await h.json<{ data: { id: string }[] }>("GET", "/v1/analytics/recent", undefined, other);
    expect(theirs.body.data.map((v) => v.id)).toEqual(["ver_seed_x1"]);
  });
});
