import { type Context, Hono } from "hono";
import type { Logger } from "pino";
import { VerifydError } from "../../core/errors.js";
import type { InboundMessage, StatusUpdate } from "../../core/model.js";
import type { Sender, WebhookRequest } from "../../core/sender.js";
import type { AppEnv } from "../context.js";

export interface WebhookRoutesDeps {
  senders: ReadonlyMap<string, Sender>;
  applyStatus(provider: string, update: StatusUpdate): Promise<unknown>;
  onInbound(provider: string, message: InboundMessage): Promise<void> | void;
  /** verifyd's public base URL; signatures cover the URL the provider called. */
  publicUrl?: string;
  logger: Logger;
}

/**
 * Provider callbacks: `/webhooks/{provider}/status` (delivery receipts), `/webhooks/{provider}/inbound`
 * (user messages), and GET handshakes. Nothing is trusted before the adapter verified the signature;
 * a rejected request changes nothing.
 */
export function webhookRoutes(deps: WebhookRoutesDeps) {
  const app = new Hono<AppEnv>();

  const handle = async (c: Context<AppEnv, "/webhooks/:provider/:kind">) => {
    const provider = c.req.param("provider");
    const sender = deps.senders.get(provider);
    if (!sender?.handleWebhook) throw new VerifydError("route_not_found", `no webhooks for provider "${provider}"`);
    const incoming = new URL(c.req.url);
    const url = deps.publicUrl ? `${deps.publicUrl.replace(/\/$/, "")}${incoming.pathname}${incoming.search}` : c.req.url;
    const request: WebhookRequest = {
      method: c.req.method === "GET" ? "GET" : "POST",
      url,
      headers: Object.fromEntries([...c.req.raw.headers].map(([k, v]) => [k.toLowerCase(), v])),
      rawBody: c.req.method === "GET" ? "" : await c.req.text(),
    };
    const result = await sender.handleWebhook(request);
    switch (result.kind) {
      case "rejected":
        deps.logger.warn({ provider, reason: result.reason }, "webhook rejected");
        throw new VerifydError("webhook_signature_invalid", result.reason);
      case "challenge":
        return c.text(result.body, 200);
      case "accepted":
        for (const update of result.statuses) await deps.applyStatus(provider, update);
        for (const message of result.inbound) await deps.onInbound(provider, message);
        deps.logger.info({ provider, statuses: result.statuses.length, inbound: result.inbound.length }, "webhook accepted");
        if (result.response)
          return c.body(result.response.body, result.response.status as 200, { "content-type": result.response.contentType });
        return c.body("", 200); // some providers treat anything but 200 as a failed delivery of the webhook
    }
  };

  app.get("/webhooks/:provider/:kind", handle);
  app.post("/webhooks/:provider/:kind", handle);
  return app;
}
