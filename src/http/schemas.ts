import { z } from "@hono/zod-openapi";
import { canonicalLocale } from "../core/messages/locale.js";
import { isKnownCountry } from "../core/phone.js";
import { AMOUNT_PATTERN, MAX_PAYEE_LENGTH } from "../core/transaction.js";

/** Request and response shapes; the OpenAPI document is generated from these. */

// Each member names its JSON Schema format (the generator would call both the non-standard "ip").
const clientIp = z
  .union([z.ipv4().openapi({ format: "ipv4" }), z.ipv6().openapi({ format: "ipv6" })])
  .optional()
  .openapi({
    description:
      "The end user's IP address, as seen by your login service. Per-IP limits apply only when it is given (or read from a trusted proxy header).",
    example: "203.0.113.7",
  });

const amount = z
  .string()
  .regex(AMOUNT_PATTERN, "must be an ISO 4217 currency, a space and a decimal amount, e.g. EUR 12.50")
  .openapi({
    description: "PSD2 transaction binding: the amount shown in the message, as `<ISO 4217 currency> <decimal>`. Needs `payee`.",
    example: "EUR 12.50",
  });
/**
 * No control character (\p{Cc}: U+0000–U+001F, U+007F–U+009F) and no brace (templates' placeholders).
 * Written without `\p{…}` and without flags: the OpenAPI document publishes the source as its
 * `pattern`, and a flag would leak into it (`…$/u`), breaking every generated client.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const PAYEE_PATTERN = /^[^\u0000-\u001F\u007F-\u009F{}]+$/;
const payee = z
  .string()
  .trim()
  .min(1)
  .max(MAX_PAYEE_LENGTH)
  .regex(PAYEE_PATTERN, "must not hold control characters or braces")
  .openapi({ description: "PSD2 transaction binding: who is paid, shown in the message. Needs `amount`.", example: "ACME" });
const phoneCountry = z
  .string()
  .regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code, e.g. GB")
  .refine(isKnownCountry, "is not a country phone numbers can be read in")
  .optional()
  .openapi({
    description:
      "ISO 3166-1 alpha-2 country a `to` without a country calling code is read in (`020 7946 0958` with `GB`). Defaults to the service's `default_country`.",
    example: "GB",
  });
const bothOrNeither = (b: { amount?: string; payee?: string }) => (b.amount === undefined) === (b.payee === undefined);
const bothOrNeitherMessage = { message: "give amount and payee together", path: ["amount"] };

export const StartBody = z
  .object({
    to: z.string().min(1).max(254).optional().openapi({
      description:
        "Phone number in E.164 form (spaces, dashes and brackets allowed; `00` may stand for `+`), a national number with `country`, or an email address (verified by the route's `email` steps). Required, except with `channel: inbound`, where it names the only number allowed to send the code.",
      example: "+14155550100",
    }),
    country: phoneCountry,
    channel: z.enum(["inbound", "sms", "whatsapp", "rcs", "voice", "email"]).optional().openapi({
      description:
        "One channel, the same as `channels: [channel]`; `email` for an email address. `inbound`: nothing is sent; the user sends the returned text to a business number (person-to-application verification).",
    }),
    inbound_channels: z
      .array(z.enum(["whatsapp", "sms"]))
      .min(1)
      .max(2)
      .optional()
      .openapi({ description: "For `channel: inbound`: the channels the user may answer on.", example: ["whatsapp", "sms"] }),
    channels: z
      .array(z.enum(["sms", "whatsapp", "rcs", "voice", "email"]))
      .min(1)
      .max(5)
      .optional()
      .openapi({
        description:
          "Channels to use, in order of preference; narrows the service's route for this verification. `voice` calls the number and speaks the code.",
        example: ["whatsapp", "sms", "voice"],
      }),
    client_ip: clientIp,
    device_id: z.string().min(1).max(128).optional().openapi({
      description: "Your id of the user's device; starts per device are limited (`starts_per_device`).",
      example: "d-7f3a",
    }),
    user_id: z.string().min(1).max(128).optional().openapi({
      description: "Your id of the user's account; starts per user are limited (`starts_per_user`).",
      example: "u-1042",
    }),
    locale: z
      .string()
      .max(35)
      .refine((tag) => canonicalLocale(tag) !== null, "must be a BCP-47 language tag, e.g. pt-BR")
      .optional()
      .openapi({
        description:
          "The user's language (BCP-47). Else the destination country's language, the service's default locale, then English.",
        example: "pt-BR",
      }),
    amount: amount.optional(),
    payee: payee.optional(),
  })
  .strict()
  .refine(bothOrNeither, bothOrNeitherMessage)
  .openapi("StartVerification");

export const ClientIpBody = z.object({ client_ip: clientIp }).strict().openapi("ResendVerification");

/** A code as the user typed it: checks of verifications and of authenticator-app factors. */
export const typedCode = z.string().min(1).max(32).openapi({
  description:
    "The code the user typed. Spaces, dashes and non-ASCII digits (fullwidth, Arabic-Indic…) are normalized before it is compared.",
  example: "123456",
});

const bound = {
  amount: amount.optional().openapi({ description: "For a transaction-bound verification: the same amount as at the start." }),
  payee: payee.optional().openapi({ description: "For a transaction-bound verification: the same payee as at the start." }),
};

export const CheckBody = z
  .object({ code: typedCode, client_ip: clientIp, ...bound })
  .strict()
  .refine(bothOrNeither, bothOrNeitherMessage)
  .openapi("CheckVerification");

export const CheckByToBody = z
  .object({
    to: z.string().min(1).max(254).openapi({ description: "The phone number or email address.", example: "+14155550100" }),
    country: phoneCountry,
    code: typedCode,
    client_ip: clientIp,
    ...bound,
  })
  .strict()
  .refine(bothOrNeither, bothOrNeitherMessage)
  .openapi("CheckByDestination");

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "ver_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4" }),
});

const status = z.enum(["pending", "approved", "canceled", "expired", "max_attempts_reached", "failed"]);

const StepFiguresView = z.object({
  tries: z
    .number()
    .int()
    .openapi({ description: "Verifications of the country, over the learning window, that tried this step." }),
  approvals: z.number().int().openapi({ description: "Of those, approved while on this step." }),
  success_rate: z.number().nullable(),
  cost_per_try: z.number().nullable(),
  cost_per_approval: z.number().nullable().openapi({ description: "What the steps are ordered by." }),
});

const RoutePlanView = z
  .object({
    reason: z.enum(["configured", "learned", "explored", "insufficient_data", "last_delivered", "failed_recently"]),
    configured_step: z.number().int().openapi({ description: "The step's index in the route as configured." }),
    figures: StepFiguresView.nullable(),
  })
  .openapi("RoutePlan", {
    description:
      "Why the attempt's step was where it was: `learned` (ordered by cost per approval), `explored`, `insufficient_data` (configured order kept), `last_delivered` / `failed_recently` (channel memory) or `configured`.",
  });

const RouteDecisionView = z
  .object({
    mode: z.enum(["learned", "shadow", "memory"]),
    currency: z.string().nullable(),
    expected_configured: z.number().nullable().openapi({ description: "Expected cost per approval of the configured order." }),
    expected_chosen: z
      .number()
      .nullable()
      .openapi({ description: "Expected cost per approval of the order used (shadow: the one it would have used)." }),
    expected_saving: z.number().nullable(),
    proposed: z.array(z.string()).openapi({ description: "The learned order as `channel:provider`.", example: ["sms:vonage"] }),
    explored: z.boolean(),
  })
  .openapi("RouteDecision");

const Delivery = z.object({
  id: z.string(),
  step: z.number().int(),
  channel: z.string().openapi({ description: "`sms`, `whatsapp`, `rcs`, `voice` (a call speaking the code) or `email`." }),
  provider: z.string(),
  status: z.string(),
  error_code: z.string().nullable().openapi({
    description:
      "Why the attempt failed or the route moved on (provider code, not_capable, circuit_open, no_delivery_receipt; calls: busy, no_answer, answered_by_machine, hung_up_early…; email: bounce, dropped, smtp_550…).",
  }),
  error_message: z.string().nullable(),
  tries: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
  route_plan: RoutePlanView.optional().openapi({
    description: "Present when a learned route or channel memory placed its step.",
  }),
});

const InboundView = z
  .object({
    text: z.string().openapi({ description: "What the user sends.", example: "VERIFY 4KQ7ZP" }),
    numbers: z.array(
      z.object({
        channel: z.enum(["whatsapp", "sms"]),
        number: z.string(),
        wa_me_url: z.string().nullable().openapi({ description: "WhatsApp click-to-chat link with the text filled in." }),
        sms_uri: z.string().nullable().openapi({ description: "An sms: link with the text filled in." }),
        qr_svg: z.string().openapi({ description: "The link as a QR code (SVG), for a user on another device." }),
      }),
    ),
  })
  .openapi("InboundInstructions");

export const WaitQuery = z.object({
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(30)
    .optional()
    .openapi({
      param: { name: "wait", in: "query" },
      description:
        "Seconds (at most 30) to hold the answer while the verification is pending; it returns as soon as the status changes.",
      example: 30,
    }),
});

export const VerificationView = z
  .object({
    id: z.string(),
    to: z.string().nullable().openapi({
      description: "The number (E.164) or normalised email address; null for an inbound verification open to any sender.",
    }),
    country: z.string().nullable(),
    status,
    channel: z
      .string()
      .nullable()
      .openapi({ description: "The current step's channel: `sms`, `whatsapp`, `rcs`, `voice`, `email`, or `inbound`." }),
    send_attempts: z.number().int(),
    max_sends: z.number().int(),
    check_attempts: z.number().int(),
    attempts_remaining: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    expires_at: z.string(),
    next_resend_at: z.string().nullable(),
    approved_at: z.string().nullable(),
    locale: z.string().nullable().openapi({ description: "The language of the messages (BCP-47).", example: "en" }),
    amount: z.string().optional().openapi({ description: "Transaction-bound verifications only." }),
    payee: z.string().optional().openapi({ description: "Transaction-bound verifications only." }),
    test: z
      .literal(true)
      .optional()
      .openapi({ description: "Present on verifications of a service test number: nothing was sent." }),
    verified_number: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: "Inbound verifications: the number the approving message came from." }),
    inbound: InboundView.optional().openapi({ description: "Only in the answer that starts an inbound verification." }),
    withheld: z
      .object({ channels: z.array(z.string()), reasons: z.array(z.string()) })
      .optional()
      .openapi({
        description:
          "Present when the conversion guard refused the route's paying channels at the start (`reasons`, as in a 403 `blocked`) and the verification goes on WhatsApp alone: these channels are not sent.",
      }),
    deliveries: z.array(Delivery).optional(),
    route_decision: RouteDecisionView.optional().openapi({
      description:
        "In the answer of a read, when the service's `route_mode` is `learned` or `shadow`, or channel memory moved a step: the figures the route's order was decided on.",
    }),
  })
  .openapi("Verification");

export const CheckResult = z
  .object({
    valid: z.boolean(),
    status: status.nullable(),
    reason: z
      .enum([
        "wrong_code",
        "expired",
        "max_attempts_reached",
        "not_found",
        "already_approved",
        "canceled",
        "transaction_mismatch",
        "malformed_code",
      ])
      .nullable()
      .openapi({
        description:
          "`malformed_code`: not the code's length or alphabet once spaces and dashes are removed; it spends no attempt.",
      }),
    attempts_remaining: z.number().int(),
    verification_id: z.string().nullable(),
    test: z.literal(true).optional().openapi({ description: "Present when the verification is a service test number's." }),
  })
  .openapi("CheckResult");

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    instance: z.string().optional(),
    request_id: z.string().optional(),
    errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
    reasons: z
      .array(z.string())
      .optional()
      .openapi({
        description:
          "403 `blocked`: why the destination is refused, e.g. `fixed_line_number` (a landline on a route without a voice step), `premium_rate_number`, `country_not_allowed`, `prefix_velocity`, `disposable_email_domain`, `domain_velocity` (`emails_per_domain`), `unproven_domain`, `low_conversion_prefix`.",
        example: ["disposable_email_domain"],
      }),
    limit: z
      .object({ rule: z.string(), limit: z.number().int(), remaining: z.number().int(), window_s: z.number().int() })
      .optional()
      .openapi({
        description:
          "429 `rate_limited`: the rule that refused, e.g. `sends_per_destination` (a number, or an address without its `+tag`; 5 per 10 min by default), `calls_per_destination` (calls cost more: 3 per hour by default, fallback calls included), `starts_per_ip`; `Retry-After` says when to try again.",
        example: { rule: "calls_per_destination", limit: 3, remaining: 0, window_s: 3600 },
      }),
  })
  .openapi("Problem");
