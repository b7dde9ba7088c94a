import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import { ScureBase32Plugin } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";
import { onSharedBackends } from "../helpers/shared-backends.js";
import { codeAt, parseOtpauth } from "../helpers/totp.js";

/** These tests read the SQLite file itself; the store contract holds PostgreSQL to the same. */
const sqliteFileOnly = onSharedBackends();

type Problem = { status: number; code: string; title: string; detail: string };

describe("factor endpoints: bad requests, scoping and storage", () => {
  let h: Harness;
  let factorId: string;
  let secret: string;
  beforeAll(async () => {
    h = await createHarness();
    const created = await h.json<{ id: string; otpauth_uri: string }>("POST", "/v1/factors", { entity_id: "user_7" });
    factorId = created.body.id;
    secret = parseOtpauth(created.body.otpauth_uri).secret;
    await h.call("POST", `/v1/factors/${factorId}/verify`, { code: await codeAt({ secret }, h.clock.now()) });
  });
  afterAll(async () => h.close());

  const problem = async (res: Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as Problem;
    expect(body).toMatchObject({ status, code });
    expect(body.detail.length).toBeGreaterThan(0);
  };

  it.each([
    ["a create without entity_id", "POST", "/v1/factors", {}, 400, "invalid_request"],
    ["an empty entity_id", "POST", "/v1/factors", { entity_id: "" }, 400, "invalid_request"],
    ["a numeric entity_id", "POST", "/v1/factors", { entity_id: 42 }, 400, "invalid_request"],
    ["5 digits", "POST", "/v1/factors", { entity_id: "u", digits: 5 }, 400, "invalid_request"],
    ["a 45-second period", "POST", "/v1/factors", { entity_id: "u", period: 45 }, 400, "invalid_request"],
    ["a caller-chosen secret", "POST", "/v1/factors", { entity_id: "u", secret: "JBSWY3DPEHPK3PXP" }, 400, "invalid_request"],
    ["malformed JSON", "POST", "/v1/factors", "{oops", 400, "invalid_json"],
    ["a list without entity_id", "GET", "/v1/factors", undefined, 400, "invalid_request"],
    ["a verify without code", "POST", "/v1/factors/fct_x/verify", {}, 400, "invalid_request"],
    ["a numeric code", "POST", "/v1/factors/fct_x/verify", { code: 123456 }, 400, "invalid_request"],
    ["a challenge without a target", "POST", "/v1/challenges", { code: "123456" }, 400, "invalid_request"],
    [
      "a challenge with two targets",
      "POST",
      "/v1/challenges",
      { factor_id: "f", entity_id: "e", code: "1" },
      400,
      "invalid_request",
    ],
    ["a challenge without code", "POST", "/v1/challenges", { factor_id: "fct_x" }, 400, "invalid_request"],
    ["an unknown factor", "GET", "/v1/factors/fct_unknown", undefined, 404, "factor_not_found"],
    ["a delete of an unknown factor", "DELETE", "/v1/factors/fct_unknown", undefined, 404, "factor_not_found"],
  ] as const)("refuses %s", async (_name, method, path, body, status, code) => {
    await problem(await h.call(method, path, body), status, code);
  });

  it("requires an API key", async () => {
    await problem(await h.runtime.app.request("/v1/factors?entity_id=user_7"), 401, "unauthorized");
    const res = await h.runtime.app.request("/v1/challenges", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ factor_id: factorId, code: "123456" }),
    });
    await problem(res, 401, "unauthorized");
  });

  it("answers unknown factors in verify and challenge as data", async () => {
    const verify = await h.json("POST", "/v1/factors/fct_unknown/verify", { code: "123456" });
    expect(verify).toMatchObject({ status: 200, body: { valid: false, status: null, reason: "not_found" } });
    const challenge = await h.json("POST", "/v1/challenges", { entity_id: "nobody", code: "123456" });
    expect(challenge).toMatchObject({ status: 200, body: { valid: false, reason: "not_found", factor_id: null } });
  });

  it("hides a factor from another service's key", async () => {
    const auth = await h.otherServiceKey();
    const as = (method: string, path: string, body?: unknown) => h.json(method, path, body, auth);
    h.clock.advance(30_000);
    const right = await codeAt({ secret }, h.clock.now());

    expect((await as("GET", `/v1/factors/${factorId}`)).status).toBe(404);
    expect((await as("GET", "/v1/factors?entity_id=user_7")).body).toEqual({ data: [] });
    expect((await as("POST", "/v1/challenges", { factor_id: factorId, code: right })).body).toMatchObject({
      valid: false,
      reason: "not_found",
    });
    expect((await as("POST", "/v1/challenges", { entity_id: "user_7", code: right })).body).toMatchObject({
      reason: "not_found",
    });
    expect((await as("POST", `/v1/factors/${factorId}/verify`, { code: right })).body).toMatchObject({ reason: "not_found" });
    expect((await h.call("DELETE", `/v1/factors/${factorId}`, undefined, auth)).status).toBe(404);
    // Still there, and the code the other key tried was not spent.
    const own = await h.json("POST", "/v1/challenges", { factor_id: factorId, code: right });
    expect(own.body).toMatchObject({ valid: true, factor_id: factorId });
  });

  it.skipIf(sqliteFileOnly)(
    "stores the secret only sealed: neither its base32 form nor its bytes are in the row or the file",
    () => {
      const raw = Buffer.from(new ScureBase32Plugin().decode(secret));
      expect(raw).toHaveLength(20);
      const db = new Database(h.dbPath, { readonly: true });
      let row: { sealed_secret: Buffer } | undefined;
      try {
        row = db.prepare("select sealed_secret from factors where id = ?").get(factorId) as { sealed_secret: Buffer } | undefined;
      } finally {
        db.close();
      }
      const sealed = row?.sealed_secret as Buffer;
      expect(sealed).toHaveLength(12 + 16 + 20); // IV, tag, ciphertext
      expect(sealed.includes(raw)).toBe(false);
      expect(sealed.includes(Buffer.from(secret, "ascii"))).toBe(false);

      const files = [h.dbPath, `${h.dbPath}-wal`].map((f) => {
        try {
          return readFileSync(f);
        } catch {
          return Buffer.alloc(0);
        }
      });
      expect(Buffer.concat(files).includes(sealed)).toBe(true); // the scan does see the row's bytes
      for (const file of files) {
        expect(file.includes(raw)).toBe(false);
        expect(file.includes(Buffer.from(secret, "ascii"))).toBe(false);
      }
    },
  );

  it("never writes the secret to the log", () => {
    expect(h.logs.length).toBeGreaterThan(5);
    for (const line of h.logs) expect(line).not.toContain(secret);
  });

  it("documents the endpoints in the OpenAPI document", async () => {
    const doc = (await (await h.runtime.app.request("/openapi.json")).json()) as { paths: Record<string, object> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/factors", "/v1/factors/{id}", "/v1/factors/{id}/verify", "/v1/challenges"]),
    );
    expect(Object.keys(doc.paths["/v1/factors/{id}"] ?? {})).toEqual(expect.arrayContaining(["get", "delete"]));
  });
});
