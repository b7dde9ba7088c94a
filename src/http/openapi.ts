import type { z } from "@hono/zod-openapi";
import { Problem } from "./schemas.js";

/** Shorthands for route definitions: a JSON response, problem responses, and the bearer scheme. */

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

export const problems = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [s, { content: { "application/problem+json": { schema: Problem } }, description: "Problem" }]),
  );

export const security = [{ bearer: [] }];
