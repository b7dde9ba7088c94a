import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

/** `/docs` works with no network: everything it loads comes from verifyd, and each file is served. */

const CONTENT_TYPES: Record<string, RegExp> = { js: /^text\/javascript\b/, css: /^text\/css\b/ };

describe("the API docs page", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  it("references only same-origin URLs", async () => {
    const res = await h.runtime.app.request("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html\b/);
    const html = await res.text();
    const references = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1] ?? "");
    expect(references.length).toBeGreaterThanOrEqual(2);
    for (const url of references) expect(url).toMatch(/^\/(?!\/)/);
    // The spec comes from /openapi.json; the online validator badge, which would call out, is off.
    expect(html).toContain("url: '/openapi.json'");
    expect(html).toContain("validatorUrl: 'none'");
    expect(html).not.toMatch(/\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
  });

  it("serves each file it references with its content type, as the pinned package ships it", async () => {
    const html = await (await h.runtime.app.request("/docs")).text();
    const references = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1] ?? "");
    const fromPackage = createRequire(import.meta.url);
    for (const url of references) {
      const res = await h.runtime.app.request(url);
      expect(res.status, url).toBe(200);
      const extension = url.split(".").at(-1) ?? "";
      expect(res.headers.get("content-type"), url).toMatch(CONTENT_TYPES[extension] ?? /^$/);
      const file = url.split("/").at(-1) ?? "";
      const shipped = readFileSync(fromPackage.resolve(`swagger-ui-dist/${file}`));
      expect(Buffer.from(await res.arrayBuffer()).equals(shipped), url).toBe(true);
    }
  });

  it("serves nothing else from the package", async () => {
    for (const path of ["/docs/assets/swagger-ui-dist/package.json", "/docs/assets/swagger-ui-dist/..%2Fpackage.json"]) {
      const res = await h.runtime.app.request(path);
      expect(res.status).toBe(404);
    }
  });
});
