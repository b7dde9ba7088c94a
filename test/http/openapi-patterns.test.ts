import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

type Schema = { pattern?: string; properties?: Record<string, Schema> };

/** Every `pattern` in the document, with the JSON path where it sits. */
function patterns(node: unknown, at = "$"): { at: string; pattern: string }[] {
  if (typeof node !== "object" || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === "pattern" && typeof value === "string" ? [{ at, pattern: value }] : patterns(value, `${at}.${key}`),
  );
}

/**
 * Generated clients validate with the document's patterns: each must be a plain ECMA-262 pattern
 * (no `/…/flags` syntax) that accepts what the server accepts.
 */
describe("patterns in /openapi.json", () => {
  let h: Harness;
  let doc: { components: { schemas: Record<string, Schema> } };
  beforeAll(async () => {
    h = await createHarness();
    doc = (await (await h.runtime.app.request("/openapi.json")).json()) as typeof doc;
  });
  afterAll(async () => h.close());

  it("are valid patterns, none with a regex literal's flags", () => {
    const found = patterns(doc);
    expect(found.length).toBeGreaterThan(0);
    for (const { at, pattern } of found) {
      expect(pattern, at).not.toMatch(/\/[dgimsuvy]+$/);
      expect(() => new RegExp(pattern, "u"), at).not.toThrow();
    }
  });

  it("publish the payee pattern the server applies", async () => {
    const payee = doc.components.schemas.StartVerification?.properties?.payee?.pattern;
    expect(payee).toBeDefined();
    const published = new RegExp(payee as string, "u");
    const cases: [string, boolean][] = [
      ["ACME", true],
      ["Café Zürich", true],
      ["Shop 😀", true],
      ["AC\u0007ME", false],
      ["ACME\u0085", false],
      ["{code}", false],
    ];
    let n = 0;
    for (const [value, valid] of cases) {
      expect(published.test(value), value).toBe(valid);
      const res = await h.call("POST", "/v1/verifications", {
        to: `+1415555010${n++}`,
        amount: "EUR 12.50",
        payee: value,
      });
      expect(res.status, value).toBe(valid ? 201 : 400);
    }
  });
});
