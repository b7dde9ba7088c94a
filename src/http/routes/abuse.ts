import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { ConversionGuard } from "../../core/conversion.js";
import { type AbuseBlock, CONVERSION_REASONS, CONVERSION_SCOPES } from "../../core/model.js";
import type { AppEnv } from "../context.js";
import { requireAdmin } from "../middleware/auth.js";
import { json, problems, security } from "../openapi.js";
import { validationHook } from "../validation.js";

export interface AbuseRoutesDeps {
  conversion: ConversionGuard;
}

const AbuseBlockView = z
  .object({
    id: z.string().openapi({ example: "abk_5d1c0a4e9b7f4c2aa1e3f6b8d0c2e4f6" }),
    scope: z.enum(CONVERSION_SCOPES),
    key: z.string().openapi({
      description:
        "The number prefix (the number without its last `VERIFYD_PREFIX_DIGITS` digits), the range (two digits fewer), the ISO country code, or the domain of email addresses.",
      example: "+4479112",
    }),
    reason: z.enum(CONVERSION_REASONS).openapi({
      description:
        "`low_conversion_*`: its sends stopped turning into approvals; `unproven_*`: no approval on record, and its first sends found none.",
    }),
    sends: z.number().int().openapi({ description: "Sends in the judged window when the block opened.", example: 42 }),
    approvals: z.number().int().openapi({ description: "Approvals among them.", example: 1 }),
    mode: z.enum(["enforce", "monitor"]).openapi({ description: "`monitor`: the block is recorded but refuses nothing." }),
    repeat: z.number().int().openapi({
      description: "1 for the key's first block within `VERIFYD_CONVERSION_MEMORY`, 2 for the next: each lasts longer.",
      example: 1,
    }),
    created_at: z.string().openapi({ example: "2026-01-15T12:00:00.000Z" }),
    expires_at: z.string().openapi({ description: "When the block lifts by itself.", example: "2026-01-15T13:00:00.000Z" }),
  })
  .openapi("AbuseBlock");
const AbuseBlockList = z.object({ data: z.array(AbuseBlockView) }).openapi("AbuseBlockList");
const BlockParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const toAbuseBlockView = (b: AbuseBlock) => ({
  id: b.id,
  scope: b.scope,
  key: b.key,
  reason: b.reason,
  sends: b.sends,
  approvals: b.approvals,
  mode: b.mode,
  repeat: b.repeat,
  created_at: new Date(b.createdAt).toISOString(),
  expires_at: new Date(b.expiresAt).toISOString(),
});

const listDef = createRoute({
  method: "get",
  operationId: "listAbuseBlocks",
  path: "/blocks",
  summary: "List active automatic blocks (admin keys only)",
  description: "Blocks opened by the conversion guard that are neither lifted nor expired, newest first.",
  security,
  responses: { 200: json(AbuseBlockList, "The active blocks"), ...problems(401, 403, 429) },
});
const liftDef = createRoute({
  method: "delete",
  operationId: "liftAbuseBlock",
  path: "/blocks/{id}",
  summary: "Lift an automatic block (admin keys only)",
  description: "Sends to its prefix or country are accepted again at once, and its counters restart from zero.",
  security,
  request: { params: BlockParams },
  responses: { 204: { description: "Lifted" }, ...problems(400, 401, 403, 404, 429) },
});

/** Blocks span services: admin keys only. Mounted at `/v1/abuse`. */
export function abuseRoutes({ conversion }: AbuseRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", requireAdmin("abuse blocks are managed with an admin key"));

  app.openapi(listDef, async (c) => c.json({ data: (await conversion.listBlocks()).map(toAbuseBlockView) }, 200));
  app.openapi(liftDef, async (c) => {
    await conversion.lift(c.req.valid("param").id);
    return c.body(null, 204);
  });

  return app;
}
