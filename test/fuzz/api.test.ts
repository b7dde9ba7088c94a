import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_TABLE } from "../../src/http/problem.js";
import { ADMIN_KEY, createHarness, type Harness, transcript } from "../helpers/harness.js";

/**
 * Property-based fuzzing of the HTTP API. Whatever arrives — random JSON, broken JSON, deep
 * nesting, huge numbers, odd unicode, odd headers — the answer is never a 500, always JSON, and
 * every error carries a code from the closed table. The seed is fixed so a failure reproduces;
 * `FUZZ_SEED`/`FUZZ_RUNS` widen a local run.
 */
const seed = Number(process.env.FUZZ_SEED ?? 20261124);
const numRuns = Number(process.env.FUZZ_RUNS ?? 150);
const KNOWN_CODES = new Set(Object.keys(ERROR_TABLE));

const ENDPOINTS: readonly { method: string; path: string }[] = [
  { method: "POST", path: "/v1/verifications" },
  { method: "POST", path: "/v1/verification-checks" },
  { method: "POST", path: "/v1/verifications/{id}/check" },
  { method: "POST", path: "/v1/verifications/{id}/resend" },
  { method: "POST", path: "/v1/verifications/{id}/cancel" },
  { method: "GET", path: "/v1/verifications/{id}" },
  { method: "POST", path: "/v1/opt-outs" },
  { method: "GET", path: "/v1/opt-outs" },
  { method: "POST", path: "/v1/erasure" },
  { method: "POST", path: "/v1/factors" },
  { method: "POST", path: "/v1/factors/{id}/verify" },
  { method: "POST", path: "/v1/challenges" },
  { method: "POST", path: "/v1/services" },
  { method: "PATCH", path: "/v1/services/{id}" },
  { method: "POST", path: "/v1/keys" },
  { method: "DELETE", path: "/v1/keys/{id}" },
];

/** Values an attacker or a buggy client sends: wrong types, edge numbers, unicode, deep nesting. */
const nasty = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.constantFrom("+14155550100", "+4915112345678", "+1", "", " ", "\u0000", "+١٢٣٤٥٦٧٨٩٠", "sms", "whatsapp", "inbound"),
    fc.integer(),
    fc.double(),
    fc.constantFrom(1e308, -0, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER),
    fc.boolean(),
    fc.constant(null),
  ),
  value: fc.oneof({ maxDepth: 4 }, tie("leaf"), fc.array(tie("value"), { maxLength: 4 }), tie("object")),
  object: fc.dictionary(
    fc.oneof(
      fc.constantFrom(
        "to",
        "code",
        "channel",
        "channels",
        "locale",
        "client_ip",
        "id",
        "name",
        "phone",
        "entity_id",
        "__proto__",
      ),
      fc.string({ maxLength: 12 }),
    ),
    tie("value"),
    { maxKeys: 6 },
  ),
}));

const ids = fc.oneof(
  fc.constantFrom("ver_0190f0f0-0000-7000-8000-000000000000", "x", "..", "%2e%2e", "a".repeat(300)),
  fc.string({ maxLength: 30 }),
);

function fill(path: string, id: string): string {
  return path.replace("{id}", encodeURIComponent(id) || "x");
}

describe("HTTP API under random input", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ VERIFYD_CODE_LENGTH: "10" });
  });
  afterAll(async () => h.close());

  async function expectWellFormed(res: Response) {
    expect(res.status, `${res.status} ${await res.clone().text()}`).toBeLessThan(500);
    const type = res.headers.get("content-type") ?? "";
    if (res.status === 204) return;
    expect(type).toMatch(/json/);
    const body = (await res.json()) as { code?: string };
    if (res.status >= 400) {
      expect(type).toContain("application/problem+json");
      expect(KNOWN_CODES.has(body.code ?? ""), `unknown code ${body.code}`).toBe(true);
    }
  }

  it("answers random JSON bodies on every endpoint with a well-formed response", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), ids, nasty.object, async (endpoint, id, body) => {
        const res = await h.call(endpoint.method, fill(endpoint.path, id), endpoint.method === "GET" ? undefined : body);
        await expectWellFormed(res);
      }),
      { seed, numRuns },
    );
  });

  it("answers malformed bytes, odd media types and odd headers without a 500", async () => {
    const rawBody = fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.constantFrom("{", "[]", "null", '{"to":', '{"to":"+1415"}}', "\uFEFF{}", `${"[".repeat(5000)}${"]".repeat(5000)}`),
      fc.integer({ min: 1, max: 3000 }).map((n) => `{"to":"${"9".repeat(n)}"}`),
      fc.integer({ min: 0, max: 20 }).map((n) => `{"code":${"1".repeat(n * 20 + 1)}}`),
    );
    const contentType = fc.constantFrom(
      "application/json",
      "application/json; charset=utf-8",
      "application/problem+json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "",
    );
    const headerValue = fc.string({ unit: "grapheme-ascii", maxLength: 300 }).filter((s) => !/[\r\n\0]/.test(s));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ENDPOINTS.filter((e) => e.method !== "GET")),
        ids,
        rawBody,
        contentType,
        fc.option(headerValue),
        fc.option(headerValue),
        async (endpoint, id, body, type, idempotencyKey, forwardedFor) => {
          const headers: Record<string, string> = {};
          if (type) headers["content-type"] = type;
          if (idempotencyKey !== null) headers["idempotency-key"] = idempotencyKey;
          if (forwardedFor !== null) headers["x-forwarded-for"] = forwardedFor;
          const res = await h.call(endpoint.method, fill(endpoint.path, id), body, headers);
          await expectWellFormed(res);
        },
      ),
      { seed, numRuns },
    );
  });

  it("refuses random credentials with 401 and never a 500", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "grapheme-ascii", maxLength: 200 }).filter((s) => !/[\r\n\0]/.test(s) && s !== `Bearer ${ADMIN_KEY}`),
        async (authorization) => {
          const res = await h.call("POST", "/v1/verifications", { to: "+14155550100" }, { authorization });
          expect(res.status).toBe(401);
          await expectWellFormed(res);
        },
      ),
      { seed, numRuns: 60 },
    );
  });

  it("never puts a sent code in any response", () => {
    expect(transcript.bodies.length).toBeGreaterThan(numRuns);
    for (const code of transcript.codes) for (const body of transcript.bodies) expect(body).not.toContain(code);
  });
});
