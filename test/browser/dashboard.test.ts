import { existsSync, mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import Database from "better-sqlite3";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { priceFingerprint } from "../../src/core/prices.js";
import { DEFAULT_SERVICE_ID } from "../../src/core/services.js";
import { seedDatabaseFile, seedDay } from "../helpers/analytics-seed.js";
import { ADMIN_KEY, createHarness, type Harness } from "../helpers/harness.js";
import { SEED_PRICES_DAY2 } from "../helpers/seed-prices.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dirname, "..", "..", "test-artifacts");
const haveChromium = existsSync(CHROMIUM);

/** The seed's providers, priced in the config file as in SEED_PRICES (GB on `vn` at 0.04). */
const PRICED = {
  providers: { tw: { type: "capture" }, vn: { type: "capture" }, wa: { type: "capture" } },
  prices: {
    currency: "EUR",
    providers: {
      tw: { sms: { default: 0.05, countries: { US: 0.0075 } } },
      vn: { sms: { default: 0.06, countries: { GB: 0.04 } } },
      wa: { whatsapp: { default: 0.02 } },
    },
  },
};
if (!haveChromium)
  console.warn(`NOTICE: ${CHROMIUM} is missing; the dashboard browser test is skipped (apt-get install chromium)`);

describe.skipIf(!haveChromium)("dashboard in headless Chromium", () => {
  let h: Harness;
  let server: ReturnType<typeof serve>;
  let browser: Browser;
  let page: Page;
  let base: string;
  let day1: number;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    h = await createHarness({}, PRICED);
    day1 = seedDay(h.clock.now(), 2);
    await seedDatabaseFile(h.dbPath, DEFAULT_SERVICE_ID, day1, h.clock.now());
    // The configured table is in force from the harness's start, after the seeded days: a version in
    // force since day 1 (GB on `vn` at 0.05) prices the seeded attempts.
    await h.withStore((s) => s.registerPriceTable(SEED_PRICES_DAY2, priceFingerprint(SEED_PRICES_DAY2), day1));
    server = serve({ fetch: h.runtime.app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await h?.close();
  });

  it("asks for the admin key, then draws the seeded funnel, trends, recent attempts and blocks", async () => {
    const res = await page.goto(`${base}/dashboard`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()["content-security-policy"]).toContain("default-src 'self'");
    await page.locator("#key").fill(ADMIN_KEY);
    await page.locator("#login button[type=submit]").click();
    await page.locator("body[data-loaded=true]").waitFor();

    const bar = (chart: string, group: string, stage: string) =>
      page.locator(`[data-chart=${chart}] rect[data-group="${group}"][data-stage=${stage}]`).getAttribute("data-value");
    // The dashboard covers every service and 30 days: the svc_other verification (US, SMS, approved)
    // and a0 (the day before day 1, US, SMS, not approved) count too.
    expect(await bar("funnel-channel", "sms", "requested")).toBe("9");
    expect(await bar("funnel-channel", "sms", "delivered")).toBe("4");
    expect(await bar("funnel-channel", "sms", "approved")).toBe("5");
    expect(await bar("funnel-channel", "whatsapp", "approved")).toBe("1");
    expect(await bar("funnel-country", "GB", "requested")).toBe("3");
    expect(await bar("funnel-country", "US", "checked")).toBe("4");
    expect(await bar("funnel-country", "DE", "sent")).toBe("0");
    expect(await bar("funnel-country", "US", "requested")).toBe("6");
    await expect(page.locator("[data-chart=funnel-country] text[data-label=requested]").allTextContents()).resolves.toContain(
      "requested 6",
    );

    const d2 = new Date(day1 + 86_400_000).toISOString().slice(0, 10);
    const point = page.locator(`[data-chart=trend-channel] circle[data-series=sms][data-day="${d2}"]`);
    expect(await point.getAttribute("data-requested")).toBe("3");
    expect(await point.getAttribute("data-approved")).toBe("1");
    expect(await page.locator("[data-chart=trend-country] circle[data-series=GB]").count()).toBe(2);
    expect(await page.locator("#providers tr[data-provider=vn] td").allTextContents()).toEqual([
      "vn",
      "3",
      "2",
      "2",
      "2",
      "66.7%",
      "67.5 s",
      "1.5",
    ]);

    const recent = page.locator("#recent tr[data-verification=ver_seed_a8]");
    expect(await recent.locator("td.masked").textContent()).toBe("+1415***0104");
    expect(await recent.locator(".attempt").count()).toBe(2);
    const html = await page.content();
    expect(html).not.toContain("+14155550104");
    expect(html).not.toContain("14155550104");
    expect(await page.locator("[data-blocks=none]").textContent()).toBe("none");

    // Cost per approval, cheapest first: US SMS 6 × 0.0075 over 3 approvals (svc_other's included; the
    // day before's SMS predates every price table, so it is billable but unpriced), GB WhatsApp 0.02
    // (one delivered), GB SMS 2 × 0.05 over 2 (a failed WhatsApp is free).
    const costBars = page.locator("[data-chart=cost] g[data-group]");
    expect(
      await costBars.evaluateAll((gs) => gs.map((g) => [g.getAttribute("data-group"), g.getAttribute("data-cost-per-approval")])),
    ).toEqual([
      ["US · sms", "0.015"],
      ["GB · whatsapp", "0.02"],
      ["GB · sms", "0.05"],
    ]);
    expect(await page.locator("[data-chart=cost] text").allTextContents()).toContain(
      "0.015 EUR · 50% approved · 2.33 billable msgs/approval",
    );
    expect(consoleErrors.filter((e) => !/404/.test(e))).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
  });

  it("lists the active abuse blocks with their reason, repeat and end", async () => {
    const db = new Database(h.dbPath);
    try {
      const now = h.clock.now();
      db.prepare(
        `insert into abuse_blocks (id, scope, key, key_sealed, reason, sends, approvals, mode, repeat, created_at, expires_at)
         values ('abk_seen', 'country', 'UZ', null, 'unproven_country', 5, 0, 'enforce', 2, ?, ?)`,
      ).run(now, now + 4 * 3_600_000);
    } finally {
      db.close();
    }
    await page.locator("#refresh").click();
    const row = page.locator("#blocks tr[data-block=abk_seen]");
    await row.waitFor();
    expect(await row.getAttribute("data-reason")).toBe("unproven_country");
    const cells = await row.locator("td").allTextContents();
    expect(cells[0]).toBe("country UZ");
    expect(cells[1]).toContain("no approval on record");
    expect(cells.slice(2)).toEqual([
      "5 / 0",
      "2nd block, 4 h",
      new Date(h.clock.now() + 4 * 3_600_000).toISOString().slice(0, 16).replace("T", " "),
      "enforce",
    ]);
  }, 60_000);

  it("forgets a refused key and asks again", async () => {
    // Runs in the page, where `sessionStorage` exists (tsconfig has no DOM library).
    await page.evaluate('sessionStorage.setItem("verifyd.adminKey", "vfd_not_a_real_key_0123456789")');
    await page.goto(`${base}/dashboard`);
    await page.locator("#login-error:text('The key was refused.')").waitFor();
    expect(await page.evaluate('sessionStorage.getItem("verifyd.adminKey")')).toBeNull();
  });
});
