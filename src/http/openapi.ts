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

/**
 * A status that middleware answers in front of every operation it covers, whatever the operation:
 * for the operations of `methods` (all when absent), or only those that take a body (`withBody`).
 */
export interface MiddlewareStatus {
  status: number;
  description: string;
  methods?: readonly string[];
  withBody?: boolean;
}

interface Operation {
  requestBody?: unknown;
  responses?: Record<string, unknown>;
}

const OPERATION_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/**
 * Lists the middleware statuses on every operation whose path starts with `prefix` and that does not
 * list them already, so the document shows every status an operation can answer. Mutates and
 * answers `doc`.
 */
export function withMiddlewareStatuses<T extends { paths?: object }>(
  doc: T,
  prefix: string,
  statuses: readonly MiddlewareStatus[],
): T {
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    if (!path.startsWith(prefix)) continue;
    for (const [method, value] of Object.entries(item as Record<string, unknown>)) {
      if (!OPERATION_METHODS.has(method)) continue;
      const operation = value as Operation;
      const responses = operation.responses ?? {};
      for (const s of statuses) {
        if (s.methods && !s.methods.includes(method)) continue;
        if (s.withBody && operation.requestBody === undefined) continue;
        responses[String(s.status)] ??= {
          description: s.description,
          content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
        };
      }
      // Statuses in ascending order, as the route definitions write them.
      operation.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
    }
  }
  return doc;
}
