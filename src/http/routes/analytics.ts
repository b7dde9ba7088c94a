import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AnalyticsService, FunnelGroup } from "../../core/analytics.js";
import { VerifydError } from "../../core/errors.js";
import { maskPhone } from "../../core/events.js";
import type { AnalyticsDimension } from "../../core/model.js";
import type { RecentVerification } from "../../core/store/analytics.js";
import type { AppEnv, Principal } from "../context.js";
import { json, problems, security } from "../openapi.js";
import { validationHook } from "../validation.js";

export interface AnalyticsRoutesDeps {
  analytics: AnalyticsService;
}

const DIMENSION = "(channel|country|provider|day|step)";
const instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .transform((s) => Date.parse(s))
  .openapi({ description: "ISO 8601 date (UTC midnight) or date-time.", example: "2026-01-01" });
const serviceId = z
  .string()
  .min(1)
  .max(64)
  .optional()
  .openapi({ param: { name: "service_id", in: "query" }, description: "Admin keys: one service. Service keys: their own only." });

const FunnelQuery = z.object({
  from: instant.optional().openapi({ param: { name: "from", in: "query" }, description: "Inclusive; default `to` − 7 days." }),
  to: instant.optional().openapi({ param: { name: "to", in: "query" }, description: "Exclusive; default now." }),
  group_by: z
    .string()
    .regex(
      new RegExp(`^${DIMENSION}(,${DIMENSION}){0,2}$`),
      "one to three of channel, country, provider, day, step, comma-separated",
    )
    .openapi({
      param: { name: "group_by", in: "query" },
      example: "country,channel",
      description:
        "`step` is the index (from 0) of the route step the verification ended on; `channel` and `provider` are those of its last step and attempt.",
    }),
  service_id: serviceId,
});
const RecentQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .openapi({ param: { name: "limit", in: "query" }, example: 20 }),
  service_id: serviceId,
});

const FunnelGroupView = z
  .object({
    key: z.record(z.string(), z.string()).openapi({ example: { day: "2026-01-15", channel: "sms" } }),
    requested: z.number().int(),
    sent: z.number().int(),
    delivered: z.number().int(),
    checked: z.number().int(),
    approved: z.number().int(),
    conversion: z.number().openapi({ description: "approved / requested, 4 decimals." }),
    median_time_to_approve_ms: z.number().nullable(),
    messages_sent: z.number().int(),
    messages_per_approval: z.number().nullable().openapi({ description: "messages_sent / approved." }),
    billable_messages: z.number().int().openapi({
      description:
        "Messages billed under their channel's rule: accepted ones on channels billed on send (SMS, voice, email), delivered ones on channels billed on delivery (WhatsApp, RCS), unless the price table says otherwise.",
    }),
    billable_messages_per_approval: z.number().nullable(),
    cost: z.number().nullable().openapi({
      description:
        "What the group's attempts cost (every attempt of its verifications, fallbacks and resends included), each at the price in force when it was sent; null without a price table.",
      example: 12.345,
    }),
    cost_per_approval: z
      .number()
      .nullable()
      .openapi({ description: "cost / approved: what one successful verification cost; null without approvals or prices." }),
    currency: z.string().nullable().openapi({ example: "EUR" }),
    unpriced_messages: z
      .number()
      .int()
      .openapi({ description: "Billable messages the price table has no price for (they cost nothing in `cost`)." }),
  })
  .openapi("FunnelGroup");
const FunnelView = z
  .object({
    from: z.string(),
    to: z.string(),
    group_by: z.array(z.enum(["channel", "country", "provider", "day", "step"])),
    groups: z.array(FunnelGroupView),
  })
  .openapi("Analytics");
const RecentView = z
  .object({
    data: z.array(
      z.object({
        id: z.string(),
        service_id: z.string(),
        to_masked: z.string().nullable().openapi({ example: "+1415***0100" }),
        country: z.string().nullable(),
        status: z.string(),
        channel: z.string().nullable(),
        created_at: z.string(),
        approved_at: z.string().nullable(),
        deliveries: z.array(
          z.object({
            channel: z.string(),
            provider: z.string(),
            status: z.string(),
            error_code: z.string().nullable(),
            tries: z.number().int(),
            created_at: z.string(),
          }),
        ),
      }),
    ),
  })
  .openapi("RecentVerifications");

const funnelDef = createRoute({
  method: "get",
  operationId: "getAnalytics",
  path: "/",
  summary: "Conversion funnel per group",
  description:
    "Counts of verifications created in [from, to) reaching each stage (requested, sent, delivered, checked, approved), per group, with what their messages cost (with a price table in the config file): cost per approved verification, billable messages per approval and conversion. The range is at most 366 days.",
  security,
  request: { query: FunnelQuery },
  responses: { 200: json(FunnelView, "The groups, ordered by key"), ...problems(400, 401, 403, 429) },
});
const recentDef = createRoute({
  method: "get",
  operationId: "listRecentVerifications",
  path: "/recent",
  summary: "The newest verifications with their delivery attempts (numbers masked)",
  security,
  request: { query: RecentQuery },
  responses: { 200: json(RecentView, "Newest first"), ...problems(400, 401, 403, 429) },
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const toGroupView = (g: FunnelGroup) => ({
  key: g.key as Record<string, string>,
  requested: g.requested,
  sent: g.sent,
  delivered: g.delivered,
  checked: g.checked,
  approved: g.approved,
  conversion: g.conversion,
  median_time_to_approve_ms: g.medianApproveMs,
  messages_sent: g.messagesSent,
  messages_per_approval: g.messagesPerApproval,
  billable_messages: g.billableMessages,
  billable_messages_per_approval: g.billableMessagesPerApproval,
  cost: g.cost,
  cost_per_approval: g.costPerApproval,
  currency: g.currency,
  unpriced_messages: g.unpricedMessages,
});

const toRecentView = ({ verification: v, deliveries }: RecentVerification) => ({
  id: v.id,
  service_id: v.serviceId,
  to_masked: maskPhone(v.to || v.verifiedNumber),
  country: v.country,
  status: v.status,
  channel: v.route[v.currentStep]?.channel ?? null,
  created_at: new Date(v.createdAt).toISOString(),
  approved_at: iso(v.approvedAt),
  deliveries: deliveries.map((d) => ({
    channel: d.channel,
    provider: d.provider,
    status: d.status,
    error_code: d.errorCode,
    tries: d.tries,
    created_at: new Date(d.createdAt).toISOString(),
  })),
});

/** The service a request may read: any (or all) for admin keys, only its own for a service key. */
function scope(principal: Principal, requested: string | undefined): string | undefined {
  if (principal.admin) return requested;
  if (requested !== undefined && requested !== principal.service.id) {
    throw new VerifydError("forbidden", "a service key reads only its own service's analytics");
  }
  return principal.service.id;
}

/** `GET /v1/analytics` and `GET /v1/analytics/recent`. Mounted at `/v1/analytics`. */
export function analyticsRoutes({ analytics }: AnalyticsRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(funnelDef, async (c) => {
    const q = c.req.valid("query");
    const groupBy = q.group_by.split(",") as AnalyticsDimension[];
    const sid = scope(c.get("principal"), q.service_id);
    const result = await analytics.funnel({
      groupBy,
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
      ...(sid !== undefined ? { serviceId: sid } : {}),
    });
    return c.json(
      {
        from: new Date(result.from).toISOString(),
        to: new Date(result.to).toISOString(),
        group_by: groupBy,
        groups: result.groups.map(toGroupView),
      },
      200,
    );
  });

  app.openapi(recentDef, async (c) => {
    const q = c.req.valid("query");
    const sid = scope(c.get("principal"), q.service_id);
    const rows = await analytics.recent({ limit: q.limit, ...(sid !== undefined ? { serviceId: sid } : {}) });
    return c.json({ data: rows.map(toRecentView) }, 200);
  });

  return app;
}
