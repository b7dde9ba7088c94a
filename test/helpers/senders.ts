import type { OutboundMessage, Sender, SendResult } from "../../src/core/sender.js";

/** A sender that keeps every message in memory and answers with a scripted result. */
export class CapturingSender implements Sender {
  readonly channels = ["sms", "whatsapp", "rcs", "voice", "email"] as const;
  readonly messages: OutboundMessage[] = [];
  /** Results to answer with, in order; when empty, every send is accepted. */
  readonly script: SendResult[] = [];
  /** Optional capabilities a test can give this provider. */
  capability?: Sender["capability"];
  handleWebhook?: Sender["handleWebhook"];
  checkCode?: Sender["checkCode"];
  constructor(readonly provider = "console") {}

  async send(message: OutboundMessage): Promise<SendResult> {
    this.messages.push(message);
    return this.script.shift() ?? { kind: "accepted", providerMessageId: `msg_${this.messages.length}` };
  }

  /** The code of the latest message to a destination (or of the latest message at all). */
  lastCode(to?: string): string {
    const list = to ? this.messages.filter((m) => m.to === to) : this.messages;
    const last = list[list.length - 1];
    if (!last) throw new Error(`no message sent${to ? ` to ${to}` : ""}`);
    return last.code;
  }
}
