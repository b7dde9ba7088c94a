import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`NOTICE: ${CHROMIUM} is missing; the API docs browser test is skipped (apt-get install chromium)`);

describe.skipIf(!haveChromium)("the API docs page in headless Chromium, offline", () => {
  let h: Harness;
  let server: ReturnType<typeof serve>;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    h = await createHarness();
    server = serve({ fetch: h.runtime.app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await h?.close();
  });

  it("renders every operation with nothing but verifyd reachable", async () => {
    const context = await browser.newContext();
    const elsewhere: string[] = [];
    // Any request to another origin is refused, as on a network with no internet access.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(`${base}/`) || url.startsWith("data:")) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const res = await page.goto(`${base}/docs`);
    expect(res?.status()).toBe(200);
    const operation = page.locator(".opblock-summary-path", { hasText: "/v1/verifications/{id}/check" });
    await operation.first().waitFor({ timeout: 15_000 });
    const doc = (await (await h.runtime.app.request("/openapi.json")).json()) as { paths: Record<string, object> };
    const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    await expect.poll(() => page.locator(".opblock").count(), { timeout: 15_000 }).toBe(operations);
    expect(elsewhere).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
