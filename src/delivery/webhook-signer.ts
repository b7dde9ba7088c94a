import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";

/** Signs Standard Webhooks messages with one secret. */
export interface WebhookSigner {
  /** The `webhook-signature` value: `v1,` and base64 of HMAC-SHA256 over `id.timestamp.payload`. */
  sign(id: string, sentAt: Date, payload: string): string;
}

/**
 * The standardwebhooks package's signature computed with node:crypto: the package hashes in
 * JavaScript (fast-sha256), a cost paid on every event sent. The secret is still read and checked
 * by the package, so one it refuses is refused here too; the tests verify with the package.
 */
export function createWebhookSigner(secret: string): WebhookSigner {
  new Webhook(secret); // throws on a secret the package would not sign with
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret, "base64");
  return {
    sign(id, sentAt, payload) {
      const timestamp = Math.floor(sentAt.getTime() / 1000);
      return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${payload}`).digest("base64")}`;
    },
  };
}
