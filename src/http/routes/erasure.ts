import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { parseDestination } from "../../core/destination.js";
import type { RetentionService } from "../../core/retention.js";
import type { AppEnv } from "../context.js";
import { requireAdmin } from "../middleware/auth.js";
import { json, problems, security } from "../openapi.js";
import { validationHook } from "../validation.js";

export interface ErasureRoutesDeps {
  retention: Pick<RetentionService, "erase">;
}

const ErasureBody = z
  .object({
    to: z
      .string()
      .min(1)
      .max(254)
      .openapi({ description: "Phone number in E.164 form, or an email address.", example: "+14155550100" }),
    include_opt_out: z.boolean().optional().openapi({
      description:
        "Also delete the number's opt-outs. Off by default: keeping a STOP on record is a legal obligation (GDPR Art. 17(3)(b)).",
    }),
  })
  .strict()
  .openapi("ErasureBody");

const count = z.number().int().min(0);
const ErasureView = z
  .object({
    to: z.string().openapi({ example: "+14155550100" }),
    deleted: z.object({
      verifications: count,
      deliveries: count,
      idempotency_keys: count,
      rate_limits: count,
      opt_outs: count,
      channel_memory: count.openapi({ description: "The destination's channel memory entries (see route planning)." }),
    }),
  })
  .openapi("Erasure");

const eraseRouteDef = createRoute({
  method: "post",
  operationId: "eraseDestination",
  path: "/",
  summary: "Erase every row about a phone number or email address (admin keys only)",
  description:
    "Deletes the destination's verifications and their deliveries, the idempotency keys whose stored answer names one of them, " +
    "its rate-limit counters, its channel memory and, with `include_opt_out`, a number's opt-outs. Answers the counts of deleted rows.",
  security,
  request: { body: { content: { "application/json": { schema: ErasureBody } }, required: true } },
  responses: { 200: json(ErasureView, "What was deleted"), ...problems(400, 401, 403, 429) },
});

/** Erasure spans services (a number is one person whichever service sent to it): admin keys only. */
export function erasureRoutes({ retention }: ErasureRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", requireAdmin("erasure needs an admin key"));

  app.openapi(eraseRouteDef, async (c) => {
    const body = c.req.valid("json");
    const { to } = parseDestination(body.to);
    const d = await retention.erase(to, body.include_opt_out ?? false);
    return c.json(
      {
        to,
        deleted: {
          verifications: d.verifications,
          deliveries: d.deliveries,
          idempotency_keys: d.idempotencyKeys,
          rate_limits: d.rateLimits,
          opt_outs: d.optOuts,
          channel_memory: d.channelMemory ?? 0,
        },
      },
      200,
    );
  });

  return app;
}
