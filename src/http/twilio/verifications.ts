import { isIP } from "node:net";
import type { Context } from "hono";
import { Hono } from "hono";
import { normalizeCandidate } from "../../core/code-input.js";
import { parseDestination } from "../../core/destination.js";
import { isEmailAddress } from "../../core/email.js";
import { VerifydError } from "../../core/errors.js";
import type { Channel, Service, Verification } from "../../core/model.js";
import type { Clock } from "../../core/ports.js";
import type { Store } from "../../core/store/index.js";
import { AMOUNT_PATTERN, MAX_PAYEE_LENGTH, type Transaction } from "../../core/transaction.js";
import { type CheckTarget, effectiveStatus, type VerificationService } from "../../core/verification/index.js";
import { callerOf } from "../admission.js";
import { clientIpOf } from "../middleware/limits.js";
import type { TwilioEnv } from "./auth.js";
import { invalidParameter, maxCheckAttempts, notFound, relative } from "./errors.js";
import { type Form, readForm } from "./form.js";
import type { ServiceResolver } from "./services.js";
import { isSid, verificationIdOf } from "./sids.js";
import { checkView, type ViewContext, verificationView } from "./views.js";

export interface TwilioVerificationDeps {
  verifications: VerificationService;
  store: Store;
  clock: Clock;
  trustProxyHops: number;
  resolve: ServiceResolver;
  viewContext: (c: Context<TwilioEnv>) => ViewContext;
}

/**
 * Twilio's `Channel`: one channel narrows the service's route to it (`call` is verifyd's `voice`;
 * `email` takes an address in `To`); `auto` keeps the whole route, fallbacks included.
 */
const CHANNELS = ["sms", "whatsapp", "rcs", "call", "email", "auto"] as const;

const toChannel = (channel: Exclude<(typeof CHANNELS)[number], "auto">): Channel => (channel === "call" ? "voice" : channel);

/**
 * PSD2 `Amount` and `Payee`, bound to the code by the core: both or neither, the amount as
 * `<ISO 4217 currency> <decimal>` (`EUR 12.50`), the payee at most 20 characters.
 */
function transactionFrom(form: Form): Transaction | null {
  const amount = form.optional("Amount")?.trim();
  const payee = form.optional("Payee")?.trim();
  if (amount === undefined && payee === undefined) return null;
  if (amount === undefined || payee === undefined) throw invalidParameter("Amount and Payee go together");
  if (!AMOUNT_PATTERN.test(amount)) throw invalidParameter("Amount must be a currency code, a space and a decimal: EUR 12.50");
  if (payee.length < 1 || payee.length > MAX_PAYEE_LENGTH)
    throw invalidParameter(`Payee must be 1 to ${MAX_PAYEE_LENGTH} characters`);
  return { amount, payee };
}

/**
 * Twilio takes `To` in E.164 form only: no `00` for `+`, no national numbers (the core accepts both
 * elsewhere); or, for the email channel, an address.
 */
function e164To(to: string): string {
  if (isEmailAddress(to)) return to;
  if (!to.trim().startsWith("+")) throw new VerifydError("invalid_phone_number", '"to" must be in E.164 form, e.g. +14155550100');
  return to;
}

function deviceIp(form: Form): string | undefined {
  const ip = form.optional("DeviceIp")?.trim();
  if (ip !== undefined && isIP(ip) === 0) throw invalidParameter("DeviceIp must be an IPv4 or IPv6 address");
  return ip;
}

/**
 * Verifications as Twilio's `/Services/{sid}/Verifications` and `/VerificationCheck`. As on Twilio, a
 * verification that is no longer pending (approved, canceled, expired, out of attempts) is gone: 20404.
 */
export function verificationRoutes(deps: TwilioVerificationDeps) {
  const { verifications, store, clock } = deps;
  const app = new Hono<TwilioEnv>();

  /** The pending verification a `VE…` sid or a `To` number (Twilio accepts either in the path) names. */
  async function findPending(service: Service, sidOrTo: string, path: string): Promise<Verification> {
    let v: Verification | null = null;
    const id = verificationIdOf(sidOrTo);
    if (id) v = await store.getVerification(service.id, id);
    else if (!isSid("VE", sidOrTo) && (sidOrTo.trim().startsWith("+") || sidOrTo.includes("@"))) {
      let to: string | null = null;
      try {
        to = parseDestination(sidOrTo).to;
      } catch {
        // Neither a sid, a number nor an address: nothing to find.
      }
      if (to) v = await store.findPendingByDestination(service.id, to, clock.now());
    }
    if (!v || effectiveStatus(v, clock.now()) !== "pending") throw notFound(path);
    return v;
  }

  const view = async (c: Context<TwilioEnv>, v: Verification) =>
    verificationView(v, deps.viewContext(c), await store.listDeliveries(v.id));

  app.post("/Services/:serviceSid/Verifications", async (c) => {
    const service = await deps.resolve(c, c.req.param("serviceSid"));
    const form = await readForm(c);
    const to = e164To(form.required("To"));
    const channel = form.oneOf("Channel", CHANNELS);
    if (form.optional("CustomCode") !== undefined)
      throw invalidParameter("CustomCode is not supported: verifyd draws every code");
    // The message's language; the service's own settings give the name and autofill lines, and its limits apply.
    const locale = form.optional("Locale")?.trim();
    if (locale !== undefined && !/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(locale))
      throw invalidParameter("Locale must be a BCP-47 tag");
    for (const name of ["CustomFriendlyName", "AppHash", "RateLimits", "ChannelConfiguration"]) form.optional(name);
    const transaction = transactionFrom(form);
    const clientIp = clientIpOf(c, deviceIp(form), deps.trustProxyHops);
    const channels: Channel[] | undefined = channel === "auto" ? undefined : [toChannel(channel)];
    const v = await verifications.start(service, {
      to,
      channels,
      clientIp,
      transaction,
      locale: locale ?? null,
      caller: callerOf(c),
    });
    return c.json(await view(c, v), 201);
  });

  app.get("/Services/:serviceSid/Verifications/:sid", async (c) => {
    const service = await deps.resolve(c, c.req.param("serviceSid"));
    const v = await findPending(service, c.req.param("sid"), relative(c));
    return c.json(await view(c, v), 200);
  });

  app.post("/Services/:serviceSid/Verifications/:sid", async (c) => {
    const service = await deps.resolve(c, c.req.param("serviceSid"));
    const form = await readForm(c);
    const status = form.oneOf("Status", ["canceled", "approved"] as const);
    const v = await findPending(service, c.req.param("sid"), relative(c));
    const updated =
      status === "canceled" ? await verifications.cancel(service, v.id) : await verifications.approve(service, v.id);
    return c.json(await view(c, updated), 200);
  });

  app.post("/Services/:serviceSid/VerificationCheck", async (c) => {
    const service = await deps.resolve(c, c.req.param("serviceSid"));
    const form = await readForm(c);
    const code = form.required("Code");
    if (code.length > 32) throw invalidParameter("Code is too long");
    // Twilio takes codes of 4 to 10 characters, counted here as they are compared (without spaces or dashes).
    const length = [...normalizeCandidate(code, service.settings.alphabet)].length;
    if (length < 4 || length > 10) throw invalidParameter("Code must be 4 to 10 characters");
    const transaction = transactionFrom(form);
    const sid = form.optional("VerificationSid");
    const to = form.optional("To");
    let target: CheckTarget;
    if (sid !== undefined) {
      const id = verificationIdOf(sid.trim());
      if (!id) throw invalidParameter("VerificationSid must be a VE sid");
      target = { id };
    } else if (to !== undefined && to.trim() !== "") target = { to: e164To(to) };
    else throw invalidParameter("Missing required parameter To or VerificationSid in the post body");

    const ip = clientIpOf(c, undefined, deps.trustProxyHops);
    const outcome = await verifications.check(service, target, code, ip, transaction);
    if (outcome.reason === "max_attempts_reached") throw maxCheckAttempts();
    // A wrong code is data (200, pending or, on the last allowed guess, max_attempts_reached); the rest is gone.
    // A code that cannot be this verification's is answered as a wrong one, though it spent no attempt.
    const refusedCode =
      outcome.reason === "wrong_code" || outcome.reason === "transaction_mismatch" || outcome.reason === "malformed_code";
    if (!outcome.verification || (!outcome.valid && !refusedCode)) throw notFound(relative(c));
    return c.json(checkView(outcome.verification, outcome.valid, deps.viewContext(c)), 200);
  });

  return app;
}
