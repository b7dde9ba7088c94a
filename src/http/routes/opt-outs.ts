import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { OptOut } from "../../core/model.js";
import type { OptOutService } from "../../core/opt-outs.js";
import { normalizePhone } from "../../core/phone.js";
import type { AppEnv } from "../context.js";
import { requireAdmin } from "../middleware/auth.js";
import { json, problems, security } from "../openapi.js";
import { validationHook } from "../validation.js";

export interface OptOutRoutesDeps {
  optOuts: OptOutService;
}

// Email addresses have no opt-out here: they are not phone numbers, and no keyword reaches them.
const channel = z.enum(["sms", "whatsapp", "rcs", "voice"]);
const phone = z.string().min(1).max(64).openapi({ description: "Phone number in E.164 form.", example: "+14155550100" });

const OptOutView = z
  .object({
    phone: z.string().openapi({ example: "+14155550100" }),
    channel,
    source: z.enum(["keyword", "api", "provider"]).openapi({
      description:
        "`keyword`: the user texted a STOP keyword; `api`: added through this API; `provider`: reported by a provider.",
    }),
    keyword: z.string().nullable().openapi({ description: "The keyword the user sent, for `source: keyword`.", example: "STOP" }),
    created_at: z.string().openapi({ example: "2026-01-01T12:00:00.000Z" }),
  })
  .openapi("OptOut");
const OptOutList = z.object({ data: z.array(OptOutView) }).openapi("OptOutList");
const OptOutListQuery = z.object({
  phone: phone.optional().openapi({ param: { name: "phone", in: "query" } }),
  channel: channel.optional().openapi({ param: { name: "channel", in: "query" } }),
});
const OptOutBody = z.object({ phone, channel }).strict().openapi("OptOutBody");
const OptOutParams = z.object({
  phone: phone.openapi({ param: { name: "phone", in: "path" } }),
  channel: channel.openapi({ param: { name: "channel", in: "path" } }),
});

export const toOptOutView = (o: OptOut) => ({
  phone: o.phone,
  // Opt-outs are only ever recorded for the phone channels above.
  channel: o.channel as z.infer<typeof channel>,
  source: o.source,
  keyword: o.keyword,
  created_at: new Date(o.createdAt).toISOString(),
});

const listRouteDef = createRoute({
  method: "get",
  operationId: "listOptOuts",
  path: "/",
  summary: "List opt-outs (admin keys only)",
  description: "Newest first, at most 100; narrow with `phone` and `channel`.",
  security,
  request: { query: OptOutListQuery },
  responses: { 200: json(OptOutList, "The opt-outs"), ...problems(400, 401, 403, 429) },
});
const addRouteDef = createRoute({
  method: "post",
  operationId: "createOptOut",
  path: "/",
  summary: "Opt a number out of a channel (admin keys only)",
  description: "Nothing more is sent to the number on that channel. An existing opt-out is kept as it was.",
  security,
  request: { body: { content: { "application/json": { schema: OptOutBody } }, required: true } },
  responses: { 201: json(OptOutView, "The opt-out"), ...problems(400, 401, 403, 429) },
});
const removeRouteDef = createRoute({
  method: "delete",
  operationId: "deleteOptOut",
  path: "/{phone}/{channel}",
  summary: "Lift an opt-out (admin keys only)",
  description: "Answers 204 whether or not the number had opted out.",
  security,
  request: { params: OptOutParams },
  responses: { 204: { description: "Lifted" }, ...problems(400, 401, 403, 429) },
});

/** Opt-outs span services (a STOP reaches the business number, not a service): admin keys only. */
export function optOutRoutes({ optOuts }: OptOutRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", requireAdmin("opt-outs are managed with an admin key"));

  app.openapi(listRouteDef, async (c) => {
    const query = c.req.valid("query");
    const list = await optOuts.list({
      ...(query.phone !== undefined ? { phone: normalizePhone(query.phone).e164 } : {}),
      ...(query.channel !== undefined ? { channel: query.channel } : {}),
    });
    return c.json({ data: list.map(toOptOutView) }, 200);
  });

  app.openapi(addRouteDef, async (c) => {
    const body = c.req.valid("json");
    const optOut = await optOuts.add(normalizePhone(body.phone).e164, body.channel, "api");
    return c.json(toOptOutView(optOut), 201);
  });

  app.openapi(removeRouteDef, async (c) => {
    const params = c.req.valid("param");
    await optOuts.remove(normalizePhone(params.phone).e164, params.channel);
    return c.body(null, 204);
  });

  return app;
}
