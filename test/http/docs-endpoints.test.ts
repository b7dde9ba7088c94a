import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

/**
 * docs/api.md's "Endpoints at a glance" names every operation of the OpenAPI document, and nothing
 * the document does not have (the routes outside it, such as /webhooks, /twilio and /dashboard, may be
 * listed too).
 */

const API_PAGE = resolve(import.meta.dirname, "../../docs/api.md");
const OUTSIDE_OPENAPI = ["/webhooks/", "/twilio/", "/dashboard", "/healthz", "/readyz", "/openapi.json", "/docs", "/metrics"];

/** `METHOD /path` for each row of the table: methods and paths from its first two cells, queries dropped. */
function documented(): Set<string> {
  const page = readFileSync(API_PAGE, "utf8");
  const start = page.indexOf("## Endpoints at a glance");
  const table = page
    .slice(start, page.indexOf("\n## ", start + 1))
    .split("\n")
    .filter((line) => line.startsWith("| `"));
  const operations = new Set<string>();
  for (const row of table) {
    const [methods = "", paths = ""] = row.split(" | ");
    for (const method of methods.match(/[A-Z]+/g) ?? []) {
      for (const path of paths.match(/`[^`]+`/g) ?? []) operations.add(`${method} ${path.slice(1, -1).split("?")[0]}`);
    }
  }
  return operations;
}

describe("docs/api.md", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  it("lists every endpoint of the OpenAPI document, and no /v1 endpoint it lacks", async () => {
    const doc = (await (await h.runtime.app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const served = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const listed = documented();
    expect(served.filter((op) => !listed.has(op))).toEqual([]);
    const extra = [...listed].filter(
      (op) => !served.includes(op) && !OUTSIDE_OPENAPI.some((p) => op.split(" ")[1]?.startsWith(p)),
    );
    expect(extra).toEqual([]);
  });
});
