import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { EventLog, EventScope } from "../../core/event-log.js";
import { EVENT_STATUSES, EVENT_TYPES } from "../../core/model.js";
import type { EventEntry } from "../../core/store/events.js";
import type { AppEnv, Principal } from "../context.js";
import { json, problems, security } from "../openapi.js";
import { validationHook } from "../validation.js";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const EventView = z
  .object({
    id: z
      .string()
      .openapi({ description: "Also the `webhook-id` header of every try.", example: "evt_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4" }),
    type: z.enum(EVENT_TYPES),
    service_id: z.string().nullable(),
    status: z.enum(EVENT_STATUSES).openapi({ description: "`dead`: every try failed; only a redeliver sends it again." }),
    tries: z.number().int(),
    last_error: z.string().nullable().openapi({ description: "Why the last try failed.", example: "http_500" }),
    next_try_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    payload: z.record(z.string(), z.unknown()).openapi({ description: "The body as it is sent (and signed)." }),
  })
  .openapi("Event");
const EventList = z.object({ data: z.array(EventView) }).openapi("EventList");
const EventListQuery = z.object({
  status: z
    .enum(EVENT_STATUSES)
    .optional()
    .openapi({ param: { name: "status", in: "query" }, example: "dead" }),
  service_id: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .openapi({ param: { name: "service_id", in: "query" }, description: "Admin keys: one service's events." }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .optional()
    .openapi({ param: { name: "limit", in: "query" }, description: "At most 500; 100 by default." }),
});
const EventParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

const toEventView = (e: EventEntry) => ({
  id: e.id,
  type: e.type,
  service_id: e.serviceId,
  status: e.status,
  tries: e.tries,
  last_error: e.lastError,
  next_try_at: iso(e.nextTryAt),
  created_at: iso(e.createdAt) as string,
  updated_at: iso(e.updatedAt) as string,
  payload: JSON.parse(e.payload) as Record<string, unknown>,
});

const listDef = createRoute({
  method: "get",
  operationId: "listEvents",
  path: "/events",
  summary: "List event webhooks, newest first (e.g. `?status=dead`)",
  description: "An admin key sees every service's events; a service key its own service's.",
  security,
  request: { query: EventListQuery },
  responses: { 200: json(EventList, "The events"), ...problems(400, 401, 429) },
});
const redeliverDef = createRoute({
  method: "post",
  operationId: "redeliverEvent",
  path: "/events/{id}/redeliver",
  summary: "Send an event again now (a dead one above all)",
  description:
    "The event becomes pending and due at once; the worker sends it within a second, with the same `webhook-id`. If that try fails too, a dead event is dead again.",
  security,
  request: { params: EventParams },
  responses: { 202: json(EventView, "Queued for an immediate try"), ...problems(400, 401, 404, 429) },
});

const scopeOf = (principal: Principal, serviceId: string | undefined): EventScope =>
  principal.admin
    ? { admin: true, ...(serviceId !== undefined ? { serviceId } : {}) }
    : { admin: false, serviceId: principal.service.id };

/** The event log: dead events and their redelivery. Mounted at `/v1`. */
export function eventRoutes({ events }: { events: EventLog }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(listDef, async (c) => {
    const { status, service_id, limit } = c.req.valid("query");
    const scope = scopeOf(c.get("principal"), service_id);
    const list = await events.list(scope, { ...(status ? { status } : {}), limit: limit ?? 100 });
    return c.json({ data: list.map(toEventView) }, 200);
  });
  app.openapi(redeliverDef, async (c) => {
    const scope = scopeOf(c.get("principal"), undefined);
    return c.json(toEventView(await events.redeliver(scope, c.req.valid("param").id)), 202);
  });
  return app;
}
