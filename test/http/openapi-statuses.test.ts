import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { V1_MIDDLEWARE_STATUSES } from "../../src/http/app.js";
import { ADMIN_KEY, createHarness, type Harness } from "../helpers/harness.js";

/**
 * The OpenAPI document lists every status an operation answers. Each operation is probed the ways
 * the middleware in front of it refuses (no key, a body too large, a non-JSON body, broken JSON,
 * the key's request budget spent) and the ways its handler refuses a stranger's or an empty request,
 * and every status seen must be documented on that operation.
 */

interface Operation {
  method: string;
  path: string;
  documented: Set<string>;
  hasBody: boolean;
}

const SAMPLE_PARAMS: Record<string, string> = { id: "x_unknown", phone: "+14155550100", channel: "sms" };

async function operationsOf(h: Harness): Promise<Operation[]> {
  const doc = (await (await h.runtime.app.request("/openapi.json")).json()) as {
    paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
  };
  return Object.entries(doc.paths).flatMap(([template, item]) =>
    Object.entries(item).map(([method, op]) => ({
      method: method.toUpperCase(),
      path: template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(SAMPLE_PARAMS[name] ?? "x")),
      documented: new Set(Object.keys(op.responses)),
      hasBody: op.requestBody !== undefined,
    })),
  );
}

const request = async (h: Harness, op: Operation, headers: Record<string, string>, body?: string): Promise<Response> =>
  h.runtime.app.request(op.path, { method: op.method, headers, body });

describe("documented statuses", () => {
  let h: Harness;
  let operations: Operation[];
  beforeAll(async () => {
    h = await createHarness({ VERIFYD_MAX_BODY_BYTES: "1024" });
    operations = await operationsOf(h);
  });
  afterAll(async () => h.close());

  it("cover the middleware statuses on every operation", () => {
    expect(operations.length).toBeGreaterThan(20);
    for (const op of operations) {
      for (const s of V1_MIDDLEWARE_STATUSES) {
        if (s.methods && !s.methods.includes(op.method.toLowerCase())) continue;
        if (s.withBody && !op.hasBody) continue;
        expect([...op.documented], `${op.method} ${op.path}`).toContain(String(s.status));
      }
    }
  });

  it("cover every status the middleware and handlers answer to refused requests", async () => {
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    const stranger = await h.otherServiceKey();
    const seen: string[] = [];
    for (const op of operations) {
      const json = { ...admin, "content-type": "application/json" };
      const probes: [string, () => Promise<Response>][] = [
        ["no key", () => request(h, op, {})],
        ["a wrong key", () => request(h, op, { authorization: "Bearer vfd_wrong" })],
        [
          "another service's key",
          () => request(h, op, { ...stranger, "content-type": "application/json" }, op.hasBody ? "{}" : undefined),
        ],
        ["an empty body", () => request(h, op, json, op.hasBody ? "{}" : undefined)],
      ];
      if (op.method !== "GET") probes.push(["a body over the limit", () => request(h, op, json, `"${"x".repeat(2048)}"`)]);
      if (op.method === "POST") {
        probes.push(["a text body", () => request(h, op, { ...admin, "content-type": "text/plain" }, "hello")]);
      }
      if (op.hasBody) probes.push(["broken JSON", () => request(h, op, json, "{")]);
      for (const [what, send] of probes) {
        const status = String((await send()).status);
        seen.push(status);
        expect(op.documented.has(status), `${op.method} ${op.path} with ${what} answered ${status}`).toBe(true);
      }
    }
    // The probes reached the middleware's refusals, not just the handlers'.
    for (const status of ["400", "401", "403", "404", "413", "415"]) expect(seen).toContain(status);
  });
});

describe("documented statuses with the key's request budget spent", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ VERIFYD_LIMIT_REQUESTS_PER_KEY: "1/1h" });
  });
  afterAll(async () => h.close());

  it("include the 429 every operation then answers", async () => {
    const operations = await operationsOf(h);
    const admin = { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" };
    expect((await h.runtime.app.request("/v1/factors?entity_id=u1", { headers: admin })).status).not.toBe(429);
    for (const op of operations) {
      const status = (await request(h, op, admin, op.hasBody ? "{}" : undefined)).status;
      expect(status, `${op.method} ${op.path}`).toBe(429);
      expect(op.documented.has("429"), `${op.method} ${op.path}`).toBe(true);
    }
  });
});
