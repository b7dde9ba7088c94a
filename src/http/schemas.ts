import { z } from "@hono/zod-openapi";

/** Request and response shapes; the OpenAPI document is generated from these. */

const clientIp = z.union([z.ipv4(), z.ipv6()]).optional().openapi({
  description:
    "The end user's IP address, as seen by your login service. Per-IP limits apply only when it is given (or read from a trusted proxy header).",
  example: "203.0.113.7",
});

export const StartBody = z
  .object({
    to: z.string().min(1).max(64).openapi({ description: "Phone number in E.164 form.", example: "+14155550100" }),
    channels: z
      .array(z.enum(["sms", "whatsapp", "rcs"]))
      .min(1)
      .max(3)
      .optional()
      .openapi({
        description: "Channels to use, in order of preference; narrows the service's route for this verification.",
        example: ["whatsapp", "sms"],
      }),
    client_ip: clientIp,
  })
  .strict()
  .openapi("StartVerification");

export const ClientIpBody = z.object({ client_ip: clientIp }).strict().openapi("ResendVerification");

const code = z.string().min(1).max(32).openapi({ description: "The code the user typed.", example: "123456" });

export const CheckBody = z.object({ code, client_ip: clientIp }).strict().openapi("CheckVerification");

export const CheckByToBody = z
  .object({ to: z.string().min(1).max(64).openapi({ example: "+14155550100" }), code, client_ip: clientIp })
  .strict()
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
  channel: z.string(),
  provider: z.string(),
  status: z.string(),
  error_code: z
    .string()
    .nullable()
    .openapi({
      description:
        "Why the attempt failed or the route moved on (provider code, not_capable, circuit_open, no_delivery_receipt…).",
    }),
  error_message: z.string().nullable(),
  tries: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const VerificationView = z
  .object({
    id: z.string(),
    to: z.string(),
    country: z.string().nullable(),
    status,
    channel: z.string().nullable(),
    send_attempts: z.number().int(),
    max_sends: z.number().int(),
    check_attempts: z.number().int(),
    attempts_remaining: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    expires_at: z.string(),
    next_resend_at: z.string().nullable(),
    approved_at: z.string().nullable(),
    deliveries: z.array(Delivery).optional(),
  })
  .openapi("Verification");

export const CheckResult = z
  .object({
    valid: z.boolean(),
    status: status.nullable(),
    reason: z.enum(["wrong_code", "expired", "max_attempts_reached", "not_found", "already_approved", "canceled"]).nullable(),
    attempts_remaining: z.number().int(),
    verification_id: z.string().nullable(),
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
  })
  .openapi("Problem");
