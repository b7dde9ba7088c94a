import { z } from "@hono/zod-openapi";
import { Webhook } from "standardwebhooks";
import type { WebhookInput } from "../../core/admin.js";

/**
 * The service settings of its event webhook receiver, kept apart from the policy fields. The secret is
 * write-only: answers say only whether one is set.
 */

/** A Standard Webhooks secret: `whsec_` and base64 of 24 to 64 random bytes. */
const isWebhookSecret = (value: string) => {
  try {
    new Webhook(value);
  } catch {
    return false;
  }
  const bytes = Buffer.from(value.slice("whsec_".length), "base64").length;
  return value.startsWith("whsec_") && bytes >= 24 && bytes <= 64;
};

export const WebhookSettingsFields = {
  webhook_url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .nullable()
    .optional()
    .openapi({
      description: "Where this service's events are posted; `null` falls back to `VERIFYD_EVENTS_URL`.",
      example: "https://api.example.com/verifyd/events",
    }),
  webhook_secret: z
    .string()
    .refine(isWebhookSecret, "a Standard Webhooks secret: whsec_ and base64 of 24 to 64 random bytes")
    .nullable()
    .optional()
    .openapi({
      description:
        "Signs this service's events (`whsec_…`). Write-only: stored sealed, never returned. Without one, events to the service's own URL go unsigned.",
      example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }),
};

export const WebhookSettingsView = z
  .object({
    url: z.string().nullable().openapi({ description: "`null`: the service's events go to `VERIFYD_EVENTS_URL`, if set." }),
    secret_set: z.boolean().openapi({ description: "Whether a signing secret is stored (it is never returned)." }),
  })
  .openapi("ServiceWebhook");

type WebhookFields = { webhook_url?: string | null; webhook_secret?: string | null };

/** The request's webhook fields, or undefined when it names none. */
export function toWebhookInput(fields: WebhookFields): WebhookInput | undefined {
  if (fields.webhook_url === undefined && fields.webhook_secret === undefined) return undefined;
  return {
    ...(fields.webhook_url !== undefined ? { url: fields.webhook_url } : {}),
    ...(fields.webhook_secret !== undefined ? { secret: fields.webhook_secret } : {}),
  };
}

export const toWebhookView = (w: { url: string | null; secretSet: boolean }) => ({ url: w.url, secret_set: w.secretSet });
