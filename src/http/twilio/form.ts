import type { Context } from "hono";
import { invalidParameter } from "./errors.js";

const FORM_MEDIA = /^application\/x-www-form-urlencoded$/i;

/**
 * Twilio's parameters: form-encoded, capitalised names (`To`, `Channel`). A body of another declared
 * type is refused rather than guessed at; unknown names are ignored, as Twilio does.
 */
export async function readForm(c: Context): Promise<Form> {
  const text = await c.req.text();
  const type = c.req.header("content-type")?.split(";")[0]?.trim() ?? "";
  if (text.trim() !== "" && !FORM_MEDIA.test(type)) {
    throw invalidParameter("send the parameters as application/x-www-form-urlencoded");
  }
  return new Form(new URLSearchParams(text));
}

export class Form {
  constructor(private readonly params: URLSearchParams) {}

  /** One value or undefined; a name given twice is ambiguous, so refused. */
  optional(name: string): string | undefined {
    const values = this.params.getAll(name);
    if (values.length > 1) throw invalidParameter(`${name} was given more than once`);
    return values[0];
  }

  required(name: string): string {
    const value = this.optional(name);
    if (value === undefined || value.trim() === "") throw invalidParameter(`Missing required parameter ${name} in the post body`);
    return value;
  }

  /** An integer within bounds, as Twilio's integer parameters. */
  integer(name: string, min: number, max: number): number | undefined {
    const raw = this.optional(name);
    if (raw === undefined) return undefined;
    if (!/^\d{1,9}$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
      throw invalidParameter(`${name} must be an integer from ${min} to ${max}`);
    }
    return Number(raw);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback?: T): T {
    const raw = fallback === undefined ? this.required(name) : (this.optional(name) ?? fallback);
    const value = raw.trim().toLowerCase() as T;
    if (!allowed.includes(value)) throw invalidParameter(`${name} must be one of ${allowed.join(", ")}`);
    return value;
  }
}
