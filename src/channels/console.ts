import type { Sender } from "../core/sender.js";

/**
 * Development channel: prints each message, code included, to the terminal. It writes to its own
 * stream rather than the structured log, and `loadConfig` refuses it in production.
 */
export function createConsoleSender(write: (line: string) => void = (line) => process.stdout.write(line)): Sender {
  return {
    provider: "console",
    // Development prints whatever a route asks for: calls and emails too.
    channels: ["sms", "whatsapp", "rcs", "voice", "email"],
    async send(message) {
      write(`\n[verifyd console channel] ${message.channel} to ${message.to}: ${message.body}\n\n`);
      return { kind: "accepted", providerMessageId: null };
    },
  };
}
