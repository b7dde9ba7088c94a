import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AdminService } from "../../core/admin.js";
import type { Service, VerificationPolicy } from "../../core/model.js";
import type { ApiKeyEntry } from "../../core/store/services.js";
import type { AppEnv } from "../context.js";
import { requireAdmin } from "../middleware/auth.js";
import { json, problems, security } from "../openapi.js";
import { SettingsFields, SettingsView, settingsView, toSettingsPatch } from "../service-settings-schema.js";
import { validationHook } from "../validation.js";
import { toWebhookInput, toWebhookView, WebhookSettingsFields, WebhookSettingsView } from "./service-webhook.js";

export interface AdminRoutesDeps {
  admin: AdminService;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const PolicyFields = {
  code_length: z.number().int().min(4).max(10).openapi({ description: "Digits per code, 4–10.", example: 6 }),
  ttl_seconds: z
    .number()
    .int()
    .min(60)
    .max(600)
    .openapi({ description: "How long a verification stays valid: 60–600 s (the NIST 10-minute ceiling).", example: 600 }),
  max_checks: z.number().int().min(1).max(100).openapi({ description: "Checks per verification, 1–100.", example: 5 }),
  max_sends: z.number().int().min(1).max(20).openapi({ description: "Sends per verification, 1–20.", example: 5 }),
  resend_cooldown_seconds: z
    .number()
    .int()
    .min(0)
    .max(3600)
    .openapi({ description: "Minimum time between two sends, 0–3600 s.", example: 30 }),
  resend_policy: z.enum(["same", "new"]).openapi({ description: "`same` resends the live code; `new` rotates it." }),
};
const PolicyShape = Object.fromEntries(Object.entries(PolicyFields).map(([f, schema]) => [f, schema.optional()])) as {
  [K in keyof typeof PolicyFields]: z.ZodOptional<(typeof PolicyFields)[K]>;
};
const name = z
  .string()
  .trim()
  .min(1)
  .max(40)
  .openapi({ description: "Shown in messages and authenticator apps.", example: "Acme" });

const PolicyView = z
  .object({
    code_length: z.number(),
    ttl_seconds: z.number(),
    max_checks: z.number(),
    max_sends: z.number(),
    resend_cooldown_seconds: z.number(),
    resend_policy: z.enum(["same", "new"]),
  })
  .openapi("ServicePolicy");
const ServiceView = z
  .object({
    id: z.string().openapi({ example: "svc_3f2a9c0d4b1e4f6a8c7d5e2b1a0f9e8d" }),
    name: z.string(),
    policy: PolicyView,
    settings: SettingsView,
    created_at: z.string().openapi({ example: "2026-01-01T12:00:00.000Z" }),
    webhook: WebhookSettingsView,
  })
  .openapi("Service");
const ServiceList = z.object({ data: z.array(ServiceView) }).openapi("ServiceList");
const CreateServiceBody = z
  .object({
    name,
    code_length: PolicyFields.code_length.optional(),
    ttl_seconds: PolicyFields.ttl_seconds.optional(),
    max_checks: PolicyFields.max_checks.optional(),
    max_sends: PolicyFields.max_sends.optional(),
    resend_cooldown_seconds: PolicyFields.resend_cooldown_seconds.optional(),
    resend_policy: PolicyFields.resend_policy.optional(),
    // Event webhook receiver: its own block (service-webhook.ts).
    ...WebhookSettingsFields,
    ...Object.fromEntries(Object.entries(SettingsFields).map(([field, schema]) => [field, schema.optional()])),
  } as typeof PolicyShape & { name: typeof name } & typeof WebhookSettingsFields & {
      [K in keyof typeof SettingsFields]: z.ZodOptional<(typeof SettingsFields)[K]>;
    })
  .strict()
  .openapi("CreateServiceBody");
const UpdateServiceBody = CreateServiceBody.partial().strict().openapi("UpdateServiceBody");
const ServiceParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

const KeyView = z
  .object({
    id: z.string().openapi({ example: "key_01932c4e8f7a7b3c9d2e1f0a4b5c6d7e" }),
    service_id: z.string().nullable().openapi({ description: "`null` for an admin key." }),
    label: z.string(),
    prefix: z.string().openapi({ description: "The first 12 characters of the key, to recognise it.", example: "vfd_Zx3k9QpL" }),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi("ApiKey");
const KeyList = z.object({ data: z.array(KeyView) }).openapi("ApiKeyList");
const CreatedKey = z
  .object({
    id: z.string(),
    service_id: z.string(),
    label: z.string(),
    prefix: z.string(),
    key: z.string().openapi({ description: "The secret, shown once: verifyd keeps only its SHA-256." }),
  })
  .openapi("CreatedApiKey");
const CreateKeyBody = z
  .object({
    service_id: z.string().min(1).max(64),
    label: z.string().trim().min(1).max(100).openapi({ example: "checkout backend" }),
  })
  .strict()
  .openapi("CreateApiKeyBody");
const KeyListQuery = z.object({
  service_id: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .openapi({ param: { name: "service_id", in: "query" } }),
});
const KeyParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

type PolicyInput = Omit<Partial<z.infer<typeof CreateServiceBody>>, keyof typeof WebhookSettingsFields>;

/** The request's policy fields as stored overrides (seconds to milliseconds); absent fields stay unset. */
export function toPolicy(input: PolicyInput): Partial<VerificationPolicy> {
  const policy: Partial<VerificationPolicy> = {};
  if (input.code_length !== undefined) policy.codeLength = input.code_length;
  if (input.ttl_seconds !== undefined) policy.ttlMs = input.ttl_seconds * 1000;
  if (input.max_checks !== undefined) policy.maxChecks = input.max_checks;
  if (input.max_sends !== undefined) policy.maxSends = input.max_sends;
  if (input.resend_cooldown_seconds !== undefined) policy.resendCooldownMs = input.resend_cooldown_seconds * 1000;
  if (input.resend_policy !== undefined) policy.resendPolicy = input.resend_policy;
  return policy;
}

export const toServiceView = (s: Service & { createdAt: number; webhook: { url: string | null; secretSet: boolean } }) => ({
  id: s.id,
  name: s.name,
  policy: {
    code_length: s.policy.codeLength,
    ttl_seconds: Math.round(s.policy.ttlMs / 1000),
    max_checks: s.policy.maxChecks,
    max_sends: s.policy.maxSends,
    resend_cooldown_seconds: Math.round(s.policy.resendCooldownMs / 1000),
    resend_policy: s.policy.resendPolicy,
  },
  settings: settingsView(s),
  created_at: new Date(s.createdAt).toISOString(),
  webhook: toWebhookView(s.webhook),
});

export const toKeyView = (k: ApiKeyEntry) => ({
  id: k.id,
  service_id: k.serviceId,
  label: k.label,
  prefix: k.prefix,
  created_at: new Date(k.createdAt).toISOString(),
  revoked_at: iso(k.revokedAt),
});

const createServiceDef = createRoute({
  method: "post",
  operationId: "createService",
  path: "/services",
  summary: "Create a service (admin keys only)",
  description: "Unset policy fields take the configured defaults; the route is the default service's.",
  security,
  request: { body: { content: { "application/json": { schema: CreateServiceBody } }, required: true } },
  responses: { 201: json(ServiceView, "The service"), ...problems(400, 401, 403, 429) },
});
const listServicesDef = createRoute({
  method: "get",
  operationId: "listServices",
  path: "/services",
  summary: "List services (admin keys only)",
  security,
  responses: { 200: json(ServiceList, "The services, oldest first"), ...problems(401, 403, 429) },
});
const getServiceDef = createRoute({
  method: "get",
  operationId: "getService",
  path: "/services/{id}",
  summary: "Read a service (admin keys only)",
  security,
  request: { params: ServiceParams },
  responses: { 200: json(ServiceView, "The service"), ...problems(400, 401, 403, 404, 429) },
});
const updateServiceDef = createRoute({
  method: "patch",
  operationId: "updateService",
  path: "/services/{id}",
  summary: "Change a service's name or policy (admin keys only)",
  description: "Fields left out are unchanged. Keys already in use see the change within 5 seconds.",
  security,
  request: { params: ServiceParams, body: { content: { "application/json": { schema: UpdateServiceBody } }, required: true } },
  responses: { 200: json(ServiceView, "The service"), ...problems(400, 401, 403, 404, 429) },
});
const createKeyDef = createRoute({
  method: "post",
  operationId: "createApiKey",
  path: "/keys",
  summary: "Create an API key for a service (admin keys only)",
  description: "The answer holds the key itself, once; it cannot be read again.",
  security,
  request: { body: { content: { "application/json": { schema: CreateKeyBody } }, required: true } },
  responses: { 201: json(CreatedKey, "The key"), ...problems(400, 401, 403, 404, 429) },
});
const listKeysDef = createRoute({
  method: "get",
  operationId: "listApiKeys",
  path: "/keys",
  summary: "List API keys (admin keys only)",
  description: "Never their secrets. Narrow to one service with `service_id`.",
  security,
  request: { query: KeyListQuery },
  responses: { 200: json(KeyList, "The keys, oldest first"), ...problems(400, 401, 403, 429) },
});
const revokeKeyDef = createRoute({
  method: "delete",
  operationId: "revokeApiKey",
  path: "/keys/{id}",
  summary: "Revoke an API key (admin keys only)",
  description: "Takes effect within 5 seconds. Revoking a revoked key keeps its first revocation time.",
  security,
  request: { params: KeyParams },
  responses: { 204: { description: "Revoked" }, ...problems(400, 401, 403, 404, 429) },
});

/** Services and their API keys span tenants: admin keys only. Mounted at `/v1`. */
export function adminRoutes({ admin }: AdminRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  const adminOnly = requireAdmin("services and keys are managed with an admin key");
  for (const path of ["/services", "/services/*", "/keys", "/keys/*"]) app.use(path, adminOnly);

  app.openapi(createServiceDef, async (c) => {
    const { name: serviceName, webhook_url, webhook_secret, ...fields } = c.req.valid("json");
    const webhook = toWebhookInput({ webhook_url, webhook_secret });
    const service = await admin.createService({
      name: serviceName,
      policy: toPolicy(fields),
      ...toSettingsPatch(fields),
      ...(webhook ? { webhook } : {}),
    });
    return c.json(toServiceView(service), 201);
  });
  app.openapi(listServicesDef, async (c) => c.json({ data: (await admin.listServices()).map(toServiceView) }, 200));
  app.openapi(getServiceDef, async (c) => c.json(toServiceView(await admin.getService(c.req.valid("param").id)), 200));
  app.openapi(updateServiceDef, async (c) => {
    const { name: serviceName, webhook_url, webhook_secret, ...fields } = c.req.valid("json");
    const webhook = toWebhookInput({ webhook_url, webhook_secret });
    const service = await admin.updateService(c.req.valid("param").id, {
      ...(serviceName !== undefined ? { name: serviceName } : {}),
      policy: toPolicy(fields),
      ...(webhook ? { webhook } : {}),
      ...toSettingsPatch(fields),
    });
    return c.json(toServiceView(service), 200);
  });

  app.openapi(createKeyDef, async (c) => {
    const body = c.req.valid("json");
    const created = await admin.createApiKey({ serviceId: body.service_id, label: body.label });
    return c.json(
      { id: created.id, service_id: body.service_id, label: created.label, prefix: created.prefix, key: created.key },
      201,
    );
  });
  app.openapi(listKeysDef, async (c) => {
    const { service_id } = c.req.valid("query");
    const keys = await admin.listApiKeys(service_id !== undefined ? { serviceId: service_id } : {});
    return c.json({ data: keys.map(toKeyView) }, 200);
  });
  app.openapi(revokeKeyDef, async (c) => {
    await admin.revokeApiKey(c.req.valid("param").id);
    return c.body(null, 204);
  });

  return app;
}
