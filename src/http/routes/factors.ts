import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { ChallengeOutcome, FactorService } from "../../core/factors.js";
import type { Factor } from "../../core/model.js";
import type { AppEnv } from "../context.js";
import {
  ChallengeBody,
  ChallengeResult,
  CreatedFactorView,
  CreateFactorBody,
  FactorCodeBody,
  FactorIdParam,
  FactorList,
  FactorListQuery,
  FactorVerifyResult,
  FactorView,
} from "../factor-schemas.js";
import { json, problems, security } from "../openapi.js";
import { loadQrCode } from "../qr.js";
import { validationHook } from "../validation.js";

export interface FactorRoutesDeps {
  factors: FactorService;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The public shape of a factor: never its secret. */
export function toFactorView(f: Factor) {
  return {
    id: f.id,
    entity_id: f.entityId,
    label: f.label,
    status: f.status,
    digits: f.digits,
    period: f.period,
    locked_until: iso(f.lockedUntil),
    created_at: iso(f.createdAt) as string,
    updated_at: iso(f.updatedAt) as string,
  };
}

const createRouteDef = createRoute({
  method: "post",
  operationId: "createFactor",
  path: "/",
  summary: "Create an authenticator-app (TOTP) factor",
  description:
    "Answers the otpauth URI and its QR code, which hold the secret: this is the only response that does. The factor stays `unverified` until a first code is verified.",
  security,
  request: { body: { content: { "application/json": { schema: CreateFactorBody } }, required: true } },
  responses: { 201: json(CreatedFactorView, "Created; show the QR code to the user"), ...problems(400, 401, 429) },
});
const listRouteDef = createRoute({
  method: "get",
  operationId: "listFactors",
  path: "/",
  summary: "List an entity's factors",
  security,
  request: { query: FactorListQuery },
  responses: { 200: json(FactorList, "The entity's factors, oldest first"), ...problems(400, 401, 429) },
});
const getRouteDef = createRoute({
  method: "get",
  operationId: "getFactor",
  path: "/{id}",
  summary: "Read a factor",
  security,
  request: { params: FactorIdParam },
  responses: { 200: json(FactorView, "The factor"), ...problems(401, 404, 429) },
});
const deleteRouteDef = createRoute({
  method: "delete",
  operationId: "deleteFactor",
  path: "/{id}",
  summary: "Delete a factor",
  security,
  request: { params: FactorIdParam },
  responses: { 204: { description: "Deleted" }, ...problems(401, 404, 429) },
});
const verifyRouteDef = createRoute({
  method: "post",
  operationId: "verifyFactor",
  path: "/{id}/verify",
  summary: "Activate a factor with a first code from the app",
  description: "Every well-formed request answers 200: `valid` says whether the code was accepted, `reason` why not.",
  security,
  request: { params: FactorIdParam, body: { content: { "application/json": { schema: FactorCodeBody } }, required: true } },
  responses: { 200: json(FactorVerifyResult, "The outcome"), ...problems(400, 401, 429) },
});
const challengeRouteDef = createRoute({
  method: "post",
  operationId: "createChallenge",
  path: "/",
  summary: "Check an authenticator-app code",
  description:
    "By `factor_id`, or by `entity_id` against every verified factor of the entity. Every well-formed request answers 200.",
  security,
  request: { body: { content: { "application/json": { schema: ChallengeBody } }, required: true } },
  responses: { 200: json(ChallengeResult, "The outcome"), ...problems(400, 401, 429) },
});

export function factorRoutes({ factors }: FactorRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(createRouteDef, async (c) => {
    const input = c.req.valid("json");
    const { service } = c.get("principal");
    const { factor, otpauthUri } = await factors.create(service, {
      entityId: input.entity_id,
      label: input.label,
      digits: input.digits,
      period: input.period,
    });
    const qrSvg = await (await loadQrCode()).toString(otpauthUri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
    // The body carries the secret: no cache (browser, proxy) may keep a copy.
    return c.json({ ...toFactorView(factor), otpauth_uri: otpauthUri, qr_svg: qrSvg }, 201, { "cache-control": "no-store" });
  });

  app.openapi(listRouteDef, async (c) => {
    const { service } = c.get("principal");
    const list = await factors.list(service, c.req.valid("query").entity_id);
    return c.json({ data: list.map(toFactorView) }, 200);
  });

  app.openapi(getRouteDef, async (c) => {
    const { service } = c.get("principal");
    return c.json(toFactorView(await factors.get(service, c.req.valid("param").id)), 200);
  });

  app.openapi(deleteRouteDef, async (c) => {
    const { service } = c.get("principal");
    await factors.remove(service, c.req.valid("param").id);
    return c.body(null, 204);
  });

  app.openapi(verifyRouteDef, async (c) => {
    const { service } = c.get("principal");
    const outcome = await factors.verify(service, c.req.valid("param").id, c.req.valid("json").code);
    return c.json({ valid: outcome.valid, status: outcome.factor?.status ?? null, reason: outcome.reason }, 200);
  });

  return app;
}

const challengeView = (o: ChallengeOutcome) => ({ valid: o.valid, reason: o.reason, factor_id: o.factor?.id ?? null });

export function challengeRoutes({ factors }: FactorRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(challengeRouteDef, async (c) => {
    const { service } = c.get("principal");
    const input = c.req.valid("json");
    const target = input.factor_id !== undefined ? { factorId: input.factor_id } : { entityId: input.entity_id as string };
    return c.json(challengeView(await factors.challenge(service, target, input.code)), 200);
  });
  return app;
}
