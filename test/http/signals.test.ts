import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";
import { onSharedBackends } from "../helpers/shared-backends.js";

type Problem = { code: string; status: number; limit?: { rule: string; limit: number } };

/**
 * The integrator's signals of who is asking: `device_id` and `user_id` on a start. One device or one
 * account cycling through many numbers is refused, whatever the numbers, and the ids are stored
 * only as blind indexes.
 */
describe("starts per device and per user", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const start = (harness: Harness, to: string, extra: Record<string, string>) =>
    harness.json<Problem & { id: string }>("POST", "/v1/verifications", { to, ...extra });

  it("refuses the device's fourth number within the window with 429 starts_per_device; another device passes", async () => {
    h = await createHarness({ VERIFYD_LIMIT_STARTS_PER_DEVICE: "3/1h" });
    for (let i = 0; i < 3; i++) expect((await start(h, `+1212555010${i}`, { device_id: "dev-1" })).status).toBe(201);
    const refused = await start(h, "+12125550103", { device_id: "dev-1" });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: "rate_limited", limit: { rule: "starts_per_device", limit: 3 } });
    expect(refused.headers.get("retry-after")).not.toBeNull();
    expect((await start(h, "+12125550104", { device_id: "dev-2" })).status).toBe(201);
    expect((await start(h, "+12125550105", {})).status).toBe(201); // no signal, no such limit
    expect(h.sender.messages.map((m) => m.to)).not.toContain("+12125550103");
  });

  it("refuses the user's fourth number with 429 starts_per_user, across devices", async () => {
    h = await createHarness({ VERIFYD_LIMIT_STARTS_PER_USER: "3/1h" });
    for (let i = 0; i < 3; i++) {
      expect((await start(h, `+1212555020${i}`, { user_id: "u-42", device_id: `dev-${i}` })).status).toBe(201);
    }
    const refused = await start(h, "+12125550203", { user_id: "u-42", device_id: "dev-9" });
    expect(refused.status).toBe(429);
    expect(refused.body.limit?.rule).toBe("starts_per_user");
  });

  // Reads the SQLite file's counters; on Redis or PostgreSQL the same keys go through storedLimitKey.
  it.skipIf(onSharedBackends())("keeps the ids out of the database in clear", async () => {
    h = await createHarness();
    await start(h, "+12125550300", { device_id: "device-sentinel-7731", user_id: "user-sentinel-9902" });
    const db = new Database(h.dbPath, { readonly: true });
    try {
      const keys = (db.prepare("select key from rate_limits").pluck().all() as string[]).join("\n");
      expect(keys).toMatch(/^starts_per_device:/m); // the counter exists...
      expect(keys).not.toContain("device-sentinel-7731"); // ...under the id's blind index
      expect(keys).not.toContain("user-sentinel-9902");
    } finally {
      db.close();
    }
  });

  it("refuses ids that are empty or too long", async () => {
    h = await createHarness();
    expect((await start(h, "+12125550400", { device_id: "" })).status).toBe(400);
    expect((await start(h, "+12125550400", { user_id: "x".repeat(129) })).status).toBe(400);
  });
});
