import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

type Problem = { type: string; title: string; status: number; code: string; detail: string; errors?: { pointer: string }[] };

describe("bad input answers 4xx problem+json, never 500", () => {
  let h: Harness;
  let id: string;
  beforeAll(async () => {
    h = await createHarness();
    ({ id } = await h.startVerification("+14155550170"));
  });
  afterAll(async () => h.close());

  const problem = async (res: Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as Problem;
    expect(body).toMatchObject({ status, code });
    expect(body.type).toMatch(/^https:\/\//);
    expect(body.title.length).toBeGreaterThan(0);
    expect(body.detail.length).toBeGreaterThan(0);
    return body;
  };

  it.each([
    ["malformed JSON", "POST", "/v1/verifications", "{not json", 400, "invalid_json"],
    ["a JSON array", "POST", "/v1/verifications", "[]", 400, "invalid_request"],
    ["a missing field", "POST", "/v1/verifications", {}, 400, "invalid_request"],
    ["a wrong type", "POST", "/v1/verifications", { to: 14155550100 }, 400, "invalid_request"],
    ["an unknown field", "POST", "/v1/verifications", { to: "+14155550100", cod: "1" }, 400, "invalid_request"],
    ["a bad client_ip", "POST", "/v1/verifications", { to: "+14155550100", client_ip: "999.1.1.1" }, 400, "invalid_request"],
    ["a bad phone number", "POST", "/v1/verifications", { to: "+1 555" }, 400, "invalid_phone_number"],
    ["a number without country code", "POST", "/v1/verifications", { to: "4155550100" }, 400, "invalid_phone_number"],
    ["a check without code", "POST", "/v1/verifications/ver_x/check", {}, 400, "invalid_request"],
    ["a numeric code", "POST", "/v1/verifications/ver_x/check", { code: 123456 }, 400, "invalid_request"],
    ["an oversized code", "POST", "/v1/verifications/ver_x/check", { code: "1".repeat(33) }, 400, "invalid_request"],
    ["a check by a bad number", "POST", "/v1/verification-checks", { to: "nope", code: "123456" }, 400, "invalid_phone_number"],
    ["an unknown verification", "GET", "/v1/verifications/ver_unknown", undefined, 404, "verification_not_found"],
    ["a resend of an unknown id", "POST", "/v1/verifications/ver_unknown/resend", undefined, 404, "verification_not_found"],
    ["a cancel of an unknown id", "POST", "/v1/verifications/ver_unknown/cancel", undefined, 404, "verification_not_found"],
    ["an unknown route", "GET", "/v1/nothing-here", undefined, 404, "route_not_found"],
  ] as const)("%s", async (_name, method, path, body, status, code) => {
    await problem(await h.call(method, path, body), status, code);
  });

  it("points at the offending field", async () => {
    const body = await problem(await h.call("POST", "/v1/verifications", { to: 42 }), 400, "invalid_request");
    expect(body.errors?.[0]?.pointer).toBe("/to");
  });

  it("refuses a body that is not JSON", async () => {
    await problem(
      await h.call("POST", "/v1/verifications", "to=+14155550100", { "content-type": "application/x-www-form-urlencoded" }),
      415,
      "unsupported_media_type",
    );
  });

  it("refuses an oversized body before parsing it", async () => {
    await problem(
      await h.call("POST", "/v1/verifications", { to: "+14155550100", pad: "x".repeat(20_000) }),
      413,
      "payload_too_large",
    );
  });

  it("judges a body that declares its length by the header, and counts one that does not", async () => {
    const body = JSON.stringify({ to: "+14155550100", pad: "x".repeat(20_000) });
    // Declared: refused on Content-Length alone (the server's HTTP parser holds it to that length).
    const declared = { "content-type": "application/json", "content-length": String(body.length) };
    await problem(await h.call("POST", "/v1/verifications", body, declared), 413, "payload_too_large");
    // Declared small but streamed: the counting path measures what arrives.
    const chunked = { "content-type": "application/json", "transfer-encoding": "chunked" };
    await problem(await h.call("POST", "/v1/verifications", body, chunked), 413, "payload_too_large");
    const small = JSON.stringify({ to: "+14155550100" });
    const ok = await h.call("POST", "/v1/verifications", small, {
      "content-type": "application/json",
      "content-length": String(small.length),
    });
    expect(ok.status).toBe(201);
  });

  it("refuses a missing, malformed or unknown API key", async () => {
    const noKey = await h.runtime.app.request("/v1/verifications/ver_x");
    await problem(noKey, 401, "unauthorized");
    const basic = await h.runtime.app.request("/v1/verifications/ver_x", { headers: { authorization: "Basic Zm9vOmJhcg==" } });
    await problem(basic, 401, "unauthorized");
    const unknown = await h.runtime.app.request("/v1/verifications/ver_x", {
      headers: { authorization: "Bearer vfd_not_a_real_key_000000000000" },
    });
    await problem(unknown, 401, "unauthorized");
  });

  it("refuses a resend or cancel of a closed verification with 409", async () => {
    const { id: other, code } = await h.startVerification("+14155550171");
    await h.call("POST", `/v1/verifications/${other}/check`, { code });
    await problem(await h.call("POST", `/v1/verifications/${other}/resend`), 409, "verification_closed");
    await problem(await h.call("POST", `/v1/verifications/${other}/cancel`), 409, "verification_closed");
  });

  it("refuses a resend body with unknown fields", async () => {
    await problem(await h.call("POST", `/v1/verifications/${id}/resend`, { channel: "voice" }), 400, "invalid_request");
    await problem(await h.call("POST", `/v1/verifications/${id}/resend`, "{oops"), 400, "invalid_json");
  });

  it("serves liveness, readiness and the OpenAPI document without a key", async () => {
    expect((await h.runtime.app.request("/healthz")).status).toBe(200);
    expect((await h.runtime.app.request("/readyz")).status).toBe(200);
    const doc = (await (await h.runtime.app.request("/openapi.json")).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/verifications",
        "/v1/verifications/{id}",
        "/v1/verifications/{id}/check",
        "/v1/verification-checks",
      ]),
    );
    expect((await h.runtime.app.request("/docs")).status).toBe(200);
  });
});

describe("Idempotency-Key on start", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  it("replays the first answer for the same key and body, without a second send", async () => {
    const headers = { "idempotency-key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"' };
    const first = await h.json<{ id: string }>("POST", "/v1/verifications", { to: "+14155550180" }, headers);
    const again = await h.json<{ id: string }>("POST", "/v1/verifications", { to: "+14155550180" }, headers);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(h.sender.messages.filter((m) => m.to === "+14155550180")).toHaveLength(1);
  });

  it("answers 422 for the same key with another body", async () => {
    const headers = { "idempotency-key": "key-2" };
    expect((await h.call("POST", "/v1/verifications", { to: "+14155550181" }, headers)).status).toBe(201);
    const other = await h.json<{ code: string }>("POST", "/v1/verifications", { to: "+14155550182" }, headers);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe("idempotency_key_mismatch");
  });

  it("does not remember failures, so a corrected retry goes through", async () => {
    const headers = { "idempotency-key": "key-3" };
    const bad = await h.json<{ code: string }>("POST", "/v1/verifications", { to: "+1 555" }, headers);
    expect(bad.status).toBe(400);
    expect((await h.call("POST", "/v1/verifications", { to: "+14155550183" }, headers)).status).toBe(201);
  });

  it("refuses a malformed key", async () => {
    const res = await h.json<{ code: string }>(
      "POST",
      "/v1/verifications",
      { to: "+14155550184" },
      { "idempotency-key": "with space" },
    );
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("idempotency_key_invalid");
  });
});
