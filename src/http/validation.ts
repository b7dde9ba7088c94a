import type { Hook } from "@hono/zod-openapi";
import { VerifydError } from "../core/errors.js";

/** JSON Pointer of a zod issue path, e.g. ["to"] → "/to". */
const pointer = (path: PropertyKey[]) => `/${path.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`;

/** In a `u` regex a surrogate matches only when unpaired: text that is not well-formed Unicode. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The path of the first string (or object key) holding a lone surrogate. JSON may carry one
 * (`"\ud800"`), but it cannot be encoded as UTF-8 or into a URI: refused at the edge, it never
 * reaches an otpauth URI, a message or a provider request.
 */
function malformedText(value: unknown, path: PropertyKey[]): PropertyKey[] | null {
  if (typeof value === "string") return LONE_SURROGATE.test(value) ? path : null;
  if (typeof value !== "object" || value === null) return null;
  for (const [key, item] of Object.entries(value)) {
    if (LONE_SURROGATE.test(key)) return [...path, key.replace(/\p{Cs}/gu, "\ufffd")];
    const found = malformedText(item, [...path, Array.isArray(value) ? Number(key) : key]);
    if (found) return found;
  }
  return null;
}

const invalid = (errors: { pointer: string; detail: string }[]) => {
  const first = errors[0];
  const detail = first ? `${first.pointer === "/" ? "body" : first.pointer.slice(1)}: ${first.detail}` : "invalid request";
  return new VerifydError("invalid_request", detail, { extensions: { errors } });
};

/**
 * Turns a failed schema validation into a 400 problem listing each field's problem; a valid one
 * is refused too when a string in it is not well-formed Unicode.
 */
// biome-ignore lint/suspicious/noExplicitAny: a hook shared by every route, whatever its env and input
export const validationHook: Hook<any, any, any, any> = (result) => {
  if (result.success) {
    const path = malformedText(result.data, []);
    if (path) throw invalid([{ pointer: pointer(path), detail: "must be well-formed Unicode (it holds a lone surrogate)" }]);
    return;
  }
  throw invalid(result.error.issues.map((issue) => ({ pointer: pointer(issue.path), detail: issue.message })));
};
