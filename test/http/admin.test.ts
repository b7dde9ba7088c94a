import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../helpers/harness.js";

type ServiceView = {
  id: string;
  name: string;
  policy: Record<string, unknown>;
  created_at: string;
};
type KeyView = {
  id: string;
  service_id: string | null;
  label: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
};
type Problem = { code: string; status: number };

describe("admin API: services and keys", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  const createService = (body: object) => h.json<ServiceView & Problem>("POST", "/v1/services", body);
  const createKey = (serviceId: string, label = "backend") =>
    h.json<{ id: string; service_id: string; label: string; prefix: string; key: string }>("POST", "/v1/keys", {
      service_id: serviceId,
      label,
    });
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  it("creates a service whose key starts verifications under its own policy, scoped to that service", async () => {
    h.clock.advance(1_000);
    const created = await createService({ name: "Acme", code_length: 8, ttl_seconds: 300 });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^svc_[0-9a-f]{32}$/);
    expect(created.body).toMatchObject({
      name: "Acme",
      policy: { code_length: 8, ttl_seconds: 300, max_checks: 5, max_sends: 5, resend_policy: "same" },
    });
    const id = created.body.id;

    const read = await h.json<ServiceView>("GET", `/v1/services/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    const list = await h.json<{ data: ServiceView[] }>("GET", "/v1/services");
    expect(list.body.data.map((s) => s.id)).toEqual(["svc_default", id]);

    const key = await createKey(id);
    expect(key.status).toBe(201);
    expect(key.body.key).toMatch(/^vfd_[\w-]{43}$/);
    expect(key.body).toMatchObject({ service_id: id, label: "backend", prefix: key.body.key.slice(0, 12) });

    const started = await h.json<{ id: string; expires_at: string }>(
      "POST",
      "/v1/verifications",
      { to: "+14155550100" },
      as(key.body.key),
    );
    expect(started.status).toBe(201);
    expect(h.sender.lastCode()).toMatch(/^\d{8}$/);
    expect(Date.parse(started.body.expires_at) - h.clock.now()).toBe(300_000);

    // The admin key acts on the default service: neither sees the other's verification.
    expect((await h.json<Problem>("GET", `/v1/verifications/${started.body.id}`)).body.code).toBe("verification_not_found");
    const own = await h.startVerification("+14155550101");
    expect(h.sender.lastCode()).toMatch(/^\d{6}$/);
    const cross = await h.json<Problem>("GET", `/v1/verifications/${own.id}`, undefined, as(key.body.key));
    expect(cross.status).toBe(404);
    expect(cross.body.code).toBe("verification_not_found");
    expect((await h.json("GET", `/v1/verifications/${started.body.id}`, undefined, as(key.body.key))).status).toBe(200);
  });

  it("updates only the fields given, and answers 404 for an unknown service", async () => {
    const { body } = await createService({ name: "Acme", code_length: 8 });
    const patched = await h.json<ServiceView>("PATCH", `/v1/services/${body.id}`, { max_checks: 3 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: "Acme", policy: { code_length: 8, max_checks: 3 } });
    const renamed = await h.json<ServiceView>("PATCH", `/v1/services/${body.id}`, { name: "Acme Pay", resend_policy: "new" });
    expect(renamed.body).toMatchObject({ name: "Acme Pay", policy: { code_length: 8, max_checks: 3, resend_policy: "new" } });

    for (const [method, path, payload] of [
      ["GET", "/v1/services/svc_missing", undefined],
      ["PATCH", "/v1/services/svc_missing", { code_length: 7 }],
      ["POST", "/v1/keys", { service_id: "svc_missing", label: "x" }],
    ] as const) {
      const res = await h.json<Problem>(method, path, payload);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("service_not_found");
    }
  });

  it("lists keys without secrets and revokes them (effective after the auth cache)", async () => {
    const { body: service } = await createService({ name: "Acme" });
    const { body: key } = await createKey(service.id, "web");
    await createKey(service.id, "worker");

    const listed = await h.call("GET", `/v1/keys?service_id=${service.id}`);
    const text = await listed.text();
    expect(listed.status).toBe(200);
    expect(text).not.toContain(key.key);
    const keys = (JSON.parse(text) as { data: KeyView[] }).data;
    expect(keys.map((k) => k.label)).toEqual(["web", "worker"]);
    expect(keys[0]).toEqual({
      id: key.id,
      service_id: service.id,
      label: "web",
      prefix: key.prefix,
      created_at: new Date(h.clock.now()).toISOString(),
      revoked_at: null,
    });
    expect(Object.keys(keys[0] ?? {})).not.toContain("key");
    const other = await h.json<{ data: KeyView[] }>("GET", "/v1/keys?service_id=svc_default");
    expect(other.body.data.map((k) => k.id)).not.toContain(key.id);

    const start = () => h.json<Problem>("POST", "/v1/verifications", { to: "+14155550100" }, as(key.key));
    expect((await start()).status).toBe(201);

    const revoked = await h.call("DELETE", `/v1/keys/${key.id}`);
    expect(revoked.status).toBe(204);
    const after = await h.json<{ data: KeyView[] }>("GET", `/v1/keys?service_id=${service.id}`);
    expect(after.body.data.find((k) => k.id === key.id)?.revoked_at).toBe(new Date(h.clock.now()).toISOString());

    h.clock.advance(6_000);
    const refused = await start();
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe("unauthorized");
    expect((await h.json<Problem>("DELETE", "/v1/keys/key_missing")).body.code).toBe("api_key_not_found");
  });

  it("refuses invalid bodies with a 400 problem", async () => {
    const invalid = [
      {},
      { name: "" },
      { name: "Acme", code_length: 3 },
      { name: "Acme", code_length: 11 },
      { name: "Acme", ttl_seconds: 601 },
      { name: "Acme", ttl_seconds: 59 },
      { name: "Acme", max_checks: 0 },
      { name: "Acme", max_checks: 101 },
      { name: "Acme", max_sends: 21 },
      { name: "Acme", resend_policy: "sometimes" },
      { name: "Acme", route: [] },
    ];
    for (const body of invalid) {
      const res = await createService(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.body.code).toBe("invalid_request");
    }
    const { body: service } = await createService({ name: "Acme" });
    const patch = await h.json<Problem>("PATCH", `/v1/services/${service.id}`, { ttl_seconds: 3600 });
    expect(patch.status).toBe(400);
    expect((await h.json<Problem>("POST", "/v1/keys", { service_id: service.id })).status).toBe(400);
    // Nothing was stored by the refused requests.
    expect((await h.json<{ data: ServiceView[] }>("GET", "/v1/services")).body.data).toHaveLength(2);
  });

  it("refuses a service key with 403", async () => {
    const other = await h.otherServiceKey();
    for (const [method, path, body] of [
      ["POST", "/v1/services", { name: "Mine" }],
      ["GET", "/v1/services", undefined],
      ["GET", "/v1/services/svc_other", undefined],
      ["PATCH", "/v1/services/svc_other", { code_length: 4 }],
      ["POST", "/v1/keys", { service_id: "svc_other", label: "x" }],
      ["GET", "/v1/keys", undefined],
      ["DELETE", "/v1/keys/key_other", undefined],
    ] as const) {
      const res = await h.json<Problem>(method, path, body, other);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.code).toBe("forbidden");
    }
    expect((await h.json<{ data: KeyView[] }>("GET", "/v1/keys?service_id=svc_other")).body.data[0]?.revoked_at).toBeNull();
  });
});
