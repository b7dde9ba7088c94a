import type { Hook } from "@hono/zod-openapi";
import { VerifydError } from "../core/errors.js";

/** JSON Pointer of a zod issue path, e.g. ["to"] → "/to". */
const pointer = (path: PropertyKey[]) => `/${path.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`;

/** Turns a failed schema validation into a 400 problem listing each field's problem. */
// biome-ignore lint/suspicious/noExplicitAny: a hook shared by every route, whatever its env and input
export const validationHook: Hook<any, any, any, any> = (result) => {
  if (result.success) return;
  const errors = result.error.issues.map((issue) => ({ pointer: pointer(issue.path), detail: issue.message }));
  const first = errors[0];
  const detail = first ? `${first.pointer === "/" ? "body" : first.pointer.slice(1)}: ${first.detail}` : "invalid request";
  throw new VerifydError("invalid_request", detail, { extensions: { errors } });
};
