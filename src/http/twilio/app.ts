import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "pino";
import type { AdminService } from "../../core/admin.js";
import { VerifydError } from "../../core/errors.js";
import { type Metrics, noopMetrics } from "../../core/metrics.js";
import type { Clock, Limiter } from "../../core/ports.js";
import type { Store } from "../../core/store/index.js";
import type { VerificationService } from "../../core/verification/index.js";
import { clientAbortResponse } from "../client-abort.js";
import type { Authenticator } from "../middleware/auth.js";
import { limitPerKey } from "../middleware/limits.js";
import { requireBasicAuth, type TwilioEnv } from "./auth.js";
import { fromVerifydError, invalidParameter, notFound, relative, TwilioError, twilioErrorResponse } from "./errors.js";
import { createServiceResolver, serviceRoutes } from "./services.js";
import { verificationRoutes } from "./verifications.js";

export const TWILIO_BASE_PATH = "/twilio/v2";

export interface TwilioCompatDeps {
  verifications: VerificationService;
  admin: AdminService;
  authenticate: Authenticator;
  limiter: Limiter;
  store: Store;
  clock: Clock;
  logger: Logger;
  trustProxyHops?: number;
  metrics?: Metrics;
  /** Where this surface is mounted, for the `url` fields. */
  basePath: string;
}

/**
 * The Twilio Verify v2 surface: Twilio's paths, form-encoded parameters, sids and error JSON over
 * the same VerificationService (routes, fallback, screening, limits, events and metrics apply).
 */
export function twilioCompatRoutes(deps: TwilioCompatDeps) {
  const app = new Hono<TwilioEnv>();
  const resolve = createServiceResolver(deps.admin);
  const viewContext = (c: { get(key: "accountSid"): string; req: { url: string } }) => ({
    accountSid: c.get("accountSid"),
    baseUrl: `${new URL(c.req.url).origin}${deps.basePath}`,
    now: deps.clock.now(),
  });

  app.use("*", requireBasicAuth(deps.authenticate));
  app.use("*", limitPerKey(deps.limiter));
  app.route("/", serviceRoutes({ admin: deps.admin, resolve, viewContext }));
  app.route("/", verificationRoutes({ ...deps, trustProxyHops: deps.trustProxyHops ?? 0, resolve, viewContext }));
  app.all("*", (c) => {
    throw notFound(relative(c));
  });

  app.onError(twilioErrorHandler(deps));
  return app;
}

/** Whether a request is for the Twilio surface, every error of which is Twilio's error JSON. */
export const onTwilioSurface = (c: Context) => c.req.path === TWILIO_BASE_PATH || c.req.path.startsWith(`${TWILIO_BASE_PATH}/`);

/**
 * Any error of a request to the surface as Twilio's error JSON: those of its routes, and those of
 * the main app's middleware that runs first (the body limit), so no problem document leaks out.
 */
export function twilioErrorHandler(deps: { logger: Logger; metrics?: Metrics }) {
  const metrics = deps.metrics ?? noopMetrics;
  return (err: Error, c: Context): Response => {
    const aborted = clientAbortResponse(c, err, deps.logger);
    if (aborted) return aborted;
    if (err instanceof TwilioError) return twilioErrorResponse(c, err);
    if (err instanceof VerifydError) {
      if (err.details.limit) metrics.rateLimited(err.details.limit.rule);
      return twilioErrorResponse(c, fromVerifydError(err, relative(c)));
    }
    if (err instanceof HTTPException && err.status < 500) return twilioErrorResponse(c, invalidParameter(err.message));
    deps.logger.error({ err, request_id: c.get("requestId") }, "unhandled error");
    return twilioErrorResponse(c, new TwilioError(20500, 500, "Internal server error"));
  };
}
