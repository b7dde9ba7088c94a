import { z } from "zod";
import type { AdapterType } from "../../src/channels/registry.js";
import type { Channel, StatusUpdate } from "../../src/core/model.js";
import type { OutboundMessage, Sender, SendResult } from "../../src/core/sender.js";

/**
 * Fake providers for the simulation: a WhatsApp provider that reaches only numbers with an account
 * (and sometimes never reports delivery, so the route falls back after its timeout), and an SMS
 * provider that takes everything. What they send is reported to the traffic model, which bills it
 * and hands the code to the simulated user.
 */

export interface Network {
  /** Whether the destination has a WhatsApp account. */
  onWhatsApp(to: string): boolean;
  /** Whether a WhatsApp message to this destination is delivered (else no receipt ever comes). */
  whatsappDelivers(to: string): boolean;
  /** A code reached the destination's phone on `channel`. */
  received(to: string, code: string, channel: Channel, verificationId: string): void;
  /** A provider took a message it will charge for (an SMS, or a WhatsApp message once delivered). */
  billed(to: string, channel: Channel): void;
  /** A send attempt on `channel`, billed or not. */
  attempted(to: string, channel: Channel): void;
  /** Runs `fn` after `ms` of simulated time. */
  later(ms: number, fn: () => Promise<void> | void): void;
  /** A message will never report delivery: the outbox's pass must run once its route's fallback is due. */
  fallbackDue(afterMs: number): void;
}

const WHATSAPP_RECEIPT_MS = 2_000;
const SMS_ARRIVAL_MS = 5_000;
/** The route's `fallbackAfter` on its WhatsApp step, and a second for the outbox's pass to see it. */
const WHATSAPP_FALLBACK_MS = 31_000;

class SimSender implements Sender {
  readonly channels: readonly Channel[];
  private sent = 0;
  constructor(
    readonly provider: string,
    private readonly channel: Channel,
    private readonly network: Network,
    private readonly onStatus: (update: StatusUpdate) => Promise<void>,
  ) {
    this.channels = [channel];
  }

  async send(message: OutboundMessage): Promise<SendResult> {
    const { network } = this;
    network.attempted(message.to, this.channel);
    const id = `${this.provider}_${++this.sent}`;
    if (this.channel === "whatsapp") {
      if (!network.onWhatsApp(message.to)) return { kind: "rejected", error: { code: "131026", message: "not on WhatsApp" } };
      if (network.whatsappDelivers(message.to)) {
        network.later(WHATSAPP_RECEIPT_MS, async () => {
          network.billed(message.to, "whatsapp");
          network.received(message.to, message.code, "whatsapp", message.verificationId);
          await this.onStatus({ providerMessageId: id, status: "delivered" });
        });
      } else network.fallbackDue(WHATSAPP_FALLBACK_MS);
      return { kind: "accepted", providerMessageId: id };
    }
    network.billed(message.to, this.channel);
    network.later(SMS_ARRIVAL_MS, () => network.received(message.to, message.code, this.channel, message.verificationId));
    return { kind: "accepted", providerMessageId: id };
  }
}

/** The adapter type `sim` of the simulation's config file: `{ "type": "sim", "channel": "sms" }`. */
export function simAdapterType(network: Network): AdapterType {
  return {
    schema: z.object({ channel: z.enum(["sms", "whatsapp", "rcs"]) }),
    create: (settings: { channel: Channel }, deps) => new SimSender(deps.name, settings.channel, network, deps.onStatus),
  };
}
