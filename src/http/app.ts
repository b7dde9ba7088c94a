import { swaggerUI } from "@hono/swagger-ui";
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { Logger } from "pino";
import type { InboundNumber } from "../config/env.js";
import type { AdminService } from "../core/admin.js";
import type { AnalyticsService } from "../core/analytics.js";
import type { ConversionGuard } from "../core/conversion.js";
import { VerifydError } from "../core/errors.js";
import type { EventLog } from "../core/event-log.js";
import type { FactorService } from "../core/factors.js";
import type { InboundService } from "../core/inbound.js";
import { type Metrics, noopMetrics } from "../core/metrics.js";
import type { ChangeNotifier } from "../core/notifier.js";
import type { OptOutService } from "../core/opt-outs.js";
import type { Clock, Limiter } from "../core/ports.js";
import type { RetentionService } from "../core/retention.js";
import type { Store } from "../core/store/index.js";
import type { VerificationService } from "../core/verification/index.js";
import { clientAbortResponse } from "./client-abort.js";
import type { AppEnv } from "./context.js";
import { DOCS_ASSETS, DOCS_ASSETS_PATH, docsAsset, isDocsAsset } from "./docs-assets.js";
import { accessLog } from "./middleware/access-log.js";
import { type Authenticator, requireApiKey } from "./middleware/auth.js";
import { limitBody } from "./middleware/body-limit.js";
import { limitPerKey } from "./middleware/limits.js";
import { requestMetrics } from "./middleware/metrics.js";
import { type MiddlewareStatus, withMiddlewareStatuses } from "./openapi.js";
import { problem, problemFromError } from "./problem.js";
import { abuseRoutes } from "./routes/abuse.js";
import { adminRoutes } from "./routes/admin.js";
import { analyticsRoutes } from "./routes/analytics.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { erasureRoutes } from "./routes/erasure.js";
import { eventRoutes } from "./routes/events.js";
import { challengeRoutes, factorRoutes } from "./routes/factors.js";
import { healthRoutes, type ReadinessProbe } from "./routes/health.js";
import { type MetricsRouteDeps, metricsRoutes } from "./routes/metrics.js";
import { optOutRoutes } from "./routes/opt-outs.js";
import { verificationCheckRoutes, verificationRoutes } from "./routes/verifications.js";
import { type WebhookRoutesDeps, webhookRoutes } from "./routes/webhooks.js";
import { onTwilioSurface, TWILIO_BASE_PATH, twilioCompatRoutes, twilioErrorHandler } from "./twilio/app.js";
import { validationHook } from "./validation.js";

export interface AppDeps {
  verifications: VerificationService;
  /** Authenticator-app (TOTP) factors and their challenges. */
  factors: FactorService;
  authenticate: Authenticator;
  limiter: Limiter;
  store: Store;
  clock: Clock;
  logger: Logger;
  /** @default 0 — X-Forwarded-For is ignored unless verifyd is told how many proxies to trust. */
  trustProxyHops?: number;
  /** @default 16_384 */
  maxBodyBytes?: number;
  version?: string;
  /** Provider callbacks; without it, `/webhooks/…` answers 404. */
  webhooks?: WebhookRoutesDeps;
  /** Person-to-application verification (`channel: inbound`) and its business numbers. */
  inbound?: InboundService;
  inboundNumbers?: readonly InboundNumber[];
  /** STOP-keyword opt-outs (`/v1/opt-outs`). */
  optOuts: OptOutService;
  /** Erasure of a number's rows (`/v1/erasure`). */
  retention: RetentionService;
  /** The conversion funnel and recent verifications (`/v1/analytics`). */
  analytics: AnalyticsService;
  /** Services and API keys (`/v1/services`, `/v1/keys`); without it, those paths answer 404. */
  admin?: AdminService;
  /** The conversion guard's blocks (`/v1/abuse/blocks`); without it, those paths answer 404. */
  conversion?: ConversionGuard;
  /** The event-webhook log (`/v1/events`); without it, those paths answer 404. */
  events?: EventLog;
  /** Wakes long-polling reads of a verification. */
  notifier?: ChangeNotifier;
  /** Records request durations and rate-limit refusals. */
  metrics?: Metrics;
  /** Serves `GET /metrics`; without it, `/metrics` answers 404. */
  metricsEndpoint?: MetricsRouteDeps;
  /** Readiness conditions beyond the store's own. */
  readinessProbes?: ReadinessProbe[];
}

/** The screening reasons a `blocked` refusal carries (see core/abuse.ts). */
const blockReasons = (err: VerifydError): string[] => {
  const reasons = err.details.extensions?.reasons;
  return Array.isArray(reasons) ? reasons.filter((r): r is string => typeof r === "string") : [];
};

const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

/**
 * What the middleware in front of every `/v1` operation (createApp, below) may answer, whatever the
 * operation; the OpenAPI document lists these on each operation.
 */
export const V1_MIDDLEWARE_STATUSES: readonly MiddlewareStatus[] = [
  // limitBody: any method that may carry a body.
  { status: 413, description: "Problem: `payload_too_large`", methods: ["post", "put", "patch", "delete"] },
  // The JSON-only check: a POST that declares another media type.
  { status: 415, description: "Problem: `unsupported_media_type`", methods: ["post"] },
  // A body that is not JSON.
  { status: 400, description: "Problem: `invalid_json`, `invalid_request`", withBody: true },
  // requireApiKey.
  { status: 401, description: "Problem: `unauthorized`" },
  // limitPerKey: the key's request budget, and the limiter's store not answering.
  { status: 429, description: "Problem: `rate_limited`" },
  { status: 503, description: "Problem: `limiter_unavailable`" },
];

/**
 * Builds the HTTP API over services the composition root (compose.ts) built; it builds none itself.
 * Pure: no I/O happens until a request arrives.
 */
export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const routeDeps = { ...deps, trustProxyHops: deps.trustProxyHops ?? 0 };
  const metrics = deps.metrics ?? noopMetrics;

  app.use(requestId({ headerName: "x-request-id" }));
  app.use(accessLog(deps.logger));
  app.use(requestMetrics(metrics));
  const maxBodyBytes = deps.maxBodyBytes ?? 16_384;
  // Requests to the Twilio surface get Twilio's error JSON, also from the middleware here.
  const twilioErrors = deps.admin ? twilioErrorHandler(deps) : undefined;
  app.use(
    limitBody(maxBodyBytes, (c) => {
      const err = new VerifydError("payload_too_large", `bodies are limited to ${maxBodyBytes} bytes`);
      return twilioErrors && onTwilioSurface(c) ? twilioErrors(err, c) : problemFromError(c, err);
    }),
  );

  app.route("/", healthRoutes({ store: deps.store, version: deps.version ?? "dev", probes: deps.readinessProbes }));
  if (deps.metricsEndpoint) app.route("/", metricsRoutes(deps.metricsEndpoint));
  if (deps.webhooks) app.route("/", webhookRoutes(deps.webhooks));
  app.route("/", dashboardRoutes());

  app.use("/v1/*", async (c, next) => {
    // A declared non-JSON body is refused outright; an undeclared one fails schema validation instead.
    const type = c.req.header("content-type");
    if (c.req.method === "POST" && type && !JSON_MEDIA.test(type.split(";")[0]?.trim() ?? "")) {
      throw new VerifydError("unsupported_media_type", "send the body as application/json");
    }
    await next();
  });
  app.use("/v1/*", requireApiKey(deps.authenticate));
  app.use("/v1/*", limitPerKey(deps.limiter));

  app.route("/v1/verifications", verificationRoutes(routeDeps));
  app.route("/v1/verification-checks", verificationCheckRoutes(routeDeps));
  app.route("/v1/factors", factorRoutes(routeDeps));
  app.route("/v1/challenges", challengeRoutes(routeDeps));
  app.route("/v1/opt-outs", optOutRoutes({ optOuts: deps.optOuts }));
  app.route("/v1/erasure", erasureRoutes({ retention: deps.retention }));
  if (deps.admin) app.route("/v1", adminRoutes({ admin: deps.admin }));
  app.route("/v1/analytics", analyticsRoutes({ analytics: deps.analytics }));
  if (deps.conversion) app.route("/v1/abuse", abuseRoutes({ conversion: deps.conversion }));
  if (deps.events) app.route("/v1", eventRoutes({ events: deps.events }));
  // The Twilio Verify v2 surface: its own auth (HTTP Basic), form bodies and error JSON.
  if (deps.admin)
    app.route(TWILIO_BASE_PATH, twilioCompatRoutes({ ...routeDeps, admin: deps.admin, basePath: TWILIO_BASE_PATH }));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  // Built on first request (the routes are all registered by then) and kept.
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  app.get("/openapi.json", (c) => {
    document ??= withMiddlewareStatuses(
      app.getOpenAPI31Document({
        openapi: "3.1.0",
        info: {
          title: "verifyd",
          version: deps.version ?? "dev",
          description:
            "Self-hosted verification: send a one-time code to a phone number (SMS, WhatsApp, RCS or a voice call that speaks it) or an email address and check it, or check authenticator-app (TOTP) codes. Errors are RFC 9457 problem documents.",
          license: { name: "Apache-2.0", url: "https://www.apache.org/licenses/LICENSE-2.0" },
        },
        // The verifyd that serves this document (it is reached at whatever address the caller used).
        servers: [{ url: "/", description: "This verifyd" }],
      }),
      "/v1/",
      V1_MIDDLEWARE_STATUSES,
    );
    return c.json(document);
  });
  // Swagger UI's files come from verifyd itself, never a CDN: the page works with no internet access.
  app.get("/docs", swaggerUI({ url: "/openapi.json", baseUrl: DOCS_ASSETS_PATH, validatorUrl: "none", title: "verifyd API" }));
  app.get(`${DOCS_ASSETS_PATH}/swagger-ui-dist/:file`, (c) => {
    const file = c.req.param("file");
    if (!isDocsAsset(file)) return problem(c, { code: "route_not_found", detail: `GET ${c.req.path} is not an endpoint` });
    return c.body(docsAsset(file), 200, {
      "content-type": DOCS_ASSETS[file],
      "cache-control": "public, max-age=3600",
      "x-content-type-options": "nosniff",
    });
  });

  app.notFound((c) => problem(c, { code: "route_not_found", detail: `${c.req.method} ${c.req.path} is not an endpoint` }));
  app.onError((err, c) => {
    if (twilioErrors && onTwilioSurface(c)) return twilioErrors(err, c);
    const aborted = clientAbortResponse(c, err, deps.logger);
    if (aborted) return aborted;
    if (err instanceof VerifydError) {
      if (err.details.limit) metrics.rateLimited(err.details.limit.rule);
      if (err.code === "blocked") for (const reason of blockReasons(err)) metrics.abuseBlocked(reason);
      return problemFromError(c, err);
    }
    if (err instanceof HTTPException && err.status < 500) {
      if (/json/i.test(err.message)) return problem(c, { code: "invalid_json", detail: "the body is not valid JSON" });
      return problem(c, { code: "invalid_request", detail: err.message });
    }
    deps.logger.error({ err, request_id: c.get("requestId") }, "unhandled error");
    return problem(c, { code: "internal_error", detail: "an unexpected error occurred; it has been logged" });
  });

  return app;
}
