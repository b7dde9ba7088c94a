import type { DelegatedVerifier, Sender } from "../core/sender.js";

/**
 * Presents a provider that generates and checks its own code as a Sender, so it can stand in a
 * route like any other step: `send` starts the provider's verification (ignoring our code) and
 * returns its reference as the message id; `checkCode` forwards the user's code with it.
 */
export function delegatedSender(verifier: DelegatedVerifier): Sender {
  return {
    provider: verifier.provider,
    channels: verifier.channels,
    async send(message, signal) {
      const started = await verifier.start(message.to, message.channel, signal);
      return started.kind === "accepted" ? { kind: "accepted", providerMessageId: started.reference } : started;
    },
    checkCode: (reference, code, signal) => verifier.check(reference, code, signal),
  };
}
