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

const code = z.string().min(1).max(32).openapi({
  description:
    "The code the user typed. Spaces, dashes and non-ASCII digits (fullwidth, Arabic-Indic…) are normalized before it is compared.",
  example: "123456",
});

const bound = {
  amount: amount.optional().openapi({ description: "For a transaction-bound verification: the same amount as at the start." }),
  payee: payee.optional().openapi({ description: "For a transaction-bound verification: the same payee as at the start." }),
};

export const CheckBody = z
  .object({ code, client_ip: clientIp, ...bound })
  .strict()
  .refine(bothOrNeither, bothOrNeitherMessage)
  .openapi("CheckVerification");

export const CheckByToBody = z
  .object({
    to: z.string().min(1).max(254).openapi({ description: "The phone number or email address.", example: "+14155550100" }),
    country: phoneCountry,
    code,
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

const entityId = z.string().min(1).max(128).openapi({
  description: "Your id for the user the factor belongs to (opaque to verifyd).",
  example: "user_42",
});

export const CreateFactorBody = z
  .object({
    entity_id: entityId,
    label: z.string().min(1).max(64).optional().openapi({
      description: "The account name shown in the authenticator app. Defaults to entity_id.",
      example: "ada@example.com",
    }),
    digits: z
      .union([z.literal(6), z.literal(7), z.literal(8)])
      .optional()
      .openapi({ description: "Digits per code. Most apps assume 6.", example: 6 }),
    period: z
      .union([z.literal(30), z.literal(60)])
      .optional()
      .openapi({ description: "Seconds per code. Most apps assume 30.", example: 30 }),
  })
  .strict()
  .openapi("CreateFactor");

export const FactorIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "fct_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4" }),
});

export const FactorListQuery = z.object({
  entity_id: entityId.openapi({ param: { name: "entity_id", in: "query" } }),
});

export const FactorCodeBody = z
  .object({ code: code.openapi({ description: "The code the authenticator app shows." }) })
  .strict()
  .openapi("VerifyFactor");

export const ChallengeBody = z
  .object({
    factor_id: z.string().min(1).max(64).optional().openapi({ example: "fct_0193a1b2c3d4e5f6a7b8c9d0e1f2a3b4" }),
    entity_id: entityId.optional(),
    code: code.openapi({ description: "The code the authenticator app shows." }),
  })
  .strict()
  .refine((b) => (b.factor_id === undefined) !== (b.entity_id === undefined), {
    message: "give exactly one of factor_id and entity_id",
  })
  .openapi("Challenge", { description: "A code checked against one factor, or against every verified factor of an entity." });

const factorStatus = z.enum(["unverified", "verified"]);

export const FactorView = z
  .object({
    id: z.string(),
    entity_id: z.string(),
    label: z.string().nullable(),
    status: factorStatus,
    digits: z.number().int(),
    period: z.number().int(),
    locked_until: z.string().nullable().openapi({ description: "Set while too many wrong codes keep the factor locked." }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Factor");

export const CreatedFactorView = FactorView.extend({
  otpauth_uri: z.string().openapi({
    description: "Holds the secret. Returned only in this response: show it (or the QR code) to the user once, never store it.",
    example:
      "otpauth://totp/verifyd:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=verifyd&algorithm=SHA1&digits=6&period=30",
  }),
  qr_svg: z.string().openapi({ description: "The otpauth URI as an SVG QR code, for the user to scan." }),
}).openapi("CreatedFactor");

export const FactorList = z.object({ data: z.array(FactorView) }).openapi("FactorList");

const challengeReason = z.enum(["wrong_code", "replayed", "locked", "not_found", "not_verified", "malformed_code"]).openapi({
  description: "`malformed_code`: not the factor's number of digits once spaces and dashes are removed; it counts no attempt.",
});

export const FactorVerifyResult = z
  .object({ valid: z.boolean(), status: factorStatus.nullable(), reason: challengeReason.nullable() })
  .openapi("FactorVerifyResult");

export const ChallengeResult = z
  .object({ valid: z.boolean(), reason: challengeReason.nullable(), factor_id: z.string().nullable() })
  .openapi("ChallengeResult");

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
