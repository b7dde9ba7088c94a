import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { otpauthUri } from "../../src/core/totp.js";
import { createHarness, type Harness } from "../helpers/harness.js";

/**
 * A lone UTF-16 surrogate ("\ud800" in JSON) is valid JSON but not Unicode text: it cannot be encoded
 * as UTF-8 or percent-encoded into a URI. Every free-text field is refused at the edge with a 400 that
 * names the field, never a 5xx from deep inside (otpauth URI, message text, provider request).
 */
describe("text that is not well-formed Unicode", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h.close());

  const LONE = "\ud800";
  const payment = { amount: "EUR 12.50" };

  it.each([
    ["a factor's entity_id", "/v1/factors", { entity_id: LONE }, "/entity_id"],
    ["a factor's entity_id with a trailing low surrogate", "/v1/factors", { entity_id: "user\udc00" }, "/entity_id"],
    ["a factor's label", "/v1/factors", { entity_id: "user_1", label: `ada${LONE}` }, "/label"],
    ["a start's payee", "/v1/verifications", { to: "+14155550100", ...payment, payee: `ACME ${LONE}` }, "/payee"],
    ["a start's device_id", "/v1/verifications", { to: "+14155550101", device_id: LONE }, "/device_id"],
    ["a start's user_id", "/v1/verifications", { to: "+14155550102", user_id: LONE }, "/user_id"],
    ["a check's payee", "/v1/verification-checks", { to: "+14155550103", code: "123456", ...payment, payee: LONE }, "/payee"],
    ["a challenge's entity_id", "/v1/challenges", { entity_id: LONE, code: "123456" }, "/entity_id"],
    ["a service name (the TOTP issuer)", "/v1/services", { name: `Acme${LONE}` }, "/name"],
    ["a service template", "/v1/services", { name: "Acme", templates: { en: { sms: `{code} ${LONE}` } } }, "/templates/en/sms"],
  ] as const)("refuses %s with a 400 naming the field", async (_name, path, body, pointer) => {
    const res = await h.call("POST", path, body);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as { code: string; detail: string; errors: { pointer: string }[] };
    expect(problem.code).toBe("invalid_request");
    expect(problem.detail.startsWith(`${pointer.slice(1)}:`)).toBe(true);
    expect(problem.errors).toEqual([expect.objectContaining({ pointer })]);
  });

  it("refuses a lone surrogate in a service rename and an API key label", async () => {
    const created = await h.json<{ id: string }>("POST", "/v1/services", { name: "Acme" });
    expect(created.status).toBe(201);
    const rename = await h.json<{ code: string; errors: { pointer: string }[] }>("PATCH", `/v1/services/${created.body.id}`, {
      name: LONE,
    });
    expect(rename).toMatchObject({ status: 400, body: { code: "invalid_request", errors: [{ pointer: "/name" }] } });
    const key = await h.json("POST", "/v1/keys", { service_id: created.body.id, label: LONE });
    expect(key).toMatchObject({ status: 400, body: { code: "invalid_request", errors: [{ pointer: "/label" }] } });
  });

  it("still accepts well-formed text outside the BMP (a surrogate pair)", async () => {
    const res = await h.json<{ otpauth_uri: string }>("POST", "/v1/factors", { entity_id: "user_😀", label: "ada 😀" });
    expect(res.status).toBe(201);
    expect(res.body.otpauth_uri).toContain(encodeURIComponent("ada 😀"));
  });

  it("builds an otpauth URI from a stored issuer that is not well-formed, with U+FFFD in its place", () => {
    const uri = otpauthUri({ issuer: `Acme${LONE}`, account: "ada", secret: new Uint8Array(20), digits: 6, period: 30 });
    expect(uri.startsWith(`otpauth://totp/Acme${encodeURIComponent("\ufffd")}:ada?`)).toBe(true);
  });
});
