import { z } from "zod";
import { parseMailbox } from "../core/email.js";

/** What the email adapters share: the `From` setting's shape and keeping addresses and codes out of error text. */

/** `no-reply@auth.acme.com` or `Acme <no-reply@auth.acme.com>`. */
export const emailAddress = z
  .string()
  .max(200)
  .refine((value) => parseMailbox(value) !== null, {
    message: "must be an address, or a name and an address: Acme <no-reply@auth.acme.com>",
  });

/**
 * A provider's error text with the recipient's address and the code taken out: replies quote the
 * recipient ("550 <ada@example.com>: unknown user"), and error texts are stored with the delivery.
 */
export function redactEmail(text: string, address: string, code: string): string {
  let out = text.replace(new RegExp(address.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi"), "[to]");
  if (code) out = out.split(code).join("[code]");
  return out;
}
