import { domainToASCII } from "node:url";
import { VerifydError } from "./errors.js";

/**
 * Email addresses as verification destinations. An address is normalised once, at the edge of the
 * domain, and then keyed, stored (blind index + sealed copy) and sent to in that one form.
 */

export interface EmailAddress {
  /** `local@domain`, lower-cased, the domain in ASCII (IDN labels as punycode). */
  address: string;
  domain: string;
}

/** The WHATWG "valid e-mail address" local part (what browsers accept), without quoted forms. */
const LOCAL_PART = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Whether a destination is written as an email address rather than a phone number. */
export function isEmailAddress(to: string): boolean {
  return to.includes("@");
}

/**
 * Normalises and validates an address: trimmed, Unicode NFC, split at the last `@`, the domain
 * lower-cased and converted to ASCII (`Bücher.example` → `xn--bcher-kva.example`) and checked label
 * by label (`domainToASCII` alone lets `a..b` and `-a.com` through), one trailing dot dropped.
 *
 * The local part is lower-cased too. RFC 5321 lets a mail server tell `Ada@` from `ada@`, but no
 * mailbox provider of note does, and one mailbox must be one destination: otherwise changing the
 * case would dodge its send limits and open a second live verification beside the first.
 * Throws `invalid_email_address` naming what is wrong.
 * @example normalizeEmail(" Ada@Bücher.Example ") // { address: "ada@xn--bcher-kva.example", domain: "xn--bcher-kva.example" }
 */
export function normalizeEmail(input: string): EmailAddress {
  const fail = (problem: string): never => {
    throw new VerifydError("invalid_email_address", `"to" ${problem}`, {
      extensions: { errors: [{ pointer: "/to", detail: problem }] },
    });
  };
  const trimmed = input.trim().normalize("NFC");
  if (/[\s\p{Cc}]/u.test(trimmed)) fail("must not contain spaces or control characters");
  const at = trimmed.lastIndexOf("@");
  if (at < 0) fail("is not an email address");
  const local = trimmed.slice(0, at).toLowerCase();
  if (local.length === 0 || Buffer.byteLength(local) > 64) fail("must have a local part of 1 to 64 characters before the @");
  if (!LOCAL_PART.test(local))
    fail("has characters an address cannot hold before the @ (quoted and non-ASCII forms are not accepted)");
  if (local.startsWith(".") || local.endsWith(".") || local.includes(".."))
    fail("must not start, end or double a dot before the @");
  const domain = domainToASCII(trimmed.slice(at + 1).replace(/\.$/, "")).toLowerCase();
  const labels = domain.split(".");
  if (!domain || domain.length > 253 || labels.length < 2 || !labels.every((label) => LABEL.test(label))) {
    fail("has no valid domain after the @");
  }
  if (/^\d+$/.test(labels[labels.length - 1] as string)) fail("has no valid domain after the @ (an IP address is not accepted)");
  const address = `${local}@${domain}`;
  if (address.length > 254) fail("is longer than 254 characters");
  return { address, domain };
}

/** The domain of a normalised address. */
export function emailDomain(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}

/** Gmail reads `a.d.a@gmail.com` and `ada@googlemail.com` as `ada@gmail.com`. */
const DOTLESS_DOMAINS = new Set(["gmail.com", "googlemail.com"]);

/**
 * The key an address's rate limits count against: without a `+tag` (most providers deliver
 * `ada+1@` and `ada+2@` to one mailbox) and, at Gmail, without dots. Sending keeps the address as
 * given; only the counters merge, so tagged variants cannot multiply one mailbox's limits.
 * @example emailLimitKey("a.da+news@googlemail.com") // "ada@gmail.com"
 */
export function emailLimitKey(address: string): string {
  const at = address.lastIndexOf("@");
  let local = address.slice(0, at);
  let domain = address.slice(at + 1);
  const plus = local.indexOf("+");
  if (plus > 0) local = local.slice(0, plus);
  if (DOTLESS_DOMAINS.has(domain)) {
    local = local.replaceAll(".", "");
    domain = "gmail.com";
  }
  return `${local}@${domain}`;
}

/** The key a destination's limits count against: a phone number as is, an address by `emailLimitKey`. */
export function destinationLimitKey(to: string): string {
  return isEmailAddress(to) ? emailLimitKey(to) : to;
}

/** `ada.lovelace@example.com` → `a***@example.com`: enough to tell addresses apart in a log, not to write to one. */
export function maskEmail(address: string): string {
  const at = address.lastIndexOf("@");
  return `${address.slice(0, Math.min(1, at))}***${address.slice(at)}`;
}

const MAILBOX_ADDRESS = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i;

/**
 * A `From` value as a name and an address: `no-reply@auth.acme.com` or `Acme <no-reply@auth.acme.com>`;
 * null when it is neither (a line break or a quote in the name, two addresses…).
 */
export function parseMailbox(value: string): { name: string | null; address: string } | null {
  const named = /^([^<>"\p{Cc}]{1,100}?)\s*<([^<>\s]+)>$/u.exec(value.trim());
  if (named) {
    const address = named[2] as string;
    return MAILBOX_ADDRESS.test(address) ? { name: (named[1] as string).trim(), address } : null;
  }
  return MAILBOX_ADDRESS.test(value.trim()) ? { name: null, address: value.trim() } : null;
}
